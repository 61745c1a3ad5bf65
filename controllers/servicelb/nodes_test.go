package servicelb

import (
	"context"
	"reflect"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// TestNodeCacheChangesNoResult: the snapshot a reconcile gets from the
// node cache is the one listing the Nodes gives, after every kind of Node
// change (a label that turns on the enable-lb mode, a new node, a node
// gone), and it is built again only after such a change.
func TestNodeCacheChangesNoResult(t *testing.T) {
	ctx := context.Background()
	store := toolscache.NewStore(toolscache.MetaNamespaceKeyFunc)
	cached := nodeCache{store: store}
	version := 0
	put := func(n *corev1.Node) {
		version++
		n = n.DeepCopy()
		n.ResourceVersion = strconv.Itoa(version)
		if err := store.Update(n); err != nil {
			t.Fatal(err)
		}
	}
	compare := func(step string) *nodeSnapshot {
		t.Helper()
		got, err := cached.get(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var objs []client.Object
		for _, o := range store.List() {
			objs = append(objs, o.(*corev1.Node).DeepCopy())
		}
		listed, err := (&nodeCache{}).get(ctx, fake.NewClientBuilder().WithObjects(objs...).Build())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.facts, listed.facts) || len(got.items) != len(listed.items) {
			t.Fatalf("%s: cached snapshot has %d nodes and facts %+v, listing gives %d and %+v", step, len(got.items), got.facts, len(listed.items), listed.facts)
		}
		for name := range listed.byName {
			if got.byName[name] == nil || !reflect.DeepEqual(got.byName[name].Labels, listed.byName[name].Labels) {
				t.Fatalf("%s: node %s is %+v in the cached snapshot, listed %+v", step, name, got.byName[name], listed.byName[name])
			}
		}
		return got
	}

	master01 := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "master01"}}
	put(master01)
	first := compare("one node")
	if again := compare("no change"); again != first {
		t.Error("the snapshot was built again without a Node change")
	}
	labelled := master01.DeepCopy()
	labelled.Labels = map[string]string{EnableLBLabel: "true"}
	put(labelled)
	if s := compare("label added"); !s.facts.EnableLBNodes {
		t.Errorf("facts %+v after the enable-lb label, want EnableLBNodes", s.facts)
	}
	put(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "master02"}})
	compare("node added")
	if err := store.Delete(labelled); err != nil {
		t.Fatal(err)
	}
	if s := compare("node deleted"); s.facts.EnableLBNodes || len(s.items) != 1 {
		t.Errorf("after the labelled node left: %d nodes, facts %+v", len(s.items), s.facts)
	}
}
