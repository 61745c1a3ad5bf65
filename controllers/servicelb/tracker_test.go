package servicelb

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/wharf-dev/wharf/api/v1alpha1"
)

func TestTracker(t *testing.T) {
	tr := NewTracker()
	// Notifications are coalesced over notifyDelay.
	notified := func() bool {
		select {
		case <-tr.Changes():
			return true
		case <-time.After(2 * notifyDelay):
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
