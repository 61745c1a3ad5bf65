// Package takeover tells, before a ClusterNetworking is applied to a
// running cluster, what wharf would do to each object it renders: keep an
// existing object as it runs, change it (with the difference), create it,
// or refuse to take it over. `kubectl-wharf adopt --dry-run` prints it.
// Nothing is written: every write of rendering and applying goes to the
// API server as a server-side dry run.
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
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
// order. cn must hold its defaults. c is used through a dry-run client:
// nothing is written.
func Plan(ctx context.Context, c client.Client, cn *v1alpha1.ClusterNetworking) ([]Step, error) {
	dry := client.NewDryRunClient(c)
	var steps []Step
	for _, comp := range controllers.Components(component.Deps{Client: dry, Reader: dry}) {
		if !comp.Enabled(cn) {
			continue
		}
		objs, err := comp.Render(ctx, cn)
		if err != nil {
			return nil, fmt.Errorf("render %s: %w", comp.Name(), err)
		}
		adopts := func(*unstructured.Unstructured) bool { return false }
		if a, ok := comp.(component.Adopter); ok {
			adopts = a.Adopts
		}
		for _, obj := range objs {
			apply.Mark(obj, comp.Name())
			step, err := planObject(ctx, dry, comp.Name(), obj, adopts)
			if err != nil {
				return nil, err
			}
			steps = append(steps, step)
		}
	}
	return steps, nil
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

// describe names obj as "Kind namespace/name", or "Kind name" when
// cluster-scoped.
func describe(obj *unstructured.Unstructured) string {
	if obj.GetNamespace() == "" {
		return obj.GetKind() + " " + obj.GetName()
	}
	return obj.GetKind() + " " + obj.GetNamespace() + "/" + obj.GetName()
}

// Write prints steps, one line each, diffs indented below, and a summary.
func Write(out io.Writer, steps []Step) error {
	var b strings.Builder
	counts := map[Action]int{}
	for _, s := range steps {
		counts[s.Action]++
		fmt.Fprintf(&b, "%-7s %-9s %s", s.Action, s.Component, s.Object)
		switch {
		case s.Action == Refuse:
			fmt.Fprintf(&b, ": %s", s.Reason)
		case s.Adopted:
			b.WriteString(" (taken over)")
		}
		b.WriteString("\n")
		for line := range strings.Lines(s.Diff) {
			b.WriteString("    " + line)
		}
	}
	fmt.Fprintf(&b, "%d kept, %d changed, %d created, %d refused\n", counts[Keep], counts[Change], counts[Create], counts[Refuse])
	_, err := io.WriteString(out, b.String())
	return err
}
