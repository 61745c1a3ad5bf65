package apply_test

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/internal/apply"
	"github.com/wharf-dev/wharf/internal/testenv"
)

// k3sMarked returns a ConfigMap carrying the markers K3s's deploy
// controller puts on a packaged component's objects.
func k3sMarked(name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "default",
			Labels: map[string]string{"objectset.rio.cattle.io/hash": "b3c47dd4e54e0a1f5e6c0de1a05ab1c1f6dd50b1", "k8s-app": "kube-dns"},
			Annotations: map[string]string{
				"objectset.rio.cattle.io/id":              "",
				"objectset.rio.cattle.io/owner-gvk":       "k3s.cattle.io/v1, Kind=Addon",
				"objectset.rio.cattle.io/owner-name":      "coredns",
				"objectset.rio.cattle.io/owner-namespace": "kube-system",
				"objectset.rio.cattle.io/applied":         `{"apiVersion":"v1","kind":"ConfigMap"}`,
				"kept":                                    "yes",
			},
		},
		Data: map[string]string{"Corefile": ".:53 {\n}\n"},
	}
}

func rendered(name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind("ConfigMap")
	u.SetNamespace("default")
	u.SetName(name)
	_ = unstructured.SetNestedStringMap(u.Object, map[string]string{"Corefile": ".:53 {\n    errors\n}\n"}, "data")
	apply.Mark(u, "coredns")
	return u
}

func markers(obj metav1.Object) []string {
	var out []string
	for k := range obj.GetLabels() {
		if strings.HasPrefix(k, apply.ObjectSetPrefix) {
			out = append(out, "label "+k)
		}
	}
	for k := range obj.GetAnnotations() {
		if strings.HasPrefix(k, apply.ObjectSetPrefix) {
			out = append(out, "annotation "+k)
		}
	}
	return out
}

// TestAdoptionDropsK3sObjectSetMarkers: an object K3s deployed loses the
// objectset label and annotations K3s deletes it by when wharf adopts it,
// keeps everything else, and a second apply sends no write. An object
// wharf created keeps whatever such markers it carries.
func TestAdoptionDropsK3sObjectSetMarkers(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	if err := env.Client.Create(ctx, k3sMarked("k3s-coredns"), client.FieldOwner("k3s")); err != nil {
		t.Fatal(err)
	}
	c, counter := countedClient(t, env)
	a := apply.New(c, c, "wharf-test")
	adoptAll := apply.ApplyOptions{Component: "coredns", Adopt: func(*unstructured.Unstructured, metav1.Object) bool { return true }}

	cs, err := a.Apply(ctx, apply.Objects(rendered("k3s-coredns")), adoptAll)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Count(apply.Adopted) != 1 {
		t.Fatalf("changes %q, want the ConfigMap adopted", cs.String())
	}
	got := &corev1.ConfigMap{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "k3s-coredns"}, got); err != nil {
		t.Fatal(err)
	}
	if m := markers(got); len(m) > 0 {
		t.Errorf("the adopted object still carries K3s's markers %v", m)
	}
	if got.Annotations["kept"] != "yes" || got.Labels["k8s-app"] != "kube-dns" || got.Annotations[apply.OriginAnnotation] != apply.OriginAdopted {
		t.Errorf("adoption lost other metadata: labels %v annotations %v", got.Labels, got.Annotations)
	}
	if got.Data["Corefile"] != ".:53 {\n    errors\n}\n" {
		t.Errorf("Corefile %q was not applied", got.Data["Corefile"])
	}

	// Nothing left to remove: the next apply writes nothing.
	counter.Reset()
	if _, err := a.Apply(ctx, apply.Objects(rendered("k3s-coredns")), adoptAll); err != nil {
		t.Fatal(err)
	}
	if w := counter.Writes(); w != 0 {
		t.Errorf("a second apply sent %d writes:\n%s", w, counter.WritePaths())
	}

	// K3s applies its manifest again and puts the markers back: the next
	// apply removes them, although wharf's own fields are unchanged.
	again := &corev1.ConfigMap{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(got), again); err != nil {
		t.Fatal(err)
	}
	again.Labels["objectset.rio.cattle.io/hash"] = "b3c47dd4e54e0a1f5e6c0de1a05ab1c1f6dd50b1"
	again.Annotations["objectset.rio.cattle.io/id"] = ""
	if err := env.Client.Update(ctx, again, client.FieldOwner("k3s")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Apply(ctx, apply.Objects(rendered("k3s-coredns")), adoptAll); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(got), again); err != nil {
		t.Fatal(err)
	}
	if m := markers(again); len(m) > 0 {
		t.Errorf("markers K3s put back were not removed: %v", m)
	}

	// An object wharf created is never stripped, whatever it carries.
	created := rendered("wharf-made")
	created.SetLabels(map[string]string{"objectset.rio.cattle.io/hash": "abc", apply.ManagedByLabel: apply.ManagedByValue, apply.ComponentLabel: "coredns"})
	if _, err := a.Apply(ctx, apply.Objects(created), adoptAll); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := a.Apply(ctx, apply.Objects(created.DeepCopy()), adoptAll); err != nil {
			t.Fatal(err)
		}
	}
	mine := &corev1.ConfigMap{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "wharf-made"}, mine); err != nil {
		t.Fatal(err)
	}
	if mine.Annotations[apply.OriginAnnotation] != apply.OriginCreated || mine.Labels["objectset.rio.cattle.io/hash"] != "abc" {
		t.Errorf("an object wharf created was changed: labels %v annotations %v", mine.Labels, mine.Annotations)
	}
}

// countedClient is an uncached client of env whose requests counter counts.
func countedClient(t *testing.T, env *testenv.Env) (client.Client, *testenv.Counter) {
	t.Helper()
	counted, counter := testenv.Counting(env.Config)
	c, err := client.New(counted, client.Options{Scheme: env.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c, counter
}
