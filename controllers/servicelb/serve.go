package servicelb

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	"github.com/wharf-dev/wharf/internal/apply"
	"github.com/wharf-dev/wharf/internal/requeue"
)

// observation is what the cluster shows of one served Service.
type observation struct {
	// ips are the ingress IPs the Service should have.
	ips []string
	// pending says why the Service cannot get a node, if it cannot.
	pending pending
	// starting counts the pods that are not Ready yet but may soon be, and
	// those still to be created; coming holds the addresses of the
	// eligible nodes whose pod is starting, being replaced or yet to be
	// created. Both are counted only when the ingress changes, the only
	// case holdPartial looks at them.
	starting int
	coming   map[string]bool
	// recheck, when set, is when to look again at a DaemonSet that has no
	// pod yet (see creationFailure).
	recheck time.Duration
}

// startingPods counts the pods that are starting (podStarting).
func startingPods(pods []*svclbPod) int {
	n := 0
	for _, p := range pods {
		if podStarting(p) {
			n++
		}
	}
	return n
}

// podStarting reports whether a pod is neither Ready, nor being deleted,
// nor unschedulable.
func podStarting(p *svclbPod) bool {
	return !podReady(p) && p.DeletionTimestamp.IsZero() && p.Refused == nil
}

// serve keeps the finalizer on svc, applies its DaemonSet, removes stale
// ones, writes the ingress and records the Service's state. The result
// says when to look again without an event: after the API server's
// refusal backs off, when a partial ingress stops being held, or when a
// DaemonSet without pods is due a recheck.
func (r *Reconciler) serve(ctx context.Context, svc *corev1.Service, cfg settings) (ctrl.Result, error) {
	refusal, err := policyCheck(svc, &cfg.spec, func() (map[string]string, error) { return r.namespaceLabels(ctx, svc.Namespace) })
	if err != nil {
		return ctrl.Result{}, err
	}
	if refusal.reason != "" {
		// Nothing is served: no DaemonSet, ingress or finalizer of wharf's.
		prev := conditionOf(svc).DeepCopy()
		if err := r.undo(ctx, svc, desiredCondition(nil, refusal, false)); err != nil {
			return ctrl.Result{}, err
		}
		r.warn(svc, prev, refusal, false)
		return ctrl.Result{}, nil
	}
	if err := r.ensureFinalizer(ctx, svc); err != nil {
		return ctrl.Result{}, err
	}
	nodes, err := r.nodes.get(ctx, r.Client)
	if err != nil {
		return ctrl.Result{}, err
	}
	current := ingressStrings(svc.Status.LoadBalancer.Ingress)
	ds, dsKey, err := r.desired(svc, cfg, nodes.facts)
	if err != nil {
		// Only a change to the Service (or the spec) can fix it, and that
		// reconciles again. The DaemonSet applied last, if any, stays.
		return ctrl.Result{}, r.report(ctx, svc, current, pending{action: actionFixService, reason: err.Error()})
	}
	if err := r.applyDaemonSet(ctx, svc, ds, dsKey); err != nil {
		if reason, ok := notAppliable(err, dsKey); ok {
			// Retried with a backoff of its own, slower than the
			// controller's; the Event goes out once per new message.
			err := r.report(ctx, svc, current, pending{action: actionApplyRefused, failed: true, reason: reason})
			return recheck(r.refused.next(client.ObjectKeyFromObject(svc))), err
		}
		return ctrl.Result{}, err
	}
	r.refused.reset(client.ObjectKeyFromObject(svc))
	if _, err := r.deleteDaemonSets(ctx, client.ObjectKeyFromObject(svc), svc, dsKey); err != nil {
		return ctrl.Result{}, err
	}
	obs, err := r.observe(ctx, svc, cfg, dsKey, nodes)
	if err != nil {
		return ctrl.Result{}, err
	}
	if wait := r.holdPartial(svc, obs); wait > 0 {
		// The end of a hold writes the ingress: as urgent as an event.
		res := requeue.After(wait)
		res.Priority = new(0)
		return res, nil
	}
	if err := r.publish(ctx, svc, obs); err != nil {
		return ctrl.Result{}, err
	}
	return recheck(obs.recheck), nil
}

// recheckPriority is the priority (controller-runtime's priority queue) of
// the looks ServiceLB schedules for itself without an event: a DaemonSet
// without pods (creationFailure) and a refused apply's backoff. Right
// after a burst of new Services they are most of the queue, and waiting
// behind them the events of pods turning Ready held back ingresses by
// seconds (make bench POOL=all, docs/performance.md).
const recheckPriority = handler.LowPriority

