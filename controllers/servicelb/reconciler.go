package servicelb

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/internal/apply"
)

// Reconciler serves LoadBalancer Services while ServiceLB is enabled: it
// applies each one's svclb DaemonSet, keeps the load-balancer-cleanup
// finalizer, writes status.loadBalancer.ingress and records why a Service
// cannot get a node. When ServiceLB is disabled, the ClusterNetworking is
// gone or a Service is no longer served, it removes what it did.
type Reconciler struct {
	// Client reads from the manager's cache and writes to the API server.
	Client client.Client
	// Reader reads from the API server, for managed fields the cache drops.
	Reader client.Reader
	// Applier applies the DaemonSets with the wharf field manager.
	Applier *apply.Applier
	// Events records Events on Services.
	Events events.EventRecorder
	// Pods is the index of the svclb pods (the manager's cache holds no pods).
	Pods *PodIndex

	stale   staleGuard
	nodes   nodeCache
	built   buildMemo
	refused backoff
	holds   holdTimes
}

// Services are only patched (finalizers, status): no update, and no
// services/finalizers, which only guards owner references wharf never sets.
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups="",resources=services/status,verbs=patch
// +kubebuilder:rbac:groups=apps,resources=daemonsets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=pods,verbs=list;watch
// +kubebuilder:rbac:groups="",resources=nodes,verbs=list;watch
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=list;watch
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=list
// +kubebuilder:rbac:groups=scheduling.k8s.io,resources=priorityclasses,verbs=get

// Reconcile serves, finishes or releases one Service.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	cfg, err := r.settings(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	svc := &corev1.Service{}
	if err := r.Client.Get(ctx, req.NamespacedName, svc); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, fmt.Errorf("read service %s: %w", req.NamespacedName, err)
		}
		r.stale.forget(req.NamespacedName)
		r.built.forget(req.NamespacedName)
		r.refused.reset(req.NamespacedName)
		r.holds.forget(req.NamespacedName)
		_, err := r.deleteDaemonSets(ctx, req.NamespacedName, nil, types.NamespacedName{})
		return ctrl.Result{}, err
	}
	// The Service as the reconciler's last write left it, while the cache
	// has not caught up with that write.
	svc = r.stale.latest(req.NamespacedName, svc)
	if hasLegacyFinalizer(svc) {
		// Its event brings the Service back.
		return ctrl.Result{}, r.removeLegacyFinalizer(ctx, svc)
	}
	switch {
	case cfg.hold:
		// The ClusterNetworking is gone or being deleted with the Orphan
		// policy: the DaemonSets keep serving, unowned; the frame releases
		// the finalizers.
		return ctrl.Result{}, nil
	case !cfg.enabled || !Serves(svc, &cfg.spec):
		return ctrl.Result{}, r.release(ctx, svc)
	case !svc.DeletionTimestamp.IsZero():
		return ctrl.Result{}, r.finish(ctx, svc)
	default:
		return r.serve(ctx, svc, cfg)
	}
}

// settings is what the ClusterNetworking says about ServiceLB.
type settings struct {
	// hold leaves every Service and DaemonSet as it is.
	hold    bool
	enabled bool
	spec    v1alpha1.ServiceLBSpec
	cluster Cluster
	owner   *apply.Owner
	// generation of the ClusterNetworking the spec is from.
	generation int64
}

// settings reads the ClusterNetworking. Without one, or while it is being
// deleted with the Orphan policy, everything is left as it is (hold);
// while it is being deleted with the Delete policy, ServiceLB counts as
// disabled. Every reconcile needs it, so it is read from the cache without
// a copy of the whole resource (its status holds the inventory); only the
// serviceLB section is copied.
func (r *Reconciler) settings(ctx context.Context) (settings, error) {
	list := &v1alpha1.ClusterNetworkingList{}
	if err := r.Client.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
		return settings{}, fmt.Errorf("read clusternetworking %s: %w", v1alpha1.SingletonName, err)
	}
	for i := range list.Items {
		cn := &list.Items[i]
		if cn.Name != v1alpha1.SingletonName {
			continue
		}
		if !cn.DeletionTimestamp.IsZero() {
			return settings{hold: cn.Spec.DeletionPolicy != v1alpha1.DeletionPolicyDelete}, nil
		}
		return settings{
			enabled:    cn.Spec.ServiceLB.IsEnabled(),
			spec:       *cn.Spec.ServiceLB.DeepCopy(),
			cluster:    ClusterOf(cn),
			owner:      &apply.Owner{GVK: v1alpha1.GroupVersion.WithKind("ClusterNetworking"), Name: cn.Name, UID: cn.UID},
			generation: cn.Generation,
		}, nil
	}
	return settings{hold: true}, nil
}
