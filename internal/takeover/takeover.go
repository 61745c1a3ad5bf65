// Package takeover tells, before a ClusterNetworking is applied to a
// running cluster, what wharf would do to each object it renders: keep an
// existing object as it runs, change it (with the difference), create it,
// or refuse to take it over; and to each object it applied before (the
// live ClusterNetworking's status.inventory) that would leave the set:
// delete it, release it, hold it back or leave it to whoever holds it now.
// `kubectl-wharf adopt --dry-run` prints it. Nothing is written: every
// write of rendering and applying goes to the API server as a server-side
// dry run.
package takeover

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers"
	"github.com/wharf-dev/wharf/controllers/component"
	"github.com/wharf-dev/wharf/internal/apply"
)

// Action is what applying would do to one object.
type Action string

// Actions of a Step.
const (
	// Keep: the object exists and at most its labels and annotations
	// would change (wharf's own added, K3s's objectset markers removed):
	// what runs stays, pods are not replaced.
	Keep Action = "keep"
	// Change: the object exists and more than its metadata would change;
	// Step.Diff says what. For a Deployment or DaemonSet whose pod
	// template changes, the pods are replaced by a rollout.
	Change Action = "change"
	// Create: no such object exists.
	Create Action = "create"
	// Refuse: the object exists and wharf would not take it over; nothing
	// of its component is applied (a Conflict). Step.Reason says why.
	Refuse Action = "refuse"
	// Delete: wharf created the object, it leaves the set wharf applies
	// (its component disabled, or no longer rendering it), and pruning
	// deletes it.
	Delete Action = "delete"
	// Release: wharf adopted the object and it leaves the set: pruning
	// removes wharf's labels and annotations and leaves it running.
	Release Action = "release"
	// Hold: the object leaves the set but its component keeps it for now
	// (Traefik's CRDs while custom resources use them). Step.Reason says why.
	Hold Action = "hold"
	// Leave: the object leaves the set but someone else holds it now
	// (wharf's labels removed); pruning leaves it alone. Step.Reason says why.
	Leave Action = "leave"
)

// Step is what applying would do to one object.
type Step struct {
	Component string
	// Object is the kind, namespace and name, as "Deployment kube-system/coredns".
	Object string
	Action Action
	// Adopted: the object exists and wharf did not create it.
	Adopted bool
	// Diff is, for Change, a unified diff from the object as it runs to
	// the object after the apply, metadata left out.
	Diff string
	// Reason says why an object is refused.
	Reason string
}

// Plan renders the components cn enables against the cluster c reads, as
// the operator would, and returns a Step per rendered object in apply
// order, followed, per component, by a Step for each object of the live
// ClusterNetworking's status.inventory that would leave the set (all of a
// disabled component's): Delete, Release, Hold or Leave, as the operator
// prunes. A component with a Refuse step is not applied, so nothing of it
// is pruned either. Without a live ClusterNetworking (or its CRD) nothing
// is pruned. cn must hold its defaults. c is used through a dry-run
// client: nothing is written.
func Plan(ctx context.Context, c client.Client, cn *v1alpha1.ClusterNetworking) ([]Step, error) {
	dry := client.NewDryRunClient(c)
	inventory, err := liveInventory(ctx, dry)
	if err != nil {
		return nil, err
	}
	var steps []Step
	for _, comp := range controllers.Components(component.Deps{Client: dry, Reader: dry}) {
		applied, current, err := planApply(ctx, dry, comp, cn)
		if err != nil {
			return nil, err
		}
		steps = append(steps, applied...)
		if refused(applied) {
			continue
		}
		pruned, err := planPrune(ctx, dry, comp, apply.Stale(apply.OfComponent(inventory, comp.Name()), current))
		if err != nil {
			return nil, err
		}
		steps = append(steps, pruned...)
	}
	return steps, nil
}

// liveInventory returns the status.inventory of the cluster's
// ClusterNetworking, or nothing when there is none or its CRD is not
// installed.
func liveInventory(ctx context.Context, c client.Reader) ([]v1alpha1.InventoryEntry, error) {
	live := &v1alpha1.ClusterNetworking{}
	switch err := c.Get(ctx, client.ObjectKey{Name: v1alpha1.SingletonName}, live); {
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read the live ClusterNetworking: %w", err)
	}
	return live.Status.Inventory, nil
}

