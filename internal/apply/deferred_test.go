package apply_test

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/internal/apply"
	"github.com/wharf-dev/wharf/internal/testenv"
)

// blindCache is a cache that holds none of the objects asked for, as the
// manager's cache holds none of the DaemonSets wharf did not label.
type blindCache struct{ client.Reader }

func (blindCache) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	return apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, key.Name)
}

// deferredCase is one Apply of a Deferred ConfigMap, named after the case,
// and what a user of the Applier sees: the action, how many times the
// object was built and how many writes reached the API server.
type deferredCase struct {
	name string
	// before prepares the cluster (and may apply once); it returns the
	// digest to pass, empty for the digest of what build returns.
	before func(t *testing.T, a *apply.Applier, name string) string
	opts   apply.ApplyOptions
	// data is what build puts in the ConfigMap.
	data       string
	action     apply.Action
	conflict   bool
	builds     int
	writes     int
	afterwards func(t *testing.T, live *corev1.ConfigMap)
}

// TestApplyDeferredObjects: a Deferred object is built only when it must
// be written; a cache that does not show an object someone else created
// does not make Apply create over it; an adopted object loses K3s's
// markers and the labels the component drops, in one patch; Delete makes
// the next Apply create again.
func TestApplyDeferredObjects(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	c, counter := countedClient(t, env)
	a := apply.New(c, c, "wharf-test")
	gvk := schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	object := func(name, data string) *unstructured.Unstructured {
		u := rendered(name)
		_ = unstructured.SetNestedField(u.Object, data, "data", "Corefile")
		return u
	}
	digestOf := func(name, data string) string {
		d := apply.Object(object(name, data))
		s, err := d.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	applyOnce := func(t *testing.T, a *apply.Applier, name string) string {
		if _, err := a.Apply(ctx, apply.Objects(object(name, "v1")), apply.ApplyOptions{Component: "coredns"}); err != nil {
			t.Fatal(err)
		}
		return ""
	}
	createAs := func(manager string, cm *corev1.ConfigMap) {
		if err := env.Client.Create(ctx, cm, client.FieldOwner(manager)); err != nil {
			t.Fatal(err)
		}
	}
	coredns := apply.ApplyOptions{Component: "coredns"}
	cases := []deferredCase{
		{name: "new", data: "v1", opts: coredns, action: apply.Created, builds: 1, writes: 1},
		{name: "unchanged", before: applyOnce, data: "v1", opts: coredns, action: apply.Unchanged, builds: 0, writes: 0},
		{name: "changed", before: applyOnce, data: "v2", opts: coredns, action: apply.Configured, builds: 1, writes: 1},
		{name: "edited", data: "v1", opts: coredns, action: apply.Configured, builds: 1, writes: 1,
			before: func(t *testing.T, a *apply.Applier, name string) string {
				applyOnce(t, a, name)
				live := &corev1.ConfigMap{}
				if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, live); err != nil {
					t.Fatal(err)
				}
				live.Data["Corefile"] = "edited by hand"
				if err := env.Client.Update(ctx, live, client.FieldOwner("kubectl-edit")); err != nil {
					t.Fatal(err)
				}
				return ""
			}},
		{name: "theirs-unseen", data: "v1", opts: apply.ApplyOptions{Component: "coredns", Live: blindCache{}}, conflict: true, builds: 0, writes: 0,
			before: func(t *testing.T, _ *apply.Applier, name string) string {
				createAs("kubectl", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}, Data: map[string]string{"Corefile": "theirs"}})
				return ""
			},
			afterwards: func(t *testing.T, live *corev1.ConfigMap) {
				if live.Data["Corefile"] != "theirs" || apply.IsWharfs(live.Labels) {
					t.Errorf("an object wharf did not create was written: %v %v", live.Labels, live.Data)
				}
			}},
		{name: "k3s-made", data: "v1", action: apply.Adopted, builds: 1, writes: 2,
			opts: apply.ApplyOptions{Component: "coredns", Live: blindCache{}, DropLabels: []string{"drop-me"},
				Adopt: func(_ *unstructured.Unstructured, live metav1.Object) bool {
					return live.GetLabels()["k8s-app"] == "kube-dns"
				}},
			before: func(t *testing.T, _ *apply.Applier, name string) string {
				cm := k3sMarked(name)
				cm.Labels["drop-me"] = "true"
				createAs("k3s", cm)
				return ""
			},
			afterwards: func(t *testing.T, live *corev1.ConfigMap) {
				if m := markers(live); len(m) > 0 || live.Labels["drop-me"] != "" || live.Labels["k8s-app"] != "kube-dns" {
					t.Errorf("after adoption: markers %v, labels %v; want no markers, no drop-me, k8s-app kept", m, live.Labels)
				}
				if live.Annotations[apply.OriginAnnotation] != apply.OriginAdopted {
					t.Errorf("origin %q, want adopted", live.Annotations[apply.OriginAnnotation])
				}
			}},
		{name: "deleted", data: "v1", opts: coredns, action: apply.Created, builds: 1, writes: 1,
			before: func(t *testing.T, a *apply.Applier, name string) string {
				applyOnce(t, a, name)
				cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}}
				for want := range []bool{true, false} {
					gone, err := a.Delete(ctx, cm)
					if err != nil || gone != (want == 0) {
						t.Fatalf("Delete #%d = %v, %v; want deleted only the first time, no error", want+1, gone, err)
					}
				}
				return ""
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := "deferred-" + tc.name
			digest := ""
			if tc.before != nil {
				digest = tc.before(t, a, name)
			}
			if digest == "" {
				digest = digestOf(name, tc.data)
			}
			builds := 0
			d := apply.Deferred(gvk, client.ObjectKey{Namespace: "default", Name: name}, digest, func() (*unstructured.Unstructured, error) {
				builds++
				return object(name, tc.data), nil
			})
			counter.Reset()
			cs, err := a.Apply(ctx, []apply.Desired{d}, tc.opts)
			var conflict *apply.ConflictError
			switch {
			case tc.conflict && !errors.As(err, &conflict):
				t.Fatalf("Apply = %v, want a conflict", err)
			case !tc.conflict && err != nil:
				t.Fatal(err)
			case !tc.conflict && cs.Count(tc.action) != 1:
				t.Errorf("Apply did %s, want %s", cs, tc.action)
			}
			if builds != tc.builds || counter.Writes() != tc.writes {
				t.Errorf("built %d times and wrote %d times, want %d and %d:\n%s", builds, counter.Writes(), tc.builds, tc.writes, counter.WritePaths())
			}
			live := &corev1.ConfigMap{}
			if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, live); err != nil {
				t.Fatal(err)
			}
			if !tc.conflict && live.Data["Corefile"] != tc.data {
				t.Errorf("live data %q, want %q", live.Data["Corefile"], tc.data)
			}
			if tc.afterwards != nil {
				tc.afterwards(t, live)
			}
		})
	}
}
