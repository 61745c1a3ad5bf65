package servicelb

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/internal/apply"
)

// ServiceKeyIndex indexes svclb DaemonSets by "namespace/name" of the
// Service they serve.
const ServiceKeyIndex = "svclb.service"

// maxConcurrentReconciles: a reconcile mostly waits for the API server
// (finalizer, DaemonSet, status), and Services are independent, so eight
// at a time keep the queue short (see docs/performance.md).
const maxConcurrentReconciles = 8

// ControllerName names the Service reconciler.
const ControllerName = "servicelb"

// SetupWithManager registers the reconciler. It watches Services, the
// svclb DaemonSets (the manager caches only those) and pods (PodIndex), Nodes (labels,
// addresses, taints), EndpointSlices of Local Services, the labels of
// namespaces (spec.serviceLB.namespaceSelector) and the ClusterNetworking.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := indexDaemonSets(mgr.GetFieldIndexer()); err != nil {
		return err
	}
	informer, err := mgr.GetCache().GetInformer(context.Background(), &corev1.Node{})
	if err != nil {
		return fmt.Errorf("get the node informer: %w", err)
	}
	stored, ok := informer.(interface{ GetStore() toolscache.Store })
	if !ok {
		return fmt.Errorf("the manager's node informer (%T) has no store to read the nodes from", informer)
	}
	r.nodes.store = stored.GetStore()
	return ctrl.NewControllerManagedBy(mgr).
		Named(ControllerName).
		For(&corev1.Service{}, builder.WithPredicates(serviceRelevant())).
		Watches(daemonSetMetadata(), r.daemonSetHandler(), builder.OnlyMetadata).
		WatchesRawSource(r.Pods.Source(r.podEvents(), podChanged())).
		Watches(&corev1.Node{}, handler.EnqueueRequestsFromMapFunc(r.allServices), builder.WithPredicates(nodeChanged())).
		Watches(&discoveryv1.EndpointSlice{}, handler.EnqueueRequestsFromMapFunc(r.localService)).
		Watches(namespaceMetadata(), handler.EnqueueRequestsFromMapFunc(r.namespaceServices),
			builder.OnlyMetadata, builder.WithPredicates(labelsChanged())).
		Watches(&v1alpha1.ClusterNetworking{}, handler.EnqueueRequestsFromMapFunc(r.everything),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: maxConcurrentReconciles}).
		Complete(r)
}

// indexDaemonSets indexes the svclb DaemonSets by ServiceKeyIndex.
func indexDaemonSets(indexer client.FieldIndexer) error {
	byService := func(obj client.Object) []string {
		if key, ok := serviceKeyOf(obj.GetLabels()); ok {
			return []string{key.String()}
		}
		return nil
	}
	if err := indexer.IndexField(context.Background(), daemonSetMetadata(), ServiceKeyIndex, byService); err != nil {
		return fmt.Errorf("index the svclb daemonsets by service: %w", err)
	}
	return nil
}

// serviceRelevant passes LoadBalancer Services and those with the
// finalizer; an update passes when the old or the new Service does, so that
// a change away from LoadBalancer is seen.
func serviceRelevant() predicate.Predicate {
	is := func(obj client.Object) bool {
		svc, ok := obj.(*corev1.Service)
		return ok && relevant(svc)
	}
	return predicate.Funcs{
		CreateFunc:  func(e event.CreateEvent) bool { return is(e.Object) },
		DeleteFunc:  func(e event.DeleteEvent) bool { return is(e.Object) },
		GenericFunc: func(e event.GenericEvent) bool { return is(e.Object) },
		UpdateFunc:  func(e event.UpdateEvent) bool { return is(e.ObjectOld) || is(e.ObjectNew) },
	}
}

// byServiceLabels maps a svclb DaemonSet or pod to its Service.
func byServiceLabels(_ context.Context, obj client.Object) []reconcile.Request {
	if key, ok := serviceKeyOf(obj.GetLabels()); ok {
		return []reconcile.Request{{NamespacedName: key}}
	}
	return nil
}

// allServices maps any change to every relevant Service.
func (r *Reconciler) allServices(ctx context.Context, _ client.Object) []reconcile.Request {
	list := &corev1.ServiceList{}
	if err := r.Client.List(ctx, list); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "list services")
		return nil
	}
	return relevantRequests(list)
}

