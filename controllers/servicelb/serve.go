package servicelb

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/controllers/component"
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
	// those still to be created; it is counted only when the ingress
	// changes, the only case holdPartial looks at it.
	starting int
	// recheck, when set, is when to look again at a DaemonSet that has no
	// pod yet (see creationFailure).
	recheck time.Duration
}

// startingPods counts the pods that are neither Ready, nor being deleted,
// nor unschedulable.
func startingPods(pods []corev1.Pod) int {
	n := 0
	for i := range pods {
		p := &pods[i]
		if podReady(p) || !p.DeletionTimestamp.IsZero() {
			continue
		}
		if c := podCondition(p, corev1.PodScheduled); c != nil && c.Status == corev1.ConditionFalse {
			continue
		}
		n++
	}
	return n
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
		if err := r.undo(ctx, svc); err != nil {
			return ctrl.Result{}, err
		}
		r.track(svc, false, nil, refusal)
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
	ds, err := r.desired(svc, cfg, nodes.facts)
	if err != nil {
		// Only a change to the Service (or the spec) can fix it, and that
		// reconciles again. The DaemonSet applied last, if any, stays.
		r.track(svc, false, current, pending{action: actionFixService, reason: err.Error()})
		return ctrl.Result{}, nil
	}
	dsKey := ds.key
	if err := r.applyDaemonSet(ctx, svc, ds, cfg, nodes.facts); err != nil {
		if msg, ok := refusedByAPIServer(err); ok {
			// Retried with a backoff of its own, slower than the
			// controller's; the Event goes out once per new message.
			r.track(svc, false, current, pending{action: actionApplyRefused, failed: true,
				reason: fmt.Sprintf("the API server refused the svclb DaemonSet %s: %s", dsKey, msg)})
			return requeue.After(r.refused.next(client.ObjectKeyFromObject(svc))), nil
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
		return requeue.After(wait), nil
	}
	if err := r.publish(ctx, svc, obs); err != nil {
		return ctrl.Result{}, err
	}
	return requeue.After(obs.recheck), nil
}

// holdPartialFor is how long a partial ingress waits for the Service's
// other svclb pods, which are starting or yet to be created, to turn Ready
// too: one status write (and one UpdatedLoadBalancer Event) then carries
// them all. Without it 3% of the bench's Services got two writes.
const holdPartialFor = 2 * time.Second

// holdPartial returns how long to wait before writing an ingress that
// lacks nodes whose pods are still starting, or 0 to write now.
func (r *Reconciler) holdPartial(svc *corev1.Service, obs observation) time.Duration {
	key := client.ObjectKeyFromObject(svc)
	r.holdMu.Lock()
	defer r.holdMu.Unlock()
	if len(obs.ips) == 0 || obs.starting == 0 || sameIPs(svc.Status.LoadBalancer.Ingress, obs.ips) {
		delete(r.holds, key)
		return 0
	}
	if r.holds == nil {
		r.holds = map[types.NamespacedName]time.Time{}
	}
	first, ok := r.holds[key]
	if !ok {
		first = time.Now()
		r.holds[key] = first
	}
	if left := holdPartialFor - time.Since(first); left > 0 {
		return left
	}
	delete(r.holds, key)
	return 0
}

// publish writes the observed ingress to svc, with the Events K3s records,
// and records the Service's state.
func (r *Reconciler) publish(ctx context.Context, svc *corev1.Service, obs observation) error {
	old := ingressStrings(svc.Status.LoadBalancer.Ingress)
	changed, err := r.writeIngress(ctx, svc, obs.ips)
	if err != nil {
		return err
	}
	if changed && len(obs.ips) > 0 {
		r.event(svc, corev1.EventTypeNormal, ReasonUpdatedLoadBalancer, "UpdateLoadBalancer", "Updated LoadBalancer with new IPs: %v -> %v", old, obs.ips)
	}
	r.track(svc, changed, obs.ips, obs.pending)
	return nil
}

// applyDaemonSet applies ds, owned by the ClusterNetworking, unless the
// cached DaemonSet shows nothing changed since wharf last applied it.
func (r *Reconciler) applyDaemonSet(ctx context.Context, svc *corev1.Service, ds desiredDaemonSet, cfg settings, facts Facts) error {
	live := daemonSetMetadata()
	switch err := r.Client.Get(ctx, ds.key, live); {
	case err == nil && r.Applier.UnchangedDigest(ds.applierKey, ds.hash, live):
		return r.dropNodeSelectorLabel(ctx, live)
	case apierrors.IsNotFound(err) && r.Applier.RemembersDigest(ds.applierKey, ds.hash):
		// The cache has not seen the DaemonSet wharf created yet; its
		// event comes next. A deletion makes the Applier forget it.
		return nil
	case err != nil && !apierrors.IsNotFound(err):
		return fmt.Errorf("read daemonset %s: %w", ds.key, err)
	}
	if ds.obj == nil {
		// Only the digest was remembered; the object is needed now.
		built, err := r.build(svc, cfg, facts)
		if err != nil {
			return err
		}
		ds = built
	}
	// The cached copy already told what the Applier would read again.
	if err := r.Applier.ApplyNow(ctx, ds.obj, ds.hash); err != nil {
		return err
	}
	r.event(svc, corev1.EventTypeNormal, ReasonAppliedDaemonSet, "ApplyDaemonSet", "Applied LoadBalancer DaemonSet %s", ds.key)
	return nil
}

// dropNodeSelectorLabel removes the nodeselector label from a svclb
// DaemonSet that still has it although wharf's apply no longer sets it:
// another manager owns it (K3s created the DaemonSet, say). K3s started
// with its own ServiceLB disabled would delete the DaemonSet (see
// NodeSelectorAnnotation). The label is on the DaemonSet, not on its pod
// template: the pods are not replaced. The objectset labels and
// annotations K3s's wrangler apply marked the DaemonSet with go in the
// same write, so that K3s never selects it for deletion.
func (r *Reconciler) dropNodeSelectorLabel(ctx context.Context, live *metav1.PartialObjectMetadata) error {
	labels := map[string]any{}
	if _, ok := live.Labels[NodeSelectorAnnotation]; ok {
		labels[NodeSelectorAnnotation] = nil
	}
	labelKeys, annotationKeys := apply.ObjectSetMarkers(live)
	for _, k := range labelKeys {
		labels[k] = nil
	}
	meta := map[string]any{}
	if len(labels) > 0 {
		meta["labels"] = labels
	}
	if len(annotationKeys) > 0 {
		annotations := map[string]any{}
		for _, k := range annotationKeys {
			annotations[k] = nil
		}
		meta["annotations"] = annotations
	}
	if len(meta) == 0 {
		return nil
	}
	body, err := json.Marshal(map[string]any{"metadata": meta})
	if err != nil {
		return fmt.Errorf("encode the metadata patch of daemonset %s/%s: %w", live.Namespace, live.Name, err)
	}
	if err := r.Client.Patch(ctx, live, client.RawPatch(types.MergePatchType, body), client.FieldOwner(component.FieldManager)); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("remove K3s's labels from daemonset %s/%s: %w", live.Namespace, live.Name, err))
	}
	return nil
}