// ingressPriority is the priority of a svclb pod turning Ready while no
// other pod of its DaemonSet is starting: the reconcile that can complete
// its Service's ingress, which is what a user waits for. It goes before
// the Service and DaemonSet events (priority 0) that a burst of new
// Services queues: behind them, that reconcile started up to 0.23 s after
// the pod's event (make bench POOL=all, docs/performance.md).
const ingressPriority = 1

// recheck returns the result that looks at a Service again after d, or
// not at all when d is 0, at recheckPriority.
func recheck(d time.Duration) ctrl.Result {
	res := requeue.After(d)
	if res.RequeueAfter > 0 {
		res.Priority = new(recheckPriority)
	}
	return res
}

// holdFirstFor bounds how long a Service's first nodes wait for the pods
// starting with them: pods of the same DaemonSet created together mostly
// turn Ready within it (with 2 nodes a Service, one status write and one
// UpdatedLoadBalancer Event per Service; published at once, two).
const holdFirstFor = 2 * time.Second

// holdPartialFor bounds how long an ingress that already has nodes waits
// for the Service's other svclb pods, still starting or yet to be created,
// before it is written without them. With every node serving, a Service's
// pods turn Ready over seconds (make bench POOL=all, 500 Services on 50
// nodes: p50 3 s, p99 15.5 s from the first to the last), each a status
// write and an UpdatedLoadBalancer Event if written at once; held, the
// rest go out in one write. A pod that never turns Ready delays the others
// by this much.
const holdPartialFor = 30 * time.Second

// partialHold returns how long to wait before writing obs.ips over the
// Service's current ingress, given since, when the wait began (zero: not
// waiting yet), or 0 to write now. While pods are starting (obs.starting),
// the first nodes of a Service without an ingress wait up to holdFirstFor
// for the pods starting with them; nodes that join an ingress, and nodes
// whose pod is only being replaced (a DaemonSet rollout), wait up to
// holdPartialFor. A node that leaves for good (not eligible any more, or
// refused by the scheduler) is written at once: its traffic would be lost.
// So a Service gets its first IPs within holdFirstFor, then at most one
// more write when the rest arrive, and a rollout writes nothing.
func partialHold(current []corev1.LoadBalancerIngress, obs observation, since, now time.Time) time.Duration {
	if obs.starting == 0 || sameIPs(current, obs.ips) {
		return 0
	}
	bound := holdFirstFor
	if len(current) > 0 {
		bound = holdPartialFor
		for _, in := range current {
			if !slices.Contains(obs.ips, in.IP) && !obs.coming[in.IP] {
				return 0
			}
		}
	}
	if since.IsZero() {
		return bound
	}
	return max(bound-now.Sub(since), 0)
}

// holdPartial returns how long to wait before writing the observed
// ingress of svc, or 0 to write now (see partialHold).
func (r *Reconciler) holdPartial(svc *corev1.Service, obs observation) time.Duration {
	key := client.ObjectKeyFromObject(svc)
	since := r.holds.since(key)
	now := time.Now()
	wait := partialHold(svc.Status.LoadBalancer.Ingress, obs, since, now)
	if wait == 0 {
		r.holds.forget(key)
		return 0
	}
	if since.IsZero() {
		since = now
	}
	r.holds.hold(key, since, now.Add(wait))
	return wait
}

// holdTimes notes, for each Service whose partial ingress is held back,
// since when and until when. It only decides when a write happens, never
// what it holds: lost with a restart, the hold starts again, so an ingress
// waits at most twice holdPartialFor.
type holdTimes struct {
	mu    sync.Mutex
	holds map[types.NamespacedName]heldIngress
}

type heldIngress struct{ begun, until time.Time }

// since returns when the hold of key began, or zero.
func (h *holdTimes) since(key types.NamespacedName) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.holds[key].begun
}

// until returns when the hold of key ends, or zero.
func (h *holdTimes) until(key types.NamespacedName) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.holds[key].until
}

// hold records that the ingress of key is held since begun, until until.
func (h *holdTimes) hold(key types.NamespacedName, begun, until time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.holds == nil {
		h.holds = map[types.NamespacedName]heldIngress{}
	}
	h.holds[key] = heldIngress{begun: begun, until: until}
}

func (h *holdTimes) forget(key types.NamespacedName) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.holds, key)
}

