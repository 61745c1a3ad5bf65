package clusternetworking

import (
	"context"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/internal/apply"
)

// appliedWatches watches, from the first time wharf applies one, the kinds
// the controller could not watch when it started because wharf installs
// their CustomResourceDefinitions itself: Traefik's IngressRoute and
// Middleware of the dashboard. A hand edit or deletion of such an object
// then brings the ClusterNetworking back at once, as it does for the kinds
// watched from the start. Only metadata is watched.
//
// When the component that applied a kind is disabled, the kind's informer
// is removed: its CustomResourceDefinition may go with the component, and
// an informer of a kind that no longer exists would retry forever.
type appliedWatches struct {
	controller controller.Controller
	cache      cache.Cache
	owner      handler.EventHandler

	mu sync.Mutex
	// static are watched from the start; dynamic map a kind watched since
	// it was applied to the component that applied it.
	static  map[schema.GroupVersionKind]bool
	dynamic map[schema.GroupVersionKind]string
}

// ensure watches gvk unless it is watched already.
func (w *appliedWatches) ensure(ctx context.Context, gvk schema.GroupVersionKind, comp string) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.dynamic[gvk]; ok || w.static[gvk] {
		return
	}
	src := source.Kind[client.Object](w.cache, metadataOf(gvk), w.owner)
	if err := w.controller.Watch(src); err != nil {
		// Not fatal: the next apply of the kind tries again; until then a
		// hand edit waits for the next reconcile to be reverted.
		ctrl.LoggerFrom(ctx).Error(err, "could not watch an applied kind", "kind", gvk.String())
		return
	}
	w.dynamic[gvk] = comp
}

// forget stops watching the kinds comp applied.
func (w *appliedWatches) forget(ctx context.Context, comp string) error {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for gvk, owner := range w.dynamic {
		if owner != comp {
			continue
		}
		if err := w.cache.RemoveInformer(ctx, metadataOf(gvk)); err != nil {
			return fmt.Errorf("stop watching %s: %w", gvk.Kind, err)
		}
		delete(w.dynamic, gvk)
	}
	return nil
}

// appliedHandler maps an object wharf applied for a component (it carries
// wharf's labels; wharf sets no owner references) to the ClusterNetworking.
func appliedHandler() handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(_ context.Context, obj client.Object) []reconcile.Request {
		if !apply.IsWharfs(obj.GetLabels()) {
			return nil
		}
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: v1alpha1.SingletonName}}}
	})
}

// deletionStarted passes the update that marks the ClusterNetworking for
// deletion, so that its finalizer is handled at once.
func deletionStarted() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			return e.ObjectOld.GetDeletionTimestamp().IsZero() && !e.ObjectNew.GetDeletionTimestamp().IsZero()
		},
		CreateFunc: func(event.CreateEvent) bool { return false },
		DeleteFunc: func(event.DeleteEvent) bool { return false },
	}
}