// observe computes the ingress of svc from its svclb pods and, when it has
// none, why.
func (r *Reconciler) observe(ctx context.Context, svc *corev1.Service, cfg settings, ds types.NamespacedName, nodes *nodeSnapshot) (observation, error) {
	own, err := r.ownPods(ctx, svc, ds)
	if err != nil {
		return observation{}, err
	}
	var local map[string]bool
	if localTraffic(svc) {
		if local, err = r.localNodes(ctx, svc); err != nil {
			return observation{}, err
		}
	}
	ips := ingressIPs(svc, own, nodes.byName, local)
	eligible := func() eligibility {
		// The DaemonSet was built, so the annotation parses.
		tols, _ := podTolerations(svc, &cfg.spec)
		return eligibleNodes(nodes.items, placementFor(svc, &cfg.spec, nodes.facts), tols)
	}
	if len(ips) > 0 {
		obs := observation{ips: ips}
		if !sameIPs(svc.Status.LoadBalancer.Ingress, ips) {
			// Only a change of the ingress can be held (holdPartial).
			obs.starting = startingPods(own) + podsToCome(eligible(), own)
		}
		return obs, nil
	}
	var others []corev1.Pod
	if portConflicted(own) {
		if others, err = r.otherSvclbPods(ctx, svc); err != nil {
			return observation{}, err
		}
	}
	e := eligible()
	obs := observation{pending: pendingReason(svc, e, own, others)}
	if obs.pending.reason == "" && len(own) == 0 && len(e.nodes) > 0 {
		if obs.pending, obs.recheck, err = r.creationFailure(ctx, ds); err != nil {
			return observation{}, err
		}
	}
	return obs, nil
}