// everything maps a ClusterNetworking change to every relevant Service and
// every Service a svclb DaemonSet points at, so that disabling ServiceLB
// also removes DaemonSets whose Service is gone.
func (r *Reconciler) everything(ctx context.Context, obj client.Object) []reconcile.Request {
	keys := map[types.NamespacedName]bool{}
	for _, req := range r.allServices(ctx, obj) {
		keys[req.NamespacedName] = true
	}
	list := daemonSetMetadataList()
	if err := r.Client.List(ctx, list, client.MatchingLabels{apply.ManagedByLabel: apply.ManagedByValue},
		client.HasLabels{SvcNameLabel, SvcNamespaceLabel}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "list svclb daemonsets")
	}
	for i := range list.Items {
		if key, ok := serviceKeyOf(list.Items[i].Labels); ok {
			keys[key] = true
		}
	}
	var reqs []reconcile.Request
	for _, key := range slices.SortedFunc(maps.Keys(keys), compareKeys) {
		reqs = append(reqs, reconcile.Request{NamespacedName: key})
	}
	return reqs
}

// relevantRequests returns a request for each relevant Service of list.
func relevantRequests(list *corev1.ServiceList) []reconcile.Request {
	var reqs []reconcile.Request
	for i := range list.Items {
		if relevant(&list.Items[i]) {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return reqs
}

func compareKeys(a, b types.NamespacedName) int {
	return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}

// namespaceServices maps a namespace to its relevant Services, whose
// admission by spec.serviceLB.namespaceSelector depends on its labels.
func (r *Reconciler) namespaceServices(ctx context.Context, obj client.Object) []reconcile.Request {
	list := &corev1.ServiceList{}
	if err := r.Client.List(ctx, list, client.InNamespace(obj.GetName()), client.UnsafeDisableDeepCopy); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "list services", "namespace", obj.GetName())
		return nil
	}
	return relevantRequests(list)
}

// labelsChanged passes updates that change labels; creations and
// deletions do not pass (a Service's own events cover them).
func labelsChanged() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return false },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
		UpdateFunc: func(e event.UpdateEvent) bool {
			return !maps.Equal(e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels())
		},
	}
}

// localService maps an EndpointSlice to its Service when that is a
// LoadBalancer Service with externalTrafficPolicy Local.
func (r *Reconciler) localService(ctx context.Context, obj client.Object) []reconcile.Request {
	name := obj.GetLabels()[discoveryv1.LabelServiceName]
	if name == "" {
		return nil
	}
	key := types.NamespacedName{Namespace: obj.GetNamespace(), Name: name}
	svc := &corev1.Service{}
	if err := r.Client.Get(ctx, key, svc); err != nil {
		return nil
	}
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || !localTraffic(svc) {
		return nil
	}
	return []reconcile.Request{{NamespacedName: key}}
}

// nodeChanged passes node creations and deletions, and updates of what
// ServiceLB depends on: labels, addresses, taints and schedulability. The
// periodic heartbeats of node status do not pass.
func nodeChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*corev1.Node)
		n, ok2 := e.ObjectNew.(*corev1.Node)
		if !ok1 || !ok2 {
			return true
		}
		return !maps.Equal(o.Labels, n.Labels) ||
			!equality.Semantic.DeepEqual(o.Status.Addresses, n.Status.Addresses) ||
			!equality.Semantic.DeepEqual(o.Spec.Taints, n.Spec.Taints) ||
			o.Spec.Unschedulable != n.Spec.Unschedulable
	}}
}

// daemonSetHandler maps svclb DaemonSet events to their Service. A
// deleted DaemonSet is applied again by the reconcile that follows (see
// applyDaemonSet).
func (r *Reconciler) daemonSetHandler() handler.EventHandler {
	enqueue := func(obj client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		for _, req := range byServiceLabels(context.Background(), obj) {
			q.Add(req)
		}
	}
	return handler.Funcs{
		CreateFunc: func(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(e.Object, q)
		},
		UpdateFunc: func(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if statusOnly(e.ObjectOld, e.ObjectNew) {
				// The DaemonSet controller counting pods: the pods' own
				// events tell the reconciler what it needs.
				return
			}
			enqueue(e.ObjectNew, q)
		},
		DeleteFunc: func(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(e.Object, q)
		},
		GenericFunc: func(_ context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(e.Object, q)
		},
	}
}

// podChanged passes the svclb pod events that can change what a
// reconcile of its Service finds: a pod turning Ready or not, placed on
// another node, refused by the scheduler (or no longer), being deleted or
// gone. A pod's creation and its binding to the node the DaemonSet
// controller made it for pass no more: the Service looks at its pods again
// when one turns Ready, and with every node serving that leaves one
// reconcile of three.
func podChanged() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc: func(e event.CreateEvent) bool {
			pod, ok := e.Object.(*svclbPod)
			return !ok || podReady(pod) || pod.Refused != nil || !pod.DeletionTimestamp.IsZero()
		},
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, ok1 := e.ObjectOld.(*svclbPod)
			n, ok2 := e.ObjectNew.(*svclbPod)
			if !ok1 || !ok2 {
				return true
			}
			return podReady(o) != podReady(n) || o.Node != n.Node || o.Service != n.Service || o.DaemonSet != n.DaemonSet ||
				!equality.Semantic.DeepEqual(o.Refused, n.Refused) || !o.DeletionTimestamp.Equal(n.DeletionTimestamp)
		},
	}
}

