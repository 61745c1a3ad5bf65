package coredns

import (
	"context"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/wharf-dev/wharf/api/v1alpha1"
)

// SetupWatches implements component.Watcher: a Node that comes, goes or
// changes its InternalIPs reconciles the ClusterNetworking, so NodeHosts
// follows. Heartbeats and other status updates are filtered out.
func (c *Component) SetupWatches(b *builder.Builder) *builder.Builder {
	return b.Watches(&corev1.Node{}, handler.EnqueueRequestsFromMapFunc(toSingleton),
		builder.WithPredicates(NodeHostsChanged()))
}

func toSingleton(context.Context, client.Object) []reconcile.Request {
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: v1alpha1.SingletonName}}}
}

// NodeHostsChanged passes Node creates and deletes, and updates that change
// the node's NodeHosts lines (its name or InternalIPs).
func NodeHostsChanged() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return true },
		DeleteFunc:  func(event.DeleteEvent) bool { return true },
		GenericFunc: func(event.GenericEvent) bool { return false },
		UpdateFunc: func(e event.UpdateEvent) bool {
			oldNode, ok1 := e.ObjectOld.(*corev1.Node)
			newNode, ok2 := e.ObjectNew.(*corev1.Node)
			if !ok1 || !ok2 {
				return true
			}
			return !slices.Equal(nodeLines(oldNode), nodeLines(newNode))
		},
	}
}
