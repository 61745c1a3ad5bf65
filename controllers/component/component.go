// Package component defines what the ClusterNetworking reconciler needs
// from each add-on it manages (CoreDNS, Traefik, ServiceLB): rendering the
// desired objects, and observing their health afterwards.
package component

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/builder"

	"github.com/wharf-dev/wharf/api/v1alpha1"
)

// Facts are what one component's Inputs gathered for its Render: each
// component has a type of its own (coredns.Facts, say) and only that
// component looks inside. The frame hands them from Inputs to Render and to
// the phases after the apply, so that no component keeps a render's facts
// in memory between calls.
type Facts any

// Component is one add-on managed from the ClusterNetworking resource. A
// reconcile calls Inputs, then Render, applies what Render returned through
// the frame's one Applier (which records the inventory), and calls Observe;
// see docs/architecture.md.
type Component interface {
	// Name is the component's name in the inventory: coredns, traefik or servicelb.
	Name() string
	// ConditionType is the status condition the component reports in.
	ConditionType() string
	// Enabled reports whether cn turns the component on.
	Enabled(cn *v1alpha1.ClusterNetworking) bool
	// Inputs reads everything Render needs besides cn: cluster facts,
	// referenced documents, a chart from the component's cache, and what
	// is drawn once (a generated password). It writes nothing to the
	// cluster. An error is reported as RenderFailed (or the reason it
	// carries) and nothing of the component is applied.
	Inputs(ctx context.Context, cn *v1alpha1.ClusterNetworking) (Facts, error)
	// Render returns the component's desired objects in apply order. It is
	// a pure function of cn and facts: no client, no clock, no randomness.
	// Every object it returns goes through the Applier: Namespaces are
	// created when missing and never changed or deleted; everything else
	// is applied, recorded in the inventory and pruned when no longer
	// rendered.
	Render(cn *v1alpha1.ClusterNetworking, facts Facts) ([]*unstructured.Unstructured, error)
	// Observe reports the component's health once its objects are applied,
	// and fills the component's section of status. facts are those the
	// render used.
	Observe(ctx context.Context, cn *v1alpha1.ClusterNetworking, facts Facts, status *v1alpha1.ClusterNetworkingStatus) (Health, error)
}

// Disabler is implemented by components with status to clear or cleanup
// to do beyond pruning their inventory when they are turned off.
type Disabler interface {
	// Disable clears the component's section of status and starts or
	// checks the cleanup. Cleanup that another controller does (ServiceLB's
	// Service reconciler removing svclb DaemonSets, say) is not waited for:
	// Disable returns what is left, and the frame keeps the component's
	// inventory, reports it as cleaning up and looks again after
	// Cleanup.RecheckAfter. An error is a failure to retry with backoff.
	Disable(ctx context.Context, cn *v1alpha1.ClusterNetworking, status *v1alpha1.ClusterNetworkingStatus) (Cleanup, error)
}

// ReasonCleaningUp is a disabled component's condition reason while its
// cleanup is still under way.
const ReasonCleaningUp = "CleaningUp"

// Cleanup is what is left of a disabled component's cleanup. The zero
// Cleanup means done.
type Cleanup struct {
	// Left says, for people, what is still to be removed; empty when done.
	Left string
	// RecheckAfter is when to look again while something is left.
	RecheckAfter time.Duration
}

// Done reports whether nothing is left to clean up.
func (c Cleanup) Done() bool { return c.Left == "" }

// PruneFilter is implemented by components that hold some objects back
// from pruning, such as CRDs that still have custom resources.
type PruneFilter interface {
	// FilterPrune splits stale entries into those to delete now and those
	// to keep in the inventory for now.
	FilterPrune(ctx context.Context, stale []v1alpha1.InventoryEntry) (prune, keep []v1alpha1.InventoryEntry, err error)
}

// Adopter is implemented by components that take over objects someone
// else created, such as CoreDNS taking over the coredns Deployment and the
// kube-dns Service K3s or kubeadm deployed. Without it, or when Adopts
// says no, an object that exists and that wharf did not create is a
// conflict: nothing of the component is applied and it is reported as
// Stalled. Adopted objects are released, never deleted, when pruned.
type Adopter interface {
	Adopts(facts Facts, obj *unstructured.Unstructured) bool
}

// AfterApplier is implemented by components that must tell an object's
// previous owner once wharf has applied, and so adopted, it, such as
// Traefik marking the objects it took over from a Helm release so that
// uninstalling the release keeps them. The frame calls AfterApply after a
// successful apply, before pruning; an error fails the component
// (AfterApplyFailed) and is retried.
type AfterApplier interface {
	AfterApply(ctx context.Context, cn *v1alpha1.ClusterNetworking, facts Facts, applied []*unstructured.Unstructured) error
}

// Watcher is implemented by components that need to reconcile when
// objects other than the ones they own change (Nodes, referenced Secrets).
type Watcher interface {
	SetupWatches(b *builder.Builder) *builder.Builder
}

// Health is a component's readiness with a reason and a message for people.
type Health struct {
	Ready   bool
	Reason  string
	Message string
}

// Ready returns a healthy Health.
func Ready(message string) Health {
	return Health{Ready: true, Reason: v1alpha1.ReasonReady, Message: message}
}

// Progressing returns a Health that is not ready yet but getting there.
func Progressing(message string) Health {
	return Health{Reason: v1alpha1.ReasonProgressing, Message: message}
}

// A retryable error may carry the condition reason to report by having a
// method ConditionReason() string; otherwise the reason names the phase
// that failed (RenderFailed, ApplyFailed, ...).

// StalledError is an error a retry will not fix until the resource or an
// input it names changes, such as a Corefile that does not parse.
type StalledError struct {
	Reason string
	Err    error
}

func (e *StalledError) Error() string { return e.Err.Error() }
func (e *StalledError) Unwrap() error { return e.Err }

// Stalled wraps err as a StalledError with reason, a CamelCase word.
func Stalled(reason string, err error) error {
	return &StalledError{Reason: reason, Err: err}
}

// Stalledf is Stalled with a formatted error.
func Stalledf(reason, format string, args ...any) error {
	return Stalled(reason, fmt.Errorf(format, args...))
}

// AsStalled returns the StalledError in err's chain, if any.
func AsStalled(err error) (*StalledError, bool) {
	var s *StalledError
	ok := errors.As(err, &s)
	return s, ok
}

// WaitingError says an input is on its way (a chart fetched in the
// background, say) and the component will be reconciled again when it
// arrives: the frame reports the condition with the error's reason and
// Reconciling, but neither retries with backoff nor logs it as a failure.
type WaitingError struct {
	Reason string
	Err    error
}

func (e *WaitingError) Error() string { return e.Err.Error() }
func (e *WaitingError) Unwrap() error { return e.Err }

// ConditionReason is the reason the component's condition carries.
func (e *WaitingError) ConditionReason() string { return e.Reason }

// IsWaiting reports whether err's chain holds a WaitingError.
func IsWaiting(err error) bool {
	var w *WaitingError
	return errors.As(err, &w)
}