// podEvents enqueues the Service of a svclb pod, except for a pod turning
// Ready while its Service's ingress is held (holdPartial) and another pod
// of the same DaemonSet is still starting in the index: that Service is
// enqueued for when its hold ends. A reconcile before then would only hold
// again (a Ready pod adds a node, so the ingress still differs and pods
// are still starting); the event of the last pod turning Ready finds no
// other pod starting, because the index is updated before the informer
// hands an event to its handlers, and reconciles at once. Were the hold
// forgotten meanwhile, the Service still reconciles when the hold would
// have ended. With every node serving, a Service's 50 pods turn Ready one
// by one while it is held: docs/performance.md has the reconciles per
// Service before and after.
//
// Priorities (controller-runtime's priority queue): a pod's change comes
// before the rechecks ServiceLB schedules itself (recheckPriority); only
// the pods listed when the manager starts come with them. A pod that can
// complete its Service's ingress comes first (ingressPriority). The records
// carry no resource version, so controller-runtime's handlers, which
// lower the priority of an update whose resource version did not change,
// would lower every pod event's.
func (r *Reconciler) podEvents() handler.EventHandler { return podEventHandler{r} }

type podEventHandler struct{ r *Reconciler }

// Create implements handler.EventHandler.
func (h podEventHandler) Create(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	priority := 0
	if e.IsInInitialList {
		priority = handler.LowPriority
	}
	enqueuePod(q, e.Object, 0, priority)
}

// Update implements handler.EventHandler.
func (h podEventHandler) Update(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	o, ok1 := e.ObjectOld.(*svclbPod)
	n, ok2 := e.ObjectNew.(*svclbPod)
	priority := 0
	if ok1 && ok2 && onlyTurnedReady(o, n) {
		starting := h.r.Pods.Starting(n.Service, n.Namespace, n.DaemonSet)
		if wait := time.Until(h.r.holds.until(n.Service)); wait > 0 && starting {
			enqueuePod(q, n, wait, 0)
			return
		}
		if !starting {
			priority = ingressPriority
		}
	}
	if ok1 && ok2 && o.Service != n.Service {
		// A pod relabelled to another Service leaves the one it served.
		enqueuePod(q, o, 0, 0)
	}
	enqueuePod(q, e.ObjectNew, 0, priority)
}

// Delete implements handler.EventHandler.
func (h podEventHandler) Delete(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	enqueuePod(q, e.Object, 0, 0)
}

// Generic implements handler.EventHandler.
func (h podEventHandler) Generic(_ context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	enqueuePod(q, e.Object, 0, 0)
}

// enqueuePod adds the Service of a svclb pod to q after the delay, with
// the priority when q is a priority queue.
func enqueuePod(q workqueue.TypedRateLimitingInterface[reconcile.Request], obj client.Object, after time.Duration, priority int) {
	for _, req := range podService(context.Background(), obj) {
		if pq, ok := q.(priorityqueue.PriorityQueue[reconcile.Request]); ok {
			pq.AddWithOpts(priorityqueue.AddOpts{After: after, Priority: &priority}, req)
		} else {
			q.AddAfter(req, after)
		}
	}
}

// onlyTurnedReady reports whether a svclb pod's record changed only by
// turning Ready.
func onlyTurnedReady(o, n *svclbPod) bool {
	return !podReady(o) && podReady(n) && n.Refused == nil && o.Node == n.Node &&
		o.Service == n.Service && o.DaemonSet == n.DaemonSet && n.Service.Name != ""
}

// podService maps a svclb pod to its Service.
func podService(_ context.Context, obj client.Object) []reconcile.Request {
	if pod, ok := obj.(*svclbPod); ok && pod.Service.Name != "" {
		return []reconcile.Request{{NamespacedName: pod.Service}}
	}
	return nil
}

// statusOnly reports whether an update left an object's spec (generation)
// and the metadata wharf reads unchanged.
func statusOnly(old, cur client.Object) bool {
	return old.GetGeneration() == cur.GetGeneration() &&
		old.GetDeletionTimestamp().Equal(cur.GetDeletionTimestamp()) &&
		maps.Equal(old.GetLabels(), cur.GetLabels()) &&
		maps.Equal(old.GetAnnotations(), cur.GetAnnotations()) &&
		slices.Equal(old.GetFinalizers(), cur.GetFinalizers())
}
