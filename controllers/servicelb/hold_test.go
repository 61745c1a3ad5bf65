package servicelb

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
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

// TestHeldPodEvents: while a Service's ingress is held, a pod turning Ready
// with another pod of the Service still starting reconciles the Service
// only when the hold ends; the last pod turning Ready, any other pod event
// and any pod of a Service not held reconcile it at once.
func TestHeldPodEvents(t *testing.T) {
	web := types.NamespacedName{Namespace: "default", Name: "web"}
	pod := func(name, nodeName string, ready bool) *svclbPod {
		p := svclbPodFixture()
		p.Name, p.Spec.NodeName = name, nodeName
		if !ready {
			p.Status.Conditions[0].Status = corev1.ConditionFalse
		}
		return podRecord(p)
	}
	for _, tc := range []struct {
		name      string
		held      bool
		others    []*svclbPod
		old, cur  *svclbPod
		wantLater bool
	}{
		{name: "held, another pod starting: when the hold ends", held: true,
			others: []*svclbPod{pod("b", "n2", false)}, old: pod("a", "n1", false), cur: pod("a", "n1", true), wantLater: true},
		{name: "held, the last pod turned Ready: at once", held: true,
			others: []*svclbPod{pod("b", "n2", true)}, old: pod("a", "n1", false), cur: pod("a", "n1", true)},
		{name: "not held: at once",
			others: []*svclbPod{pod("b", "n2", false)}, old: pod("a", "n1", false), cur: pod("a", "n1", true)},
		{name: "held, a pod lost Ready: at once", held: true,
			others: []*svclbPod{pod("b", "n2", false)}, old: pod("a", "n1", true), cur: pod("a", "n1", false)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Reconciler{Pods: newPodIndex(&toolscache.ListWatch{})}
			for _, p := range append(tc.others, tc.cur) {
				if err := r.Pods.informer.GetIndexer().Add(p); err != nil {
					t.Fatal(err)
				}
			}
			const hold = 300 * time.Millisecond
			if tc.held {
				r.holds.hold(web, time.Now(), time.Now().Add(hold))
			}
			q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
			defer q.ShutDown()
			r.podEvents().Update(context.Background(), event.UpdateEvent{ObjectOld: tc.old, ObjectNew: tc.cur}, q)
			if got, want := q.Len(), map[bool]int{false: 1, true: 0}[tc.wantLater]; got != want {
				t.Fatalf("Services queued at once = %d, want %d", got, want)
			}
			if !tc.wantLater {
				return
			}
			deadline := time.Now().Add(5 * time.Second)
			for q.Len() == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if q.Len() != 1 {
				t.Fatal("the Service was not queued when its hold ended")
			}
			if req, _ := q.Get(); req.NamespacedName != web {
				t.Errorf("queued %v, want %v", req.NamespacedName, web)
			}
		})
	}
}

// TestPodEventPriority: a svclb pod's change is queued before the rechecks
// ServiceLB schedules itself; only the pods listed at start come with them.
// A pod that can complete its Service's ingress is queued before the rest.
// The records carry no resource version, so controller-runtime's own
// handlers queued every pod event at the low priority of an unchanged one.
func TestPodEventPriority(t *testing.T) {
	r := &Reconciler{Pods: newPodIndex(&toolscache.ListWatch{})}
	bound := svclbPodFixture()
	bound.Status.Conditions[0].Status = corev1.ConditionFalse
	ready := svclbPodFixture()
	// withOther has another pod of the same DaemonSet starting.
	withOther := &Reconciler{Pods: newPodIndex(&toolscache.ListWatch{})}
	other := bound.DeepCopy()
	other.Name, other.Spec.NodeName = "svclb-web-1-other", "n2"
	for _, p := range []*corev1.Pod{other, ready} {
		if err := withOther.Pods.informer.GetIndexer().Add(podRecord(p)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		add  func(q workqueue.TypedRateLimitingInterface[reconcile.Request])
		want int
	}{
		{name: "turned Ready, no other pod starting: can complete the ingress", want: ingressPriority, add: func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			r.podEvents().Update(context.Background(), event.UpdateEvent{ObjectOld: podRecord(bound), ObjectNew: podRecord(ready)}, q)
		}},
		{name: "turned Ready, another pod starting", want: 0, add: func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			withOther.podEvents().Update(context.Background(), event.UpdateEvent{ObjectOld: podRecord(bound), ObjectNew: podRecord(ready)}, q)
		}},
		{name: "deleted", want: 0, add: func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			r.podEvents().Delete(context.Background(), event.DeleteEvent{Object: podRecord(ready)}, q)
		}},
		{name: "relabelled: the Service it left", want: 0, add: func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			moved := ready.DeepCopy()
			moved.Labels[SvcNameLabel] = "other"
			r.podEvents().Update(context.Background(), event.UpdateEvent{ObjectOld: podRecord(ready), ObjectNew: podRecord(moved)}, q)
		}},
		{name: "listed at start", want: handler.LowPriority, add: func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			r.podEvents().Create(context.Background(), event.CreateEvent{Object: podRecord(ready), IsInInitialList: true}, q)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := priorityqueue.New[reconcile.Request]("test")
			defer q.ShutDown()
			tc.add(q)
			req, priority, _ := q.GetWithPriority()
			if req.Name != "web" || priority != tc.want {
				t.Errorf("queued %v at priority %d, want web at %d", req.NamespacedName, priority, tc.want)
			}
			if tc.want > recheckPriority != (priority > recheckPriority) {
				t.Errorf("priority %d against the rechecks' %d", priority, recheckPriority)
			}
		})
	}
	if got := recheck(time.Second).Priority; got == nil || *got != recheckPriority {
		t.Errorf("a recheck's priority = %v, want %d", got, recheckPriority)
	}
}