// podsToCome counts the eligible nodes without a pod of the Service yet:
// the DaemonSet controller creates a new DaemonSet's pods in batches, so
// some of them may not exist when the first turns Ready.
func podsToCome(e eligibility, own []corev1.Pod) int {
	have := make(map[string]bool, len(own))
	for i := range own {
		have[targetNode(&own[i])] = true
	}
	n := 0
	for _, node := range e.nodes {
		if !have[node] {
			n++
		}
	}
	return n
}

// ownPods lists the pods of the Service's current DaemonSet.
func (r *Reconciler) ownPods(ctx context.Context, svc *corev1.Service, ds types.NamespacedName) ([]corev1.Pod, error) {
	pods := &corev1.PodList{}
	if err := r.Client.List(ctx, pods, client.InNamespace(ds.Namespace), client.HasLabels{SvcNameLabel},
		client.MatchingFields{ServiceKeyIndex: svc.Namespace + "/" + svc.Name}); err != nil {
		return nil, fmt.Errorf("list svclb pods: %w", err)
	}
	out := pods.Items[:0]
	for _, p := range pods.Items {
		if p.Labels[AppLabel] == ds.Name {
			out = append(out, p)
		}
	}
	return out, nil
}

// otherSvclbPods lists the svclb pods of every other Service.
func (r *Reconciler) otherSvclbPods(ctx context.Context, svc *corev1.Service) ([]corev1.Pod, error) {
	pods := &corev1.PodList{}
	if err := r.Client.List(ctx, pods, client.HasLabels{SvcNameLabel}); err != nil {
		return nil, fmt.Errorf("list svclb pods: %w", err)
	}
	self := client.ObjectKeyFromObject(svc)
	others := pods.Items[:0]
	for _, p := range pods.Items {
		if key, ok := serviceKeyOf(p.Labels); !ok || key != self {
			others = append(others, p)
		}
	}
	return others, nil
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

// track records the Service's state and warns, as K3s does, when it has
// no node: once per new reason, or when its ingress just emptied.
func (r *Reconciler) track(svc *corev1.Service, ingressChanged bool, ips []string, p pending) {
	key := client.ObjectKeyFromObject(svc)
	prev, _ := r.Tracker.Get(key)
	switch {
	case p.reason != "" && p.reason != prev.Pending:
		r.event(svc, corev1.EventTypeWarning, ReasonUnAvailableLoadBalancer, p.action, "There are no available nodes for LoadBalancer: %s", p.reason)
	case ingressChanged && len(ips) == 0 && p.reason == "":
		r.event(svc, corev1.EventTypeWarning, ReasonUnAvailableLoadBalancer, actionWaitForNode, "There are no available nodes for LoadBalancer")
	}
	r.Tracker.Set(key, ServiceState{Ready: len(ips) > 0, Pending: p.reason, Failed: p.failed})
}
