package servicelb

import (
	"context"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/wharf-dev/wharf/api/v1alpha1"
)

// MaxPendingListed is how many pending Services the status lists (the
// CRD's MaxItems); pendingTotal counts them all, and each one's condition
// and Events hold its full reason.
const MaxPendingListed = 50

// maxPendingReason bounds a reason as the status lists it, in bytes.
const maxPendingReason = 512

// Summary is what the ClusterNetworking status says of ServiceLB, read
// from the Services themselves.
type Summary struct {
	Status v1alpha1.ServiceLBStatus
	// Failing counts the Services ServiceLB failed (condition reason
	// Failed); FirstFailing is the first by namespace and name, with why.
	Failing      int
	FirstFailing string
}

// Summarize sums up services (all of the cluster's, from the cache) as
// spec serves them: every LoadBalancer Service ServiceLB serves and that
// is not being deleted counts; those with an ingress are ready; those
// whose ConditionType is False with reason Pending or Failed are pending,
// the first MaxPendingListed listed by namespace and name.
func Summarize(services []corev1.Service, spec *v1alpha1.ServiceLBSpec) Summary {
	var sum Summary
	type entry struct {
		key    types.NamespacedName
		reason string
	}
	var pending []entry
	var firstFailing *entry
	for i := range services {
		svc := &services[i]
		if !Serves(svc, spec) || !svc.DeletionTimestamp.IsZero() {
			continue
		}
		sum.Status.Services++
		if len(svc.Status.LoadBalancer.Ingress) > 0 {
			sum.Status.Ready++
		}
		c := conditionOf(svc)
		if c == nil || c.Status != metav1.ConditionFalse || (c.Reason != ReasonPending && c.Reason != ReasonFailed) {
			continue
		}
		e := entry{key: client.ObjectKeyFromObject(svc), reason: c.Message}
		pending = append(pending, e)
		if c.Reason == ReasonFailed {
			sum.Failing++
			if firstFailing == nil || compareKeys(e.key, firstFailing.key) < 0 {
				firstFailing = &e
			}
		}
	}
	slices.SortFunc(pending, func(a, b entry) int { return compareKeys(a.key, b.key) })
	sum.Status.PendingTotal = int32(len(pending))
	for _, e := range pending[:min(len(pending), MaxPendingListed)] {
		sum.Status.Pending = append(sum.Status.Pending, v1alpha1.PendingService{Namespace: e.key.Namespace, Name: e.key.Name, Reason: truncate(e.reason, maxPendingReason)})
	}
	if firstFailing != nil {
		sum.FirstFailing = firstFailing.key.String() + ": " + firstFailing.reason
	}
	return sum
}

// summaryDelay coalesces the Service changes that move the summary into
// one ClusterNetworking reconcile (and status write) per period: the
// summary is for people, and while 2,000 Services converge a shorter
// period costs a status write per period (docs/performance.md).
const summaryDelay = 5 * time.Second

// summaryChanges is the handler of the ClusterNetworking's Service watch
// for ServiceLB: a LoadBalancer Service created or deleted, or whose
// ingress or ConditionType changed, brings the ClusterNetworking back
// within summaryDelay. The work queue keeps one such request at a time.
func summaryChanges() handler.EventHandler {
	cn := reconcile.Request{NamespacedName: types.NamespacedName{Name: v1alpha1.SingletonName}}
	later := func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) { q.AddAfter(cn, summaryDelay) }
	return handler.Funcs{
		CreateFunc: func(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if svc, ok := e.Object.(*corev1.Service); ok && relevant(svc) {
				later(q)
			}
		},
		UpdateFunc: func(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			old, ok1 := e.ObjectOld.(*corev1.Service)
			svc, ok2 := e.ObjectNew.(*corev1.Service)
			if ok1 && ok2 && summaryMoved(old, svc) {
				later(q)
			}
		},
		DeleteFunc: func(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if svc, ok := e.Object.(*corev1.Service); ok && relevant(svc) {
				later(q)
			}
		},
	}
}

// summaryMoved reports whether a Service's change can move the summary.
func summaryMoved(old, svc *corev1.Service) bool {
	if !relevant(old) && !relevant(svc) {
		return false
	}
	oc, nc := conditionOf(old), conditionOf(svc)
	return old.Spec.Type != svc.Spec.Type || !ptr.Equal(old.Spec.LoadBalancerClass, svc.Spec.LoadBalancerClass) ||
		old.DeletionTimestamp.IsZero() != svc.DeletionTimestamp.IsZero() ||
		(len(old.Status.LoadBalancer.Ingress) > 0) != (len(svc.Status.LoadBalancer.Ingress) > 0) ||
		(oc == nil) != (nc == nil) ||
		// A True condition's message (the IPs) is not in the summary.
		(oc != nil && (oc.Status != nc.Status || oc.Reason != nc.Reason || (nc.Status == metav1.ConditionFalse && oc.Message != nc.Message)))
}