// publish writes the observed ingress and the Service's condition to svc
// in one patch, with the Events K3s records.
func (r *Reconciler) publish(ctx context.Context, svc *corev1.Service, obs observation) error {
	old := ingressStrings(svc.Status.LoadBalancer.Ingress)
	prev := conditionOf(svc).DeepCopy()
	cond := desiredCondition(obs.ips, obs.pending, len(old) > 0)
	// A reason that no longer holds goes while the pods start.
	drop := cond == nil && prev != nil && prev.Status == metav1.ConditionFalse && prev.Reason != ReasonNoReadyNode
	changed, err := r.writeStatus(ctx, svc, statusWrite{setIngress: true, ips: obs.ips, cond: cond, dropCondition: drop})
	if err != nil {
		return err
	}
	if changed && len(obs.ips) > 0 {
		r.event(svc, corev1.EventTypeNormal, ReasonUpdatedLoadBalancer, "UpdateLoadBalancer", "Updated LoadBalancer with new IPs: %v -> %v", old, obs.ips)
	}
	r.warn(svc, prev, obs.pending, changed && len(obs.ips) == 0)
	return nil
}

// report writes why svc, whose ingress stays ips, cannot be served as it
// should (p) as its condition, with a Warning.
func (r *Reconciler) report(ctx context.Context, svc *corev1.Service, ips []string, p pending) error {
	prev := conditionOf(svc).DeepCopy()
	if _, err := r.writeStatus(ctx, svc, statusWrite{cond: desiredCondition(ips, p, len(ips) > 0)}); err != nil {
		return err
	}
	r.warn(svc, prev, p, false)
	return nil
}

// applyDaemonSet applies ds, the DaemonSet key of svc, owned by the
// ClusterNetworking, unless the cached DaemonSet shows nothing changed
// since wharf last applied it. A DaemonSet K3s's ServiceLB created for the
// Service is taken over in place, and loses the label K3s selects by
// (see NodeSelectorAnnotation) and K3s's objectset markers. Any other
// DaemonSet of that name, which wharf did not create, is left alone: the
// error is an *apply.ConflictError.
func (r *Reconciler) applyDaemonSet(ctx context.Context, svc *corev1.Service, ds apply.Desired, key types.NamespacedName) error {
	cs, err := r.Applier.Apply(ctx, []apply.Desired{ds}, apply.ApplyOptions{
		Component:  ComponentName,
		Adopt:      func(_ *unstructured.Unstructured, live metav1.Object) bool { return k3sDaemonSetOf(live, svc) },
		Live:       r.Client,
		DropLabels: []string{NodeSelectorAnnotation},
	})
	if err != nil {
		return err
	}
	if cs.Count(apply.Unchanged) == 0 {
		r.event(svc, corev1.EventTypeNormal, ReasonAppliedDaemonSet, "ApplyDaemonSet", "Applied LoadBalancer DaemonSet %s", key)
	}
	return nil
}

// k3sDaemonSetOf reports whether live is a svclb DaemonSet K3s's ServiceLB
// created for svc: it carries the Service's name and namespace labels.
func k3sDaemonSetOf(live metav1.Object, svc *corev1.Service) bool {
	labels := live.GetLabels()
	return labels[SvcNameLabel] == svc.Name && labels[SvcNamespaceLabel] == svc.Namespace
}

// observe computes the ingress of svc from its svclb pods and, when it has
// none, why.
func (r *Reconciler) observe(ctx context.Context, svc *corev1.Service, cfg settings, ds types.NamespacedName, nodes *nodeSnapshot) (observation, error) {
	own := r.ownPods(svc, ds)
	var local map[string]bool
	var err error
	if localTraffic(svc) {
		if local, err = r.localNodes(ctx, svc); err != nil {
			return observation{}, err
		}
	}
	var elig *eligibility
	eligible := func() eligibility {
		if elig == nil {
			// The DaemonSet was built, so the annotation parses.
			tols, _ := podTolerations(svc, &cfg.spec)
			e := eligibleNodes(nodes.items, placementFor(svc, &cfg.spec, nodes.facts), tols)
			elig = &e
		}
		return *elig
	}
	obs := observation{ips: ingressIPs(svc, own, nodes.byName, local)}
	if !sameIPs(svc.Status.LoadBalancer.Ingress, obs.ips) {
		// Only a change of the ingress can be held (holdPartial).
		e := eligible()
		obs.starting = startingPods(own) + podsToCome(e, own)
		obs.coming = addresses(comingNodes(e, own), nodes.byName)
	}
	if len(obs.ips) > 0 {
		return obs, nil
	}
	var others []portHolder
	if portConflicted(own) {
		if others, err = r.portHolders(ctx, svc); err != nil {
			return observation{}, err
		}
	}
	e := eligible()
	obs.pending = pendingReason(svc, e, own, others)
	if obs.pending.reason == "" && len(own) == 0 && len(e.nodes) > 0 {
		if obs.pending, obs.recheck, err = r.creationFailure(ctx, ds); err != nil {
			return observation{}, err
		}
	}
	return obs, nil
}

