// Package clusternetworking holds the reconciler of the ClusterNetworking
// resource. It is thin: for each component it renders, applies, prunes and
// observes, collecting errors so one component's failure does not stop the
// others, and writes status once at the end.
package clusternetworking

import (
	"context"
	"errors"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
	"github.com/wharf-dev/wharf/internal/apply"
	"github.com/wharf-dev/wharf/internal/requeue"
)

// StatusFieldManager is the field manager status is applied with.
const StatusFieldManager = "wharf-status"

// requeueWhileProgressing bounds how long a component that is not ready
// yet waits for an event before it is looked at again.
const requeueWhileProgressing = 30 * time.Second

// Reconciler reconciles the ClusterNetworking named "cluster".
type Reconciler struct {
	Client client.Client
	// Reader reads the ClusterNetworking itself from the API server (set
	// by SetupWithManager when nil). The cache can still show the resource
	// as it was before this reconciler's own last status write, and that
	// status holds records decisions rest on (the kube-dns IPs a deleted
	// kube-dns must come back on, the inventory that pruning reads): a
	// reconcile deciding from an older status would undo them.
	Reader     client.Reader
	Applier    *apply.Applier
	Components []component.Component

	// watches is set by SetupWithManager.
	watches *appliedWatches
}

// The finalizer is added and removed with a patch, and status is applied
// (a patch): no update verb, and no clusternetworkings/finalizers, which
// only guards owner references wharf never sets.
// +kubebuilder:rbac:groups=networking.wharf.dev,resources=clusternetworkings,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=networking.wharf.dev,resources=clusternetworkings/status,verbs=patch

// Reconcile brings the cluster's add-ons to what the ClusterNetworking
// declares and reports the result in its status.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	cn := &v1alpha1.ClusterNetworking{}
	if err := r.Reader.Get(ctx, req.NamespacedName, cn); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !cn.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, cn)
	}
	if err := r.ensureFinalizer(ctx, cn); err != nil {
		return ctrl.Result{}, err
	}
	s := newStatusBuilder(cn)
	defer func() {
		if err := r.writeStatus(ctx, cn, s.build()); err != nil {
			retErr = errors.Join(retErr, err)
		}
	}()

	// Every enabled component renders before any writes, so that two
	// components rendering the same object are found before either applies it.
	renders := r.renderAll(ctx, cn)
	var errs []error
	var results []ctrl.Result
	for _, c := range r.Components {
		res, err := r.reconcileComponent(ctx, cn, c, renders[c.Name()], s)
		results = append(results, res)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return ctrl.Result{}, err
	}
	result = requeue.Soonest(results...)
	if result.IsZero() && !s.allReady() && !s.anyStalled() {
		result = requeue.After(requeueWhileProgressing)
	}
	return result, nil
}

