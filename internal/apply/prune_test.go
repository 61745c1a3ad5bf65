package apply_test

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/internal/apply"
	"github.com/wharf-dev/wharf/internal/testenv"
)

// TestApplyAndPruneWhatWharfHolds runs the Applier against a real API
// server through what a user notices: a rendered object that exists and
// that wharf did not create is a Conflict and nothing is written; another
// component's object is a Conflict; pruning deletes what wharf created,
// releases what it adopted (wharf's labels go, Helm's managed-by comes
// back, the object stays), leaves alone what someone took over, and skips
// what is already gone; the Orphan policy's Disown drops owner references
// to a ClusterNetworking and keeps the others.
func TestApplyAndPruneWhatWharfHolds(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	c := env.Client
	a := apply.New(c, c, "wharf-test")
	cm := func(name string) *unstructured.Unstructured {
		u := rendered(name)
		apply.Mark(u, "traefik")
		return u
	}
	entries := func(names ...string) []v1alpha1.InventoryEntry {
		var out []v1alpha1.InventoryEntry
		for _, n := range names {
			out = append(out, apply.Entry("traefik", cm(n)))
		}
		return out
	}
	get := func(name string) (*corev1.ConfigMap, error) {
		got := &corev1.ConfigMap{}
		return got, c.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, got)
	}

	// Someone else's object and another component's: Conflicts, nothing written.
	theirs := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "theirs", Namespace: "default"}}
	coredns := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "coredns-held", Namespace: "default",
		Labels: map[string]string{apply.ManagedByLabel: apply.ManagedByValue, apply.ComponentLabel: "coredns"}}}
	for _, o := range []client.Object{theirs, coredns} {
		if err := c.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	_, err := a.Apply(ctx, apply.Objects(cm("created"), cm("theirs"), cm("coredns-held")), apply.ApplyOptions{Component: "traefik"})
	var conflict *apply.ConflictError
	if !errors.As(err, &conflict) || len(conflict.Conflicts) != 2 {
		t.Fatalf("apply over others' objects: %v, want 2 conflicts", err)
	}
	if _, err := get("created"); !apierrors.IsNotFound(err) {
		t.Fatalf("an object was created although the apply had conflicts (%v)", err)
	}

	// Created, adopted (from a Helm release) and taken over afterwards.
	helmOwned := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "adopted", Namespace: "default",
		Labels:      map[string]string{apply.ManagedByLabel: "Helm"},
		Annotations: map[string]string{"meta.helm.sh/release-name": "traefik"}}}
	if err := c.Create(ctx, helmOwned); err != nil {
		t.Fatal(err)
	}
	adopt := apply.ApplyOptions{Component: "traefik", Adopt: func(o *unstructured.Unstructured, _ metav1.Object) bool { return o.GetName() == "adopted" }}
	cs, err := a.Apply(ctx, apply.Objects(cm("created"), cm("adopted"), cm("taken")), adopt)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Count(apply.Created) != 2 || cs.Count(apply.Adopted) != 1 {
		t.Fatalf("changes %s, want 2 created and 1 adopted", cs)
	}
	taken, err := get("taken")
	if err != nil {
		t.Fatal(err)
	}
	delete(taken.Labels, apply.ManagedByLabel)
	if err := c.Update(ctx, taken); err != nil {
		t.Fatal(err)
	}

	pruned, err := a.Prune(ctx, entries("created", "adopted", "taken", "gone"))
	if err != nil {
		t.Fatal(err)
	}
	if pruned.Count(apply.Deleted) != 1 || pruned.Count(apply.Released) != 1 || pruned.Count(apply.Skipped) != 1 {
		t.Errorf("prune: %s, want 1 deleted, 1 released, 1 skipped", pruned)
	}
	if _, err := get("created"); !apierrors.IsNotFound(err) {
		t.Errorf("the object wharf created is still there (%v)", err)
	}
	released, err := get("adopted")
	if err != nil {
		t.Fatalf("the adopted object was deleted: %v", err)
	}
	if apply.IsWharfs(released.Labels) || released.Labels[apply.ManagedByLabel] != "Helm" || released.Annotations[apply.OriginAnnotation] != "" {
		t.Errorf("released object: labels %v annotations %v, want Helm's managed-by back and wharf's marks gone", released.Labels, released.Annotations)
	}
	if _, err := get("taken"); err != nil {
		t.Errorf("an object someone took over was deleted: %v", err)
	}

	// Disown drops a ClusterNetworking owner reference, keeps the others.
	owned := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owned", Namespace: "default",
		Labels: map[string]string{apply.ManagedByLabel: apply.ManagedByValue, apply.ComponentLabel: "traefik"},
		OwnerReferences: []metav1.OwnerReference{
			{APIVersion: v1alpha1.GroupVersion.String(), Kind: "ClusterNetworking", Name: "cluster", UID: "cn-uid"},
			{APIVersion: "v1", Kind: "ConfigMap", Name: "theirs", UID: theirs.UID},
		}}}
	if err := c.Create(ctx, owned); err != nil {
		t.Fatal(err)
	}
	if err := a.DisownEntries(ctx, entries("owned", "gone")); err != nil {
		t.Fatal(err)
	}
	got, err := get("owned")
	if err != nil {
		t.Fatal(err)
	}
	if refs := got.OwnerReferences; len(refs) != 1 || refs[0].Kind != "ConfigMap" {
		t.Errorf("owner references after Disown: %+v, want only the ConfigMap's", refs)
	}
}

// TestARestartedApplierWritesOnlyWhatChanged: a new Applier (a restarted
// manager: nothing remembered) sends no write for an object that still
// holds what was applied, and applies again one that another manager
// edited since; the same Applier, too, sees that edit and rewrites.
func TestARestartedApplierWritesOnlyWhatChanged(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	c, counter := countedClient(t, env)
	opts := apply.ApplyOptions{Component: "coredns"}
	objs := func() []*unstructured.Unstructured { return []*unstructured.Unstructured{rendered("corefile")} }
	if _, err := apply.New(c, c, "wharf-test").Apply(ctx, apply.Objects(objs()...), opts); err != nil {
		t.Fatal(err)
	}

	restarted := apply.New(c, c, "wharf-test")
	counter.Reset()
	cs, err := restarted.Apply(ctx, apply.Objects(objs()...), opts)
	if err != nil {
		t.Fatal(err)
	}
	if w := counter.Writes(); w != 0 || cs.Count(apply.Unchanged) != 1 {
		t.Errorf("a restarted Applier sent %d writes (%s) for a current object:\n%s", w, cs, counter.WritePaths())
	}

	live := &corev1.ConfigMap{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "corefile"}, live); err != nil {
		t.Fatal(err)
	}
	live.Data["Corefile"] = "edited by hand"
	if err := env.Client.Update(ctx, live, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}
	for _, a := range []*apply.Applier{restarted, apply.New(c, c, "wharf-test")} {
		cs, err := a.Apply(ctx, apply.Objects(objs()...), opts)
		if err != nil {
			t.Fatal(err)
		}
		if cs.Count(apply.Configured) != 1 {
			t.Errorf("a hand edit was not applied over: %s", cs)
		}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(live), live); err != nil {
			t.Fatal(err)
		}
		if live.Data["Corefile"] == "edited by hand" {
			t.Errorf("the hand edit stayed")
		}
		live.Data["Corefile"] = "edited by hand"
		if err := env.Client.Update(ctx, live, client.FieldOwner("kubectl-edit")); err != nil {
			t.Fatal(err)
		}
	}
}
