package servicelb

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"
)

func ingressOf(ips ...string) []corev1.LoadBalancerIngress {
	var out []corev1.LoadBalancerIngress
	for _, ip := range ips {
		out = append(out, corev1.LoadBalancerIngress{IP: ip})
	}
	return out
}

// TestPartialHold: a Service gets its first IPs within holdFirstFor and at
// most one more ingress write while its other pods start; a node that
// leaves for good is written at once, one whose pod is only replaced is not.
func TestPartialHold(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	coming := func(ips ...string) map[string]bool {
		m := map[string]bool{}
		for _, ip := range ips {
			m[ip] = true
		}
		return m
	}
	for _, tc := range []struct {
		name    string
		current []corev1.LoadBalancerIngress
		obs     observation
		since   time.Time
		now     time.Time
		want    time.Duration
	}{
		{name: "first node of a new Service: held briefly for the pods starting with it", obs: observation{ips: []string{"10.0.0.1"}, starting: 49}, now: t0, want: holdFirstFor},
		{name: "first node held long enough: written", obs: observation{ips: []string{"10.0.0.1"}, starting: 49}, since: t0, now: t0.Add(holdFirstFor)},
		{name: "first nodes with none starting: at once", obs: observation{ips: []string{"10.0.0.1", "10.0.0.2"}}, now: t0},
		{name: "more nodes while others start: held", current: ingressOf("10.0.0.1"),
			obs: observation{ips: []string{"10.0.0.1", "10.0.0.2"}, starting: 48, coming: coming("10.0.0.3")}, now: t0, want: holdPartialFor},
		{name: "still held later", current: ingressOf("10.0.0.1"),
			obs:   observation{ips: []string{"10.0.0.1", "10.0.0.2"}, starting: 1, coming: coming("10.0.0.3")},
			since: t0, now: t0.Add(10 * time.Second), want: holdPartialFor - 10*time.Second},
		{name: "held long enough: written", current: ingressOf("10.0.0.1"),
			obs:   observation{ips: []string{"10.0.0.1", "10.0.0.2"}, starting: 1, coming: coming("10.0.0.3")},
			since: t0, now: t0.Add(holdPartialFor)},
		{name: "the rest arrived: at once", current: ingressOf("10.0.0.1"),
			obs: observation{ips: []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}}, since: t0, now: t0.Add(time.Second)},
		{name: "a node left for good: at once", current: ingressOf("10.0.0.1", "10.0.0.2"),
			obs: observation{ips: []string{"10.0.0.1", "10.0.0.3"}, starting: 5, coming: coming("10.0.0.4")}, now: t0},
		{name: "a node's pod is replaced: held", current: ingressOf("10.0.0.1", "10.0.0.2"),
			obs: observation{ips: []string{"10.0.0.1"}, starting: 1, coming: coming("10.0.0.2")}, now: t0, want: holdPartialFor},
		{name: "the only node's pod is replaced: held, never empty", current: ingressOf("10.0.0.1"),
			obs: observation{starting: 1, coming: coming("10.0.0.1")}, now: t0, want: holdPartialFor},
		{name: "the only node's pod is gone for good: emptied at once", current: ingressOf("10.0.0.1"),
			obs: observation{}, now: t0},
		{name: "unchanged", current: ingressOf("10.0.0.1"), obs: observation{ips: []string{"10.0.0.1"}, starting: 3}, now: t0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := partialHold(tc.current, tc.obs, tc.since, tc.now); got != tc.want {
				t.Errorf("partialHold = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestComingNodes(t *testing.T) {
	deleting := readyPod("b")
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	starting := corev1.Pod{Spec: corev1.PodSpec{NodeName: "c"}}
	refused := unschedulable("d", portsMessage)
	e := eligibility{nodes: []string{"a", "b", "c", "d", "e"}}
	got := comingNodes(e, recs(readyPod("a"), deleting, starting, refused))
	// a is Ready, d refused by the scheduler; b is being replaced, c
	// starting, e has no pod yet.
	if want := []string{"b", "c", "e"}; !slices.Equal(got, want) {
		t.Errorf("comingNodes = %v, want %v", got, want)
	}
}

// TestPodChanged: of a svclb pod's life as kwok or a kubelet writes it
// (created, bound, Ready), only turning Ready reconciles the Service; a
// scheduler's refusal, losing Ready and deletion do too.
func TestPodChanged(t *testing.T) {
	p := podChanged()
	created := unschedulable("a", "")
	created.Status.Conditions = nil
	bound := corev1.Pod{Spec: corev1.PodSpec{NodeName: "a"}, Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}}}}
	ready := readyPod("a")
	refused := unschedulable("a", portsMessage)
	deleting := ready.DeepCopy()
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	for _, tc := range []struct {
		name     string
		old, cur *corev1.Pod
		want     bool
	}{
		{name: "bound to its node", old: &created, cur: &bound, want: false},
		{name: "turned Ready", old: &bound, cur: &ready, want: true},
		{name: "lost Ready", old: &ready, cur: &bound, want: true},
		{name: "refused by the scheduler", old: &created, cur: &refused, want: true},
		{name: "being deleted", old: &ready, cur: deleting, want: true},
		{name: "resync", old: &ready, cur: &ready, want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.Update(event.UpdateEvent{ObjectOld: podRecord(tc.old), ObjectNew: podRecord(tc.cur)}); got != tc.want {
				t.Errorf("update passes = %v, want %v", got, tc.want)
			}
		})
	}
	if p.Create(event.CreateEvent{Object: podRecord(&created)}) {
		t.Error("a pod just created reconciles its Service")
	}
	if !p.Create(event.CreateEvent{Object: podRecord(&ready)}) || !p.Delete(event.DeleteEvent{Object: podRecord(&ready)}) {
		t.Error("a Ready pod seen first (a relist) or a deleted pod does not reconcile its Service")
	}
}