// comingNodes returns the eligible nodes without a Ready pod of own whose
// pod is starting, being replaced (a DaemonSet rollout deletes the old pod
// before it creates the new one) or yet to be created: not those the
// scheduler refused.
func comingNodes(e eligibility, own []*svclbPod) []string {
	ready := map[string]bool{}
	refused := map[string]bool{}
	for _, p := range own {
		switch {
		case podReady(p):
			ready[p.Node] = true
		case p.Refused != nil:
			refused[p.Node] = true
		}
	}
	var out []string
	for _, n := range e.nodes {
		if !ready[n] && !refused[n] {
			out = append(out, n)
		}
	}
	return out
}

// addresses returns every address of the named nodes.
func addresses(names []string, byName map[string]*corev1.Node) map[string]bool {
	out := map[string]bool{}
	for _, name := range names {
		if node := byName[name]; node != nil {
			for _, a := range node.Status.Addresses {
				out[a.Address] = true
			}
		}
	}
	return out
}

// podsToCome counts the eligible nodes without a pod of the Service yet:
// the DaemonSet controller creates a new DaemonSet's pods in batches, so
// some of them may not exist when the first turns Ready.
func podsToCome(e eligibility, own []*svclbPod) int {
	have := make(map[string]bool, len(own))
	for _, p := range own {
		have[p.Node] = true
	}
	n := 0
	for _, node := range e.nodes {
		if !have[node] {
			n++
		}
	}
	return n
}

// ownPods returns the pods of the Service's current DaemonSet, read-only.
func (r *Reconciler) ownPods(svc *corev1.Service, ds types.NamespacedName) []*svclbPod {
	all := r.Pods.Of(client.ObjectKeyFromObject(svc))
	own := all[:0]
	for _, p := range all {
		if p.Namespace == ds.Namespace && p.DaemonSet == ds.Name {
			own = append(own, p)
		}
	}
	return own
}

// portHolders returns the svclb pods of every other Service with the
// ports of their Service, which they bind as host ports.
func (r *Reconciler) portHolders(ctx context.Context, svc *corev1.Service) ([]portHolder, error) {
	self := client.ObjectKeyFromObject(svc)
	ports := map[types.NamespacedName][]corev1.ServicePort{}
	var out []portHolder
	for _, p := range r.Pods.All() {
		if p.Service.Name == "" || p.Service == self || !p.Bound {
			continue
		}
		sp, seen := ports[p.Service]
		if !seen {
			holder := &corev1.Service{}
			if err := r.Client.Get(ctx, p.Service, holder); client.IgnoreNotFound(err) != nil {
				return nil, fmt.Errorf("read service %s: %w", p.Service, err)
			}
			sp = holder.Spec.Ports
			ports[p.Service] = sp
		}
		out = append(out, portHolder{node: p.Node, service: p.Service, ports: sp})
	}
	return out, nil
}

// localNodes returns the nodes with a ready endpoint of svc.
func (r *Reconciler) localNodes(ctx context.Context, svc *corev1.Service) (map[string]bool, error) {
	eps := &discoveryv1.EndpointSliceList{}
	if err := r.Client.List(ctx, eps, client.InNamespace(svc.Namespace),
		client.MatchingLabels{discoveryv1.LabelServiceName: svc.Name}); err != nil {
		return nil, fmt.Errorf("list endpointslices of %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	return localEndpointNodes(eps.Items), nil
}

// warn records, as K3s does, a Warning when svc has no node: once per new
// reason (prev is the condition svc showed before this reconcile), or when
// its ingress just emptied.
func (r *Reconciler) warn(svc *corev1.Service, prev *metav1.Condition, p pending, emptied bool) {
	switch {
	case p.reason != "" && (prev == nil || prev.Status != metav1.ConditionFalse || prev.Message != truncate(p.reason, maxConditionMessage)):
		r.event(svc, corev1.EventTypeWarning, ReasonUnAvailableLoadBalancer, p.action, "There are no available nodes for LoadBalancer: %s", p.reason)
	case emptied && p.reason == "":
		r.event(svc, corev1.EventTypeWarning, ReasonUnAvailableLoadBalancer, actionWaitForNode, "There are no available nodes for LoadBalancer")
	}
}