// planApply renders comp for cn, when cn enables it, and returns a Step
// per rendered object and their inventory entries.
func planApply(ctx context.Context, dry client.Client, comp component.Component, cn *v1alpha1.ClusterNetworking) ([]Step, []v1alpha1.InventoryEntry, error) {
	if !comp.Enabled(cn) {
		return nil, nil, nil
	}
	facts, err := comp.Inputs(ctx, cn)
	if err != nil {
		return nil, nil, fmt.Errorf("read the inputs of %s: %w", comp.Name(), err)
	}
	objs, err := comp.Render(cn, facts)
	if err != nil {
		return nil, nil, fmt.Errorf("render %s: %w", comp.Name(), err)
	}
	adopts := func(*unstructured.Unstructured) bool { return false }
	if a, ok := comp.(component.Adopter); ok {
		adopts = func(obj *unstructured.Unstructured) bool { return a.Adopts(facts, obj) }
	}
	steps := make([]Step, 0, len(objs))
	entries := make([]v1alpha1.InventoryEntry, 0, len(objs))
	for _, obj := range objs {
		apply.Mark(obj, comp.Name())
		step, err := planObject(ctx, dry, comp.Name(), obj, adopts)
		if err != nil {
			return nil, nil, err
		}
		steps = append(steps, step)
		if apply.Inventoried(obj) {
			entries = append(entries, apply.Entry(comp.Name(), obj))
		}
	}
	return steps, entries, nil
}

func refused(steps []Step) bool {
	for _, s := range steps {
		if s.Action == Refuse {
			return true
		}
	}
	return false
}

// planPrune returns what pruning the stale entries of comp would do, in
// the order the operator prunes them: the entries comp holds back first
// (see component.PruneFilter), then the others in reverse order. An
// object already gone gets no Step.
func planPrune(ctx context.Context, dry client.Client, comp component.Component, stale []v1alpha1.InventoryEntry) ([]Step, error) {
	if len(stale) == 0 {
		return nil, nil
	}
	var steps []Step
	if f, ok := comp.(component.PruneFilter); ok {
		prune, keep, err := f.FilterPrune(ctx, stale)
		if err != nil {
			return nil, fmt.Errorf("plan the pruning of %s: %w", comp.Name(), err)
		}
		for _, e := range keep {
			steps = append(steps, Step{Component: comp.Name(), Object: describeEntry(e), Action: Hold,
				Reason: "kept while custom resources use " + comp.Name() + "'s CRDs"})
		}
		stale = prune
	}
	for i := len(stale) - 1; i >= 0; i-- {
		step, err := planStale(ctx, dry, comp.Name(), stale[i])
		if err != nil {
			return nil, err
		}
		if step.Action != "" {
			steps = append(steps, step)
		}
	}
	return steps, nil
}

// planStale tells what pruning e would do, as apply.Applier.Prune
// decides; the zero Step when its object is gone.
func planStale(ctx context.Context, dry client.Client, comp string, e v1alpha1.InventoryEntry) (Step, error) {
	step := Step{Component: comp, Object: describeEntry(e)}
	live := &metav1.PartialObjectMetadata{}
	live.SetGroupVersionKind(schema.GroupVersionKind{Group: e.Group, Version: e.Version, Kind: e.Kind})
	switch err := dry.Get(ctx, client.ObjectKey{Namespace: e.Namespace, Name: e.Name}, live); {
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		return Step{}, nil
	case err != nil:
		return step, fmt.Errorf("read %s: %w", step.Object, err)
	}
	switch apply.PruneAction(live, comp, component.FieldManager) {
	case apply.Skipped:
		step.Action, step.Reason = Leave, "wharf's "+comp+" component no longer holds it"
	case apply.Released:
		step.Action, step.Adopted = Release, true
	default:
		step.Action = Delete
	}
	return step, nil
}

