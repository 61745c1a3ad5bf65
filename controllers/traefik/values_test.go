package traefik

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
)

func TestMergeValues(t *testing.T) {
	a := map[string]any{
		"image":       map[string]any{"repository": "traefik", "tag": "v1"},
		"tolerations": []any{"a", "b"},
		"keep":        "yes",
		"replaced":    map[string]any{"x": 1.0},
	}
	b := map[string]any{
		"image":       map[string]any{"tag": "v2"},
		"tolerations": []any{"c"},
		"replaced":    "scalar",
		"dropped":     nil,
	}
	c := map[string]any{"image": map[string]any{"pullPolicy": "Always"}}
	got := MergeValues(a, b, c)
	want := map[string]any{
		"image":       map[string]any{"repository": "traefik", "tag": "v2", "pullPolicy": "Always"},
		"tolerations": []any{"c"},
		"keep":        "yes",
		"replaced":    "scalar",
		"dropped":     nil,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("MergeValues = %#v, want %#v", got, want)
	}
	// The inputs are untouched and the result shares nothing with them.
	if a["image"].(map[string]any)["tag"] != "v1" || len(a["tolerations"].([]any)) != 2 {
		t.Errorf("MergeValues modified its input: %#v", a)
	}
	got["tolerations"].([]any)[0] = "changed"
	got["image"].(map[string]any)["repository"] = "changed"
	if b["tolerations"].([]any)[0] != "c" || a["image"].(map[string]any)["repository"] != "traefik" {
		t.Errorf("the result aliases an input")
	}
}

func TestMergeValuesEmpty(t *testing.T) {
	if got := MergeValues(); len(got) != 0 || got == nil {
		t.Errorf("MergeValues() = %#v, want an empty map", got)
	}
	if got := MergeValues(nil, map[string]any{"a": 1.0}, nil); !reflect.DeepEqual(got, map[string]any{"a": 1.0}) {
		t.Errorf("MergeValues with nil documents = %#v", got)
	}
}

func TestParseValuesDocument(t *testing.T) {
	for _, tc := range []struct {
		doc     string
		want    map[string]any
		wantErr bool
	}{
		{doc: "", want: map[string]any{}},
		{doc: "# only a comment\n", want: map[string]any{}},
		{doc: "deployment:\n  replicas: 2\n", want: map[string]any{"deployment": map[string]any{"replicas": 2.0}}},
		{doc: "- a\n- b\n", wantErr: true},
		{doc: "just a string", wantErr: true},
		{doc: "deployment: [unclosed\n", wantErr: true},
	} {
		got, err := parseValuesDocument([]byte(tc.doc))
		if (err != nil) != tc.wantErr {
			t.Errorf("parseValuesDocument(%q) error = %v, want error %v", tc.doc, err, tc.wantErr)
			continue
		}
		if !tc.wantErr && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseValuesDocument(%q) = %#v, want %#v", tc.doc, got, tc.want)
		}
	}
}

func TestResolveValuesFrom(t *testing.T) {
	ns := "kube-system"
	r := fake.NewClientBuilder().WithObjects(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "base", Namespace: ns},
			Data: map[string]string{"values.yaml": "logs:\n  general:\n    level: WARN\n"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "private", Namespace: ns},
			Data: map[string][]byte{"extra": []byte("logs:\n  general:\n    level: ERROR\n")}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "broken", Namespace: ns},
			Data: map[string]string{"values.yaml": "logs: [unclosed\n"}},
	).Build()
	defaultedSpec := defaulted(t, v1alpha1.TraefikSpec{ValuesFrom: []v1alpha1.ValuesReference{
		{Kind: "ConfigMap", Name: "base"},
		{Kind: "Secret", Name: "private", Key: "extra"},
		{Kind: "ConfigMap", Name: "absent", Optional: true},
		{Kind: "ConfigMap", Name: "base", Key: "absent-key", Optional: true},
	}})
	spec := &defaultedSpec
	docs, err := resolveValuesFrom(context.Background(), r, spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 {
		t.Fatalf("got %d documents, want 2 (optional ones skipped)", len(docs))
	}
	got := valueLookup{MergeValues(docs...)}
	if mustStr(got, "logs", "general", "level") != "ERROR" {
		t.Errorf("later valuesFrom entries must win")
	}

	spec.ValuesFrom = defaulted(t, v1alpha1.TraefikSpec{ValuesFrom: []v1alpha1.ValuesReference{{Kind: "ConfigMap", Name: "absent"}}}).ValuesFrom
	_, err = resolveValuesFrom(context.Background(), r, spec)
	var re *reasonError
	if !errors.As(err, &re) || re.ConditionReason() != ReasonValuesFromMissing {
		t.Errorf("a missing ConfigMap gave %v, want reason %s", err, ReasonValuesFromMissing)
	}
	if _, stalled := component.AsStalled(err); stalled {
		t.Errorf("a missing ConfigMap must not stall: it may be created later")
	}

	spec.ValuesFrom = defaulted(t, v1alpha1.TraefikSpec{ValuesFrom: []v1alpha1.ValuesReference{{Kind: "ConfigMap", Name: "broken"}}}).ValuesFrom
	_, err = resolveValuesFrom(context.Background(), r, spec)
	if s, ok := component.AsStalled(err); !ok || s.Reason != ReasonInvalidValues || !strings.Contains(err.Error(), "broken") {
		t.Errorf("malformed YAML gave %v, want a stall with reason %s naming the ConfigMap", err, ReasonInvalidValues)
	}
}

func mustStr(v valueLookup, path ...string) string {
	s, _ := v.str(path...)
	return s
}
