package servicelb

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/event"
)

func TestNodeCacheListsOnlyAfterANodeEvent(t *testing.T) {
	lists := 0
	master01 := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "master01"}}
	c := fake.NewClientBuilder().WithObjects(master01).WithInterceptorFuncs(interceptor.Funcs{
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			lists++
			return c.List(ctx, list, opts...)
		},
	}).Build()
	ctx := context.Background()
	var nc nodeCache
	for range 3 {
		snap, err := nc.get(ctx, c)
		if err != nil || len(snap.items) != 1 || snap.byName["master01"] == nil || snap.facts.EnableLBNodes {
			t.Fatalf("snapshot %+v, %v", snap, err)
		}
	}
	if lists != 1 {
		t.Fatalf("%d lists for three reconciles without a Node event, want 1", lists)
	}

	labelled := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "master02", Labels: map[string]string{EnableLBLabel: "true"}}}
	if err := c.Create(ctx, labelled); err != nil {
		t.Fatal(err)
	}
	if !nc.invalidate().Create(event.CreateEvent{Object: labelled}) {
		t.Fatal("the predicate dropped a Node event")
	}
	snap, err := nc.get(ctx, c)
	if err != nil || len(snap.items) != 2 || !snap.facts.EnableLBNodes || lists != 2 {
		t.Fatalf("after a Node event: %d nodes, facts %+v, %d lists, err %v", len(snap.items), snap.facts, lists, err)
	}
}
