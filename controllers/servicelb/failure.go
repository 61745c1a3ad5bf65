package servicelb

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/controllers/component"
	"github.com/wharf-dev/wharf/internal/apply"
)

// notAppliable returns why the svclb DaemonSet key cannot be applied
// until something changes, when err says so: the API server refused it
// (see refusedByAPIServer), or a DaemonSet of that name exists that wharf
// did not create (K3s's own for the Service is taken over).
func notAppliable(err error, key types.NamespacedName) (string, bool) {
	var conflict *apply.ConflictError
	if errors.As(err, &conflict) {
		return fmt.Sprintf("wharf cannot apply the svclb DaemonSet %s: %s", key, conflict.Error()), true
	}
	if msg, ok := refusedByAPIServer(err); ok {
		return fmt.Sprintf("the API server refused the svclb DaemonSet %s: %s", key, msg), true
	}
	return "", false
}

// refusedByAPIServer returns the API server's message when err says it
// refused a write for good: a request it will refuse again until the
// object changes (invalid, forbidden, too large), rather than a conflict,
// a missing namespace or an API server that is busy or unreachable.
func refusedByAPIServer(err error) (string, bool) {
	var st apierrors.APIStatus
	if !errors.As(err, &st) {
		return "", false
	}
	s := st.Status()
	switch {
	case strings.Contains(s.Message, "larger than max"):
		// etcd refuses an object over its request size limit; the API
		// server passes that on as an internal error.
		return s.Message, true
	case s.Code < 400 || s.Code >= 500:
		return "", false
	case s.Code == http.StatusNotFound, s.Code == http.StatusConflict, s.Code == http.StatusRequestTimeout, s.Code == http.StatusTooManyRequests:
		return "", false
	}
	return s.Message, true
}

// backoff spaces the retries of Services whose DaemonSet the API server
// refused: 5s, doubling up to 5 minutes, per Service.
type backoff struct {
	mu    sync.Mutex
	tries map[types.NamespacedName]int
}

const (
	refusedRetryFirst = 5 * time.Second
	refusedRetryMax   = 5 * time.Minute
)

// next returns how long to wait before retrying key, and counts a try.
func (b *backoff) next(key types.NamespacedName) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tries == nil {
		b.tries = map[types.NamespacedName]int{}
	}
	n := b.tries[key]
	b.tries[key] = n + 1
	d := refusedRetryFirst
	for range n {
		if d *= 2; d >= refusedRetryMax {
			return refusedRetryMax
		}
	}
	return d
}

// reset forgets the tries of key.
func (b *backoff) reset(key types.NamespacedName) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.tries, key)
}

// podsDeadline is how long a svclb DaemonSet may have no pod at all, after
// wharf applied it, before wharf asks the API server why.
const podsDeadline = 10 * time.Second

// podsWatch is how long after the apply wharf keeps looking at a
// DaemonSet that has no pod while its status says nothing yet.
const podsWatch = 2 * time.Minute

// podsBehindRecheck is how often a DaemonSet without pods and without a
// FailedCreate Event is looked at again until podsWatch has passed: each
// look lists the DaemonSet's Events.
const podsBehindRecheck = 30 * time.Second

// failingRecheck is how often a DaemonSet whose pods cannot be created is
// looked at again, for a newer message; its first pod's event ends it.
const failingRecheck = time.Minute

// reasonFailedCreate is the reason of the DaemonSet controller's Event
// when it cannot create a pod.
const reasonFailedCreate = "FailedCreate"