// outcome turns a phase's error, already recorded in status, into what the
// reconcile returns: a throttled apply comes back when its throttle ends;
// a stalled component, or one waiting for an input, waits for an event (a
// change of the resource or the input); any other error is retried with
// the controller's backoff.
func outcome(err error) (ctrl.Result, error) {
	var throttled *apply.ThrottledError
	switch {
	case err == nil:
		return ctrl.Result{}, nil
	case errors.As(err, &throttled):
		return requeue.After(throttled.RetryAfter()), nil
	case component.IsWaiting(err):
		return ctrl.Result{}, nil
	}
	if _, stalled := component.AsStalled(err); stalled {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{}, err
}

// rendered is one component's render: the facts its Inputs gathered, its
// objects, or why there are none to apply (an Inputs or render error, or
// conflicts with another component).
type rendered struct {
	facts     component.Facts
	objs      []*unstructured.Unstructured
	err       error
	conflicts []apply.Conflict
}

// renderAll renders every enabled component and finds the objects several
// of them render: the component whose inventory holds such an object (or
// else the first in order) keeps it, and the others get a conflict.
func (r *Reconciler) renderAll(ctx context.Context, cn *v1alpha1.ClusterNetworking) map[string]*rendered {
	out := map[string]*rendered{}
	var order []string
	ids := map[string][]string{}
	for _, c := range r.Components {
		if !c.Enabled(cn) {
			continue
		}
		rd := &rendered{}
		if rd.facts, rd.err = c.Inputs(ctx, cn); rd.err == nil {
			rd.objs, rd.err = c.Render(cn, rd.facts)
		}
		out[c.Name()] = rd
		order = append(order, c.Name())
		for _, obj := range rd.objs {
			// Namespaces are only created when missing, for whoever
			// needs them first: no component holds one.
			if apply.Inventoried(obj) {
				ids[c.Name()] = append(ids[c.Name()], apply.Key(obj))
			}
		}
	}
	held := map[string]bool{}
	for _, e := range cn.Status.Inventory {
		held[e.Component+" "+apply.Identity(e)] = true
	}
	claims := apply.Claims(order, ids, func(comp, id string) bool { return held[comp+" "+id] })
	for comp, conflicts := range claims {
		out[comp].conflicts = conflicts
	}
	return out
}

// reconcileComponent runs one component's phases after its render: apply,
// prune, observe; or, for a disabled component, cleanup and prune.
// Whatever happens, it records the component's inventory and condition in
// s, and returns when to look again and the error to retry with backoff.
func (r *Reconciler) reconcileComponent(ctx context.Context, cn *v1alpha1.ClusterNetworking, c component.Component, rd *rendered, s *statusBuilder) (ctrl.Result, error) {
	old := apply.OfComponent(cn.Status.Inventory, c.Name())
	if !c.Enabled(cn) {
		cleanup, err := r.disable(ctx, cn, c, old, s)
		if err != nil {
			return outcome(err)
		}
		return requeue.After(cleanup.RecheckAfter), nil
	}
	return outcome(r.enable(ctx, cn, c, rd, old, s))
}

// enable applies, prunes and observes an enabled component.
func (r *Reconciler) enable(ctx context.Context, cn *v1alpha1.ClusterNetworking, c component.Component, rd *rendered, old []v1alpha1.InventoryEntry, s *statusBuilder) error {
	log := ctrl.LoggerFrom(ctx).WithValues("component", c.Name())
	if err := rd.err; err != nil {
		s.keepInventory(old)
		s.fail(c, "RenderFailed", err)
		if _, stalled := component.AsStalled(err); stalled || component.IsWaiting(err) {
			log.Info("not rendered yet; objects in the cluster are left as they are", "reason", err.Error())
		} else {
			log.Error(err, "render failed; objects in the cluster are left as they are")
		}
		return err
	}
	if len(rd.conflicts) > 0 {
		err := component.Stalled(apply.ReasonConflict, &apply.ConflictError{Conflicts: rd.conflicts})
		s.keepInventory(old)
		s.fail(c, apply.ReasonConflict, err)
		log.Info("two components render the same object; nothing of this one is applied", "error", err.Error())
		return err
	}
	applied, err := r.applyAll(ctx, c, rd, old)
	if err != nil {
		// Keep the old inventory too: nothing is pruned after a failed apply.
		s.keepInventory(old)
		s.keepInventory(applied)
		var conflict *apply.ConflictError
		if errors.As(err, &conflict) {
			err = component.Stalled(apply.ReasonConflict, err)
			log.Info("rendered objects collide with objects wharf did not create; nothing is applied", "error", err.Error())
		}
		s.fail(c, "ApplyFailed", err)
		return err
	}
	s.keepInventory(applied)
	if a, ok := c.(component.AfterApplier); ok {
		if err := a.AfterApply(ctx, cn, rd.facts, rd.objs); err != nil {
			s.fail(c, "AfterApplyFailed", err)
			return err
		}
	}
	if err := r.prune(ctx, c, apply.Stale(old, applied), s); err != nil {
		s.fail(c, "PruneFailed", err)
		return err
	}
	health, err := c.Observe(ctx, cn, rd.facts, &s.status)
	if err != nil {
		s.fail(c, "ObserveFailed", err)
		return err
	}
	s.setHealth(c, health)
	return nil
}

// disable cleans up after a disabled component and prunes its inventory.
// While the component's own cleanup is under way, its inventory is kept
// and the Cleanup it returns says what is left and when to look again.
func (r *Reconciler) disable(ctx context.Context, cn *v1alpha1.ClusterNetworking, c component.Component, old []v1alpha1.InventoryEntry, s *statusBuilder) (component.Cleanup, error) {
	if d, ok := c.(component.Disabler); ok {
		cleanup, err := d.Disable(ctx, cn, &s.status)
		if err != nil {
			s.keepInventory(old)
			s.fail(c, "CleanupFailed", err)
			return component.Cleanup{}, err
		}
		if !cleanup.Done() {
			s.keepInventory(old)
			s.setHealth(c, component.Health{Reason: component.ReasonCleaningUp, Message: cleanup.Left})
			return cleanup, nil
		}
	}
	if err := r.prune(ctx, c, old, s); err != nil {
		s.fail(c, "PruneFailed", err)
		return component.Cleanup{}, err
	}
	if err := r.watches.forget(ctx, c.Name()); err != nil {
		s.fail(c, "CleanupFailed", err)
		return component.Cleanup{}, err
	}
	s.setHealth(c, component.Health{Ready: true, Reason: v1alpha1.ReasonDisabled, Message: c.Name() + " is disabled"})
	return component.Cleanup{}, nil
}

// applyAll marks and applies the rendered objects in order, after
// checking that none of them belongs to someone else, and returns the
// inventory of what was applied, also when it stops at an error.
func (r *Reconciler) applyAll(ctx context.Context, c component.Component, rd *rendered, old []v1alpha1.InventoryEntry) ([]v1alpha1.InventoryEntry, error) {
	objs := rd.objs
	opts := apply.ApplyOptions{Component: c.Name(), Inventory: old}
	if a, ok := c.(component.Adopter); ok {
		opts.Adopt = func(obj *unstructured.Unstructured, _ metav1.Object) bool { return a.Adopts(rd.facts, obj) }
	}
	for _, obj := range objs {
		apply.Mark(obj, c.Name())
	}
	cs, err := r.Applier.Apply(ctx, apply.Objects(objs...), opts)
	entries := make([]v1alpha1.InventoryEntry, 0, len(objs))
	for i, change := range cs.Entries {
		obj := objs[i]
		if !apply.Inventoried(obj) {
			continue
		}
		entries = append(entries, apply.Entry(c.Name(), obj))
		if obj.GetKind() != "CustomResourceDefinition" {
			r.watches.ensure(ctx, obj.GroupVersionKind(), c.Name())
		}
		if change.Action != apply.Unchanged {
			ctrl.LoggerFrom(ctx).V(1).Info("applied", "component", c.Name(), "object", change.Object, "action", string(change.Action))
		}
	}
	return entries, err
}

// prune deletes stale objects, except those the component holds back,
// which stay in the inventory.
func (r *Reconciler) prune(ctx context.Context, c component.Component, stale []v1alpha1.InventoryEntry, s *statusBuilder) error {
	if len(stale) == 0 {
		return nil
	}
	if f, ok := c.(component.PruneFilter); ok {
		prune, keep, err := f.FilterPrune(ctx, stale)
		if err != nil {
			s.keepInventory(stale)
			return err
		}
		s.keepInventory(keep)
		stale = prune
	}
	cs, err := r.Applier.Prune(ctx, stale)
	if err != nil {
		s.keepInventory(stale)
		return err
	}
	for _, change := range cs.Entries {
		ctrl.LoggerFrom(ctx).Info("pruned", "component", c.Name(), "object", change.Object, "action", string(change.Action))
	}
	return nil
}

// SetupWithManager registers the reconciler: it watches the resource, the
// objects it owns (metadata only, to revert hand edits and follow
// readiness), and whatever the components ask for.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Reader == nil {
		r.Reader = mgr.GetAPIReader()
	}
	b := ctrl.NewControllerManagedBy(mgr).
		Named("clusternetworking").
		For(&v1alpha1.ClusterNetworking{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, predicate.LabelChangedPredicate{},
			deletionStarted())))
	owner := appliedHandler()
	watched := map[schema.GroupVersionKind]bool{}
	for _, obj := range ownedObjects {
		gvk, err := apiutil.GVKForObject(obj, mgr.GetScheme())
		if err != nil {
			return err
		}
		b = b.Watches(obj, owner)
		watched[gvk] = true
	}
	for _, gvk := range ownedMetadataKinds {
		b = b.Watches(metadataOf(gvk), owner, builder.OnlyMetadata)
		watched[gvk] = true
	}
	for _, c := range r.Components {
		if w, ok := c.(component.Watcher); ok {
			b = w.SetupWatches(b)
		}
	}
	ctl, err := b.Build(r)
	if err != nil {
		return err
	}
	r.watches = &appliedWatches{controller: ctl, cache: mgr.GetCache(), owner: owner,
		static: watched, dynamic: map[schema.GroupVersionKind]string{}}
	return nil
}

// ownedObjects are the kinds wharf applies whose status it reads from the
// cache (readiness), watched whole.
var ownedObjects = []client.Object{&appsv1.Deployment{}, &corev1.Service{}}

// ownedMetadataKinds are the kinds wharf applies whose content it does not
// need to read from a cache, only to notice changes to.
var ownedMetadataKinds = []schema.GroupVersionKind{
	corev1.SchemeGroupVersion.WithKind("ConfigMap"),
	corev1.SchemeGroupVersion.WithKind("Secret"),
	corev1.SchemeGroupVersion.WithKind("ServiceAccount"),
	rbacv1.SchemeGroupVersion.WithKind("ClusterRole"),
	rbacv1.SchemeGroupVersion.WithKind("ClusterRoleBinding"),
	networkingv1.SchemeGroupVersion.WithKind("IngressClass"),
	policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"),
}

func metadataOf(gvk schema.GroupVersionKind) client.Object {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(gvk)
	return m
}
