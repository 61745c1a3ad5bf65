package traefik

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/wharf-dev/wharf/api/v1alpha1"
)

// recheckAfter is how long kept-back CRDs wait before it is checked again
// whether custom resources still use them.
const recheckAfter = time.Minute

// SetupWatches implements component.Watcher: the ClusterNetworking is
// reconciled when a ConfigMap or Secret it references (valuesFrom, the
// dashboard's Secret) changes, appears or goes away. Only metadata is
// watched; the content is read from the API server when rendering. A
// channel brings it back when CRDs were kept for their custom resources,
// and when a background chart fetch ends.
func (c *Component) SetupWatches(b *builder.Builder) *builder.Builder {
	b = b.Watches(metadataOf("ConfigMap"), handler.EnqueueRequestsFromMapFunc(c.referencing("ConfigMap")), builder.OnlyMetadata)
	b = b.Watches(metadataOf("Secret"), handler.EnqueueRequestsFromMapFunc(c.referencing("Secret")), builder.OnlyMetadata)
	return b.WatchesRawSource(source.Channel(c.recheck, &handler.EnqueueRequestForObject{}))
}

func metadataOf(kind string) client.Object {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(kind))
	return m
}

// referencing maps a ConfigMap or Secret to the ClusterNetworking when
// its traefik section references it.
func (c *Component) referencing(kind string) handler.MapFunc {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		cn := &v1alpha1.ClusterNetworking{}
		if err := c.deps.Client.Get(ctx, client.ObjectKey{Name: v1alpha1.SingletonName}, cn); err != nil {
			return nil
		}
		if !References(&cn.Spec.Traefik, kind, obj.GetNamespace(), obj.GetName()) {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: cn.Name}}}
	}
}

// References reports whether spec reads the ConfigMap or Secret (kind)
// namespace/name: through valuesFrom, or as the dashboard's Secret.
func References(spec *v1alpha1.TraefikSpec, kind, namespace, name string) bool {
	if !spec.IsEnabled() || namespace != spec.Namespace {
		return false
	}
	for _, ref := range spec.ValuesFrom {
		if ref.Kind == kind && ref.Name == name {
			return true
		}
	}
	if kind == "Secret" && spec.Dashboard.Enabled {
		secret, _ := dashboardSecret(spec)
		return secret == name
	}
	return false
}

// scheduleRecheck brings the ClusterNetworking back after recheckAfter,
// once however often it is asked.
func (c *Component) scheduleRecheck() {
	if !c.recheckPending.CompareAndSwap(false, true) {
		return
	}
	time.AfterFunc(recheckAfter, func() {
		c.recheckPending.Store(false)
		c.poke()
	})
}

// poke brings the ClusterNetworking back now, once however often it is
// asked before the reconcile starts: a background chart fetch ended.
func (c *Component) poke() {
	cn := &v1alpha1.ClusterNetworking{}
	cn.Name = v1alpha1.SingletonName
	select {
	case c.recheck <- event.GenericEvent{Object: cn}:
	default:
	}
}