// creationFailure says, for a DaemonSet of key that has no pod although
// nodes are eligible, whether the DaemonSet controller fails to create its
// pods, with the API server's message from the controller's FailedCreate
// Event, and when to look again. DaemonSets are cached as metadata only:
// their status is read from the API server, and only for such a Service
// once podsDeadline has passed since the last apply.
func (r *Reconciler) creationFailure(ctx context.Context, key types.NamespacedName) (pending, time.Duration, error) {
	live := daemonSetMetadata()
	if err := r.Client.Get(ctx, key, live); err != nil {
		return pending{}, 0, client.IgnoreNotFound(err)
	}
	age := time.Since(lastApplied(live))
	if age < podsDeadline {
		return pending{}, podsDeadline - age, nil
	}
	ds := &appsv1.DaemonSet{}
	if err := r.Reader.Get(ctx, key, ds); err != nil {
		return pending{}, 0, client.IgnoreNotFound(fmt.Errorf("read daemonset %s: %w", key, err))
	}
	st := ds.Status
	if st.ObservedGeneration < ds.Generation || st.DesiredNumberScheduled == 0 {
		// The controller has not looked at it yet, or wants no pod.
		return pending{}, behindRecheck(age), nil
	}
	if st.CurrentNumberScheduled > 0 || st.NumberMisscheduled > 0 {
		return pending{}, 0, nil
	}
	msg, err := r.failedCreateMessage(ctx, ds)
	if err != nil {
		return pending{}, 0, err
	}
	if msg == "" {
		if age < podsWatch {
			// No pod and no FailedCreate: the DaemonSet controller may only
			// be behind. Its status counts the pods its own cache has seen,
			// so right after creating them it can still say none; with
			// every node serving 500 Services the bench found 235 Services
			// falsely reported this way when this waited 10 s.
			return pending{}, podsBehindRecheck, nil
		}
		msg = fmt.Sprintf("none of its %d pods exists", st.DesiredNumberScheduled)
	}
	return pending{action: actionCreatePods, failed: true, reason: fmt.Sprintf(
		"the DaemonSet controller cannot create the pods of the svclb DaemonSet %s: %s", key, msg)}, failingRecheck, nil
}

// behindRecheck returns when to look again at a DaemonSet of age (since
// wharf applied it) that the DaemonSet controller has not looked at yet,
// or 0 once podsWatch has passed. The longer the controller has been
// behind, the longer it likely stays behind: the next look is as far off
// as the DaemonSet is old, between podsDeadline and podsBehindRecheck.
// With every node serving 500 Services, the DaemonSet controller took
// minutes to reach the last DaemonSets, and a look every podsDeadline was
// half of ServiceLB's reconciles and reads (make bench POOL=all,
// docs/performance.md).
func behindRecheck(age time.Duration) time.Duration {
	if age >= podsWatch {
		return 0
	}
	return min(max(age, podsDeadline), podsBehindRecheck)
}

// failedCreateMessage returns the note of the newest FailedCreate Event of
// ds, or "".
func (r *Reconciler) failedCreateMessage(ctx context.Context, ds *appsv1.DaemonSet) (string, error) {
	list := &corev1.EventList{}
	sel := fields.SelectorFromSet(fields.Set{"involvedObject.uid": string(ds.UID), "reason": reasonFailedCreate})
	if err := r.Reader.List(ctx, list, client.InNamespace(ds.Namespace), client.MatchingFieldsSelector{Selector: sel}); err != nil {
		return "", fmt.Errorf("list the events of daemonset %s/%s: %w", ds.Namespace, ds.Name, err)
	}
	var newest *corev1.Event
	for i := range list.Items {
		if e := &list.Items[i]; newest == nil || eventTime(e).After(eventTime(newest)) {
			newest = e
		}
	}
	if newest == nil {
		return "", nil
	}
	return newest.Message, nil
}

func eventTime(e *corev1.Event) time.Time {
	switch {
	case !e.EventTime.IsZero():
		if e.Series != nil && !e.Series.LastObservedTime.IsZero() {
			return e.Series.LastObservedTime.Time
		}
		return e.EventTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	}
	return e.CreationTimestamp.Time
}

// lastApplied returns when wharf last changed the DaemonSet, from its
// managed fields, or when it was created.
func lastApplied(ds metav1.Object) time.Time {
	t := ds.GetCreationTimestamp().Time
	for _, mf := range ds.GetManagedFields() {
		if mf.Manager == component.FieldManager && mf.Operation == metav1.ManagedFieldsOperationApply && mf.Subresource == "" && mf.Time != nil && mf.Time.After(t) {
			t = mf.Time.Time
		}
	}
	return t
}

// namespaceLabels returns the labels of a namespace, from the cache of
// namespace metadata.
func (r *Reconciler) namespaceLabels(ctx context.Context, name string) (map[string]string, error) {
	ns := namespaceMetadata()
	if err := r.Client.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		return nil, fmt.Errorf("read namespace %s: %w", name, err)
	}
	return ns.Labels, nil
}

// namespaceMetadata returns an empty Namespace to read metadata into.
func namespaceMetadata() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	return m
}
