package servicelb

import (
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/wharf-dev/wharf/api/v1alpha1"
)

// ServiceState is what the Service reconciler last found for one Service.
type ServiceState struct {
	// Ready is true when the Service has at least one ingress IP.
	Ready bool
	// Pending says why the Service cannot get a node; empty if it can.
	Pending string
	// Failed is set when ServiceLB failed the Service: the API server
	// refused its DaemonSet or the DaemonSet controller its pods.
	Failed bool
}

// Tracker keeps, in memory, the state of every LoadBalancer Service wharf
// serves. The Service reconciler writes it; the ClusterNetworking component
// reads its summary. When the summary changes, the Tracker sends an event
// that makes the ClusterNetworking reconcile. It is safe for concurrent use.
type Tracker struct {
	mu       sync.Mutex
	services map[types.NamespacedName]ServiceState
	last     v1alpha1.ServiceLBStatus
	changes  chan event.GenericEvent

	notifyPending bool

	// complete is set once every served Service has a state (see Complete);
	// warmUpStart is when Complete was first asked.
	complete    bool
	warmUpStart time.Time
	warmUpLimit time.Duration
	notifyDelay time.Duration
}

// NewTracker returns an empty Tracker.
func NewTracker() *Tracker {
	return &Tracker{
		services:    map[types.NamespacedName]ServiceState{},
		changes:     make(chan event.GenericEvent, 1),
		warmUpLimit: defaultWarmUpLimit,
		notifyDelay: defaultNotifyDelay,
	}
}

// Set records the state of a served Service.
func (t *Tracker) Set(key types.NamespacedName, s ServiceState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.services[key]; ok && old == s {
		return
	}
	t.services[key] = s
	t.summaryChanged()
}

// Get returns the recorded state of a Service.
func (t *Tracker) Get(key types.NamespacedName) (ServiceState, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.services[key]
	return s, ok
}

// Forget drops a Service that is no longer served.
func (t *Tracker) Forget(key types.NamespacedName) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.services[key]; !ok {
		return
	}
	delete(t.services, key)
	t.summaryChanged()
}

// Len returns how many Services are tracked.
func (t *Tracker) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.services)
}

// MaxPendingListed is how many pending Services the status lists (the
// CRD's MaxItems); pendingTotal counts them all, and each one's Events
// hold its full reason.
const MaxPendingListed = 50

// maxPendingReason bounds a reason as the status lists it, in bytes.
const maxPendingReason = 512

// Summary returns the status section: Services served, ready, and the
// first MaxPendingListed pending ones by namespace and name.
func (t *Tracker) Summary() v1alpha1.ServiceLBStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.summary()
}

// Failing returns how many Services ServiceLB failed (see
// ServiceState.Failed) and the reason of the first by namespace and name.
func (t *Tracker) Failing() (int, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	var first types.NamespacedName
	for key, s := range t.services {
		if !s.Failed {
			continue
		}
		if n == 0 || compareKeys(key, first) < 0 {
			first = key
		}
		n++
	}
	if n == 0 {
		return 0, ""
	}
	return n, first.String() + ": " + t.services[first].Pending
}

// Changes delivers an event for the ClusterNetworking each time the
// summary changes; events coalesce while one is waiting.
func (t *Tracker) Changes() <-chan event.GenericEvent { return t.changes }

func (t *Tracker) summary() v1alpha1.ServiceLBStatus {
	st := v1alpha1.ServiceLBStatus{Services: int32(len(t.services))}
	var pending []types.NamespacedName
	for key, s := range t.services {
		if s.Ready {
			st.Ready++
		}
		if s.Pending != "" {
			pending = append(pending, key)
		}
	}
	st.PendingTotal = int32(len(pending))
	slices.SortFunc(pending, compareKeys)
	for _, key := range pending[:min(len(pending), MaxPendingListed)] {
		st.Pending = append(st.Pending, v1alpha1.PendingService{Namespace: key.Namespace, Name: key.Name, Reason: truncate(t.services[key].Pending, maxPendingReason)})
	}
	return st
}

// summaryChanged notifies when the summary differs from the last one
// notified. t.mu is held.
func (t *Tracker) summaryChanged() {
	st := t.summary()
	if sameSummary(st, t.last) {
		return
	}
	t.last = st
	if t.notifyPending {
		return
	}
	t.notifyPending = true
	time.AfterFunc(t.notifyDelay, func() {
		t.mu.Lock()
		t.notifyPending = false
		t.mu.Unlock()
		t.notify()
	})
}

// notify sends a ClusterNetworking event unless one is waiting already.
func (t *Tracker) notify() {
	cn := &v1alpha1.ClusterNetworking{}
	cn.Name = v1alpha1.SingletonName
	select {
	case t.changes <- event.GenericEvent{Object: client.Object(cn)}:
	default:
	}
}

// Complete reports whether the Tracker has a state for every Service that
// served lists (the LoadBalancer Services the cache holds). After the
// manager starts, the summary is partial until the Service reconciler has
// seen each Service once; reporting it would rewrite the ClusterNetworking
// status many times while the counts climb back. Once complete, a Tracker
// stays complete: from then on every change reaches it. A Tracker still
// incomplete warmUpLimit after the first question counts as complete, so
// that a Service whose reconcile keeps failing cannot hold back the status
// for good; a notification follows at that moment.
func (t *Tracker) Complete(served func() ([]types.NamespacedName, error)) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.complete {
		return true, nil
	}
	if t.warmUpStart.IsZero() {
		t.warmUpStart = time.Now()
		time.AfterFunc(t.warmUpLimit, t.notify)
	}
	if time.Since(t.warmUpStart) >= t.warmUpLimit {
		t.complete = true
		return true, nil
	}
	keys, err := served()
	if err != nil {
		return false, err
	}
	for _, k := range keys {
		if _, ok := t.services[k]; !ok {
			return false, nil
		}
	}
	t.complete = true
	return true, nil
}

// defaultWarmUpLimit bounds how long a partial summary is held back after
// a start.
const defaultWarmUpLimit = 30 * time.Second

// defaultNotifyDelay coalesces summary changes into one ClusterNetworking
// reconcile (and status write) per period: the summary is for people, and
// while 2,000 Services converge a shorter period costs a status write per
// period (docs/performance.md).
const defaultNotifyDelay = 5 * time.Second

func sameSummary(a, b v1alpha1.ServiceLBStatus) bool {
	return a.Services == b.Services && a.Ready == b.Ready && a.PendingTotal == b.PendingTotal && slices.Equal(a.Pending, b.Pending)
}
