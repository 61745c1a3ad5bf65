package servicelb

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/wharf-dev/wharf/api/v1alpha1"
)

func TestTracker(t *testing.T) {
	tr := NewTracker()
	tr.notifyDelay = 100 * time.Millisecond
	// Notifications are coalesced over notifyDelay.
	notified := func() bool {
		select {
		case <-tr.Changes():
			return true
		case <-time.After(3 * tr.notifyDelay):
			return false
		}
	}
	a := types.NamespacedName{Namespace: "default", Name: "nginx"}
	b := types.NamespacedName{Namespace: "default", Name: "web2"}
	tr.Set(a, ServiceState{Ready: true})
	if !notified() {
		t.Fatal("no notification for a new service")
	}
	tr.Set(a, ServiceState{Ready: true})
	if notified() {
		t.Fatal("notification without a change")
	}
	tr.Set(b, ServiceState{Pending: "port 8888/TCP is already in use on every eligible node (master02)"})
	tr.Set(b, ServiceState{Pending: "port 8888/TCP is already in use on every eligible node (master02)"})
	if !notified() || notified() {
		t.Fatal("want exactly one coalesced notification")
	}
	sum := tr.Summary()
	if sum.Services != 2 || sum.Ready != 1 || len(sum.Pending) != 1 || sum.Pending[0].Name != "web2" {
		t.Fatalf("summary = %+v", sum)
	}
	want := "2 services served (1 with ingress), 1 pending: default/web2: port 8888/TCP is already in use on every eligible node (master02)"
	if got := summaryMessage(sum); got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	tr.Forget(a)
	tr.Forget(b)
	if !notified() || tr.Len() != 0 {
		t.Fatal("forgetting did not notify or did not forget")
	}
	if got := summaryMessage(v1alpha1.ServiceLBStatus{Services: 1, Ready: 1}); got != "1 service served (1 with ingress), 0 pending" {
		t.Errorf("message = %q", got)
	}
}

func TestTrackerComplete(t *testing.T) {
	a := types.NamespacedName{Namespace: "default", Name: "a"}
	b := types.NamespacedName{Namespace: "default", Name: "b"}
	c := types.NamespacedName{Namespace: "default", Name: "c"}
	served := []types.NamespacedName{a, b}
	list := func() ([]types.NamespacedName, error) { return served, nil }
	complete := func(tr *Tracker) bool {
		t.Helper()
		ok, err := tr.Complete(list)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}

	tr := NewTracker()
	if complete(tr) {
		t.Fatal("complete before any Service was seen")
	}
	tr.Set(a, ServiceState{Ready: true})
	if complete(tr) {
		t.Fatal("complete with b not seen yet")
	}
	tr.Set(b, ServiceState{})
	if !complete(tr) {
		t.Fatal("not complete with every served Service seen")
	}
	served = append(served, c)
	if !complete(tr) {
		t.Fatal("a complete Tracker became incomplete: a new Service reaches it on its own")
	}

	// A Service that never reaches the Tracker holds it back only for the
	// warm-up limit, and a notification marks the end of it.
	tr = NewTracker()
	tr.warmUpLimit = 200 * time.Millisecond
	if complete(tr) {
		t.Fatal("complete with nothing seen")
	}
	select {
	case <-tr.Changes():
	case <-time.After(2 * time.Second):
		t.Fatal("no notification at the end of the warm-up")
	}
	if !complete(tr) {
		t.Fatal("still incomplete after the warm-up limit")
	}
}

// TestTrackerPendingBounded: the status lists the first MaxPendingListed
// pending Services by namespace and name (the CRD refuses more) and counts
// them all; a long reason is cut.
func TestTrackerPendingBounded(t *testing.T) {
	tr := NewTracker()
	long := strings.Repeat("x", 5000)
	for i := range 120 {
		tr.Set(types.NamespacedName{Namespace: fmt.Sprintf("ns%03d", 119-i), Name: "svc"}, ServiceState{Pending: long})
	}
	tr.Set(types.NamespacedName{Namespace: "a", Name: "ready"}, ServiceState{Ready: true})
	sum := tr.Summary()
	if len(sum.Pending) != MaxPendingListed || sum.PendingTotal != 120 || sum.Services != 121 {
		t.Fatalf("listed %d, pendingTotal %d, services %d", len(sum.Pending), sum.PendingTotal, sum.Services)
	}
	for i, p := range sum.Pending {
		if want := fmt.Sprintf("ns%03d", i); p.Namespace != want {
			t.Fatalf("pending[%d] = %s, want %s (first by namespace and name)", i, p.Namespace, want)
		}
		if len(p.Reason) > maxPendingReason {
			t.Fatalf("reason of %d bytes", len(p.Reason))
		}
	}
	if msg := summaryMessage(sum); !strings.Contains(msg, "120 pending") || !strings.Contains(msg, "and 117 more") {
		t.Errorf("message %q", msg)
	}
}
