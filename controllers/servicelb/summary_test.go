package servicelb

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/wharf-dev/wharf/api/v1alpha1"
)

func lbService(ns, name string, ips []string, cond *metav1.Condition) corev1.Service {
	svc := corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}}
	for _, ip := range ips {
		svc.Status.LoadBalancer.Ingress = append(svc.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: ip})
	}
	if cond != nil {
		svc.Status.Conditions = []metav1.Condition{*cond}
	}
	return svc
}

// TestSummarize: the summary counts the Services ServiceLB serves, those
// with an ingress, and lists those whose condition says why they cannot
// get a node; Services of another class, not LoadBalancer, or being
// deleted do not count.
func TestSummarize(t *testing.T) {
	spec := &v1alpha1.ServiceLBSpec{}
	pending := "port 8888/TCP is already in use on every eligible node (master02)"
	deleting := lbService("default", "going", nil, nil)
	deleting.DeletionTimestamp = ptr.To(metav1.Now())
	other := lbService("default", "metallb", nil, nil)
	other.Spec.LoadBalancerClass = ptr.To("metallb.io/metallb")
	clusterIP := lbService("default", "plain", nil, nil)
	clusterIP.Spec.Type = corev1.ServiceTypeClusterIP
	services := []corev1.Service{
		lbService("default", "nginx", []string{"10.0.0.51"}, desiredCondition([]string{"10.0.0.51"}, pending0, false)),
		lbService("default", "web2", nil, desiredCondition(nil, pendingOf(pending), false)),
		lbService("default", "starting", nil, nil),
		lbService("default", "down", nil, desiredCondition(nil, pending0, true)),
		deleting, other, clusterIP,
	}
	sum := Summarize(services, spec)
	if s := sum.Status; s.Services != 4 || s.Ready != 1 || s.PendingTotal != 1 || len(s.Pending) != 1 || s.Pending[0].Name != "web2" || s.Pending[0].Reason != pending {
		t.Fatalf("summary = %+v", s)
	}
	want := "4 services served (1 with ingress), 1 pending: default/web2: " + pending
	if got := summaryMessage(sum.Status); got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	if sum.Failing != 0 {
		t.Errorf("failing = %d, want 0", sum.Failing)
	}
	if got := summaryMessage(v1alpha1.ServiceLBStatus{Services: 1, Ready: 1}); got != "1 service served (1 with ingress), 0 pending" {
		t.Errorf("message = %q", got)
	}

	failed := pending0
	failed.reason, failed.failed = "the API server refused the svclb DaemonSet kube-system/svclb-b: forbidden", true
	sum = Summarize([]corev1.Service{
		lbService("ns2", "a", nil, desiredCondition(nil, failed, false)),
		lbService("ns1", "b", nil, desiredCondition(nil, failed, false)),
	}, spec)
	if sum.Failing != 2 || !strings.HasPrefix(sum.FirstFailing, "ns1/b: the API server refused") {
		t.Errorf("failing %d, first %q", sum.Failing, sum.FirstFailing)
	}
}

var pending0 pending

func pendingOf(reason string) pending { return pending{action: actionPolicy, reason: reason} }

// TestSummarizePendingBounded: the status lists the first
// MaxPendingListed pending Services by namespace and name (the CRD refuses
// more) and counts them all; a long reason is cut.
func TestSummarizePendingBounded(t *testing.T) {
	long := strings.Repeat("x", 5000)
	var services []corev1.Service
	for i := range 120 {
		services = append(services, lbService(fmt.Sprintf("ns%03d", 119-i), "svc", nil, desiredCondition(nil, pendingOf(long), false)))
	}
	services = append(services, lbService("a", "ready", []string{"10.0.0.1"}, nil))
	sum := Summarize(services, &v1alpha1.ServiceLBSpec{}).Status
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

// TestSummaryMoved: only changes that can move the summary bring the
// ClusterNetworking back.
func TestSummaryMoved(t *testing.T) {
	base := lbService("default", "nginx", nil, nil)
	withIP := lbService("default", "nginx", []string{"10.0.0.1"}, desiredCondition([]string{"10.0.0.1"}, pending0, false))
	moreIPs := lbService("default", "nginx", []string{"10.0.0.1", "10.0.0.2"}, desiredCondition([]string{"10.0.0.1", "10.0.0.2"}, pending0, false))
	relabelled := withIP
	relabelled.Labels = map[string]string{"team": "a"}
	pendingNow := lbService("default", "nginx", nil, desiredCondition(nil, pendingOf("no node"), false))
	for _, tc := range []struct {
		name     string
		old, new corev1.Service
		want     bool
	}{
		{"first ingress", base, withIP, true},
		{"one more IP, same condition", withIP, moreIPs, false},
		{"a label", withIP, relabelled, false},
		{"pending", base, pendingNow, true},
	} {
		if got := summaryMoved(&tc.old, &tc.new); got != tc.want {
			t.Errorf("%s: summaryMoved = %v, want %v", tc.name, got, tc.want)
		}
	}
}