// planObject decides, as the Applier does, whether obj may be applied,
// and applies it as a dry run to see what would change.
func planObject(ctx context.Context, dry client.Client, comp string, obj *unstructured.Unstructured, adopts func(*unstructured.Unstructured) bool) (Step, error) {
	step := Step{Component: comp, Object: describe(obj)}
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(obj.GroupVersionKind())
	switch err := dry.Get(ctx, client.ObjectKeyFromObject(obj), live); {
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		step.Action = Create
		return step, nil
	case err != nil:
		return step, fmt.Errorf("read %s: %w", step.Object, err)
	case !apply.Inventoried(obj):
		// The Applier leaves an existing Namespace as it is.
		step.Action = Keep
		return step, nil
	}
	labels := live.GetLabels()
	switch holder := labels[apply.ComponentLabel]; {
	case apply.IsWharfs(labels) && holder != comp:
		step.Action, step.Reason = Refuse, fmt.Sprintf("the %s component holds it", holder)
		return step, nil
	case apply.IsWharfs(labels):
	case adopts(obj):
		step.Adopted = true
	default:
		step.Action, step.Reason = Refuse, "it exists and wharf did not create it"
		return step, nil
	}
	origin := apply.OriginCreated
	if step.Adopted {
		origin = apply.OriginAdopted
	}
	if live.GetAnnotations()[apply.OriginAnnotation] != "" {
		origin = live.GetAnnotations()[apply.OriginAnnotation]
	}
	desired := obj.DeepCopy()
	annotations := desired.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[apply.OriginAnnotation] = origin
	desired.SetAnnotations(annotations)
	if err := dry.Apply(ctx, client.ApplyConfigurationFromUnstructured(desired), client.FieldOwner(component.FieldManager), client.ForceOwnership); err != nil {
		return step, fmt.Errorf("apply %s as a dry run: %w", step.Object, err)
	}
	before, after := withoutMetadata(live.Object), withoutMetadata(desired.Object)
	if equality.Semantic.DeepEqual(before, after) {
		step.Action = Keep
		return step, nil
	}
	step.Action = Change
	if obj.GetKind() == "Secret" && obj.GroupVersionKind().Group == "" {
		step.Reason = "its data changes (a Secret's values are not shown)"
		return step, nil
	}
	diff, err := unifiedDiff(before, after)
	if err != nil {
		return step, fmt.Errorf("compare %s: %w", step.Object, err)
	}
	step.Diff = diff
	return step, nil
}

// withoutMetadata is obj without its metadata, where only wharf's labels
// and annotations and K3s's objectset markers change, and without its
// status, which the API server keeps.
func withoutMetadata(obj map[string]any) map[string]any {
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		if k != "metadata" && k != "status" {
			out[k] = v
		}
	}
	return out
}

func unifiedDiff(before, after map[string]any) (string, error) {
	a, err := yaml.Marshal(before)
	if err != nil {
		return "", err
	}
	b, err := yaml.Marshal(after)
	if err != nil {
		return "", err
	}
	return difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(a)), B: difflib.SplitLines(string(b)),
		FromFile: "running", ToFile: "wharf", Context: 2,
	})
}

// describeEntry names the object of e as describe does.
func describeEntry(e v1alpha1.InventoryEntry) string {
	u := &unstructured.Unstructured{}
	u.SetKind(e.Kind)
	u.SetNamespace(e.Namespace)
	u.SetName(e.Name)
	return describe(u)
}

// describe names obj as "Kind namespace/name", or "Kind name" when
// cluster-scoped.
func describe(obj *unstructured.Unstructured) string {
	if obj.GetNamespace() == "" {
		return obj.GetKind() + " " + obj.GetName()
	}
	return obj.GetKind() + " " + obj.GetNamespace() + "/" + obj.GetName()
}

// Write prints steps, one line each, diffs indented below, and a summary
// counting every action, as "1 kept, 2 changed, ...". It returns whether
// any step is Refuse.
func Write(out io.Writer, steps []Step) (refusedAny bool, err error) {
	var b strings.Builder
	counts := map[Action]int{}
	for _, s := range steps {
		counts[s.Action]++
		fmt.Fprintf(&b, "%-7s %-9s %s", s.Action, s.Component, s.Object)
		switch {
		case s.Reason != "":
			fmt.Fprintf(&b, ": %s", s.Reason)
		case s.Adopted && s.Action == Release:
			b.WriteString(" (left running, no longer managed)")
		case s.Adopted:
			b.WriteString(" (taken over)")
		}
		b.WriteString("\n")
		for line := range strings.Lines(s.Diff) {
			b.WriteString("    " + line)
		}
	}
	fmt.Fprintf(&b, "%d kept, %d changed, %d created, %d deleted, %d released, %d held, %d left, %d refused\n",
		counts[Keep], counts[Change], counts[Create], counts[Delete], counts[Release], counts[Hold], counts[Leave], counts[Refuse])
	_, err = io.WriteString(out, b.String())
	return counts[Refuse] > 0, err
}
