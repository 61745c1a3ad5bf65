package servicelb

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func labelled(n corev1.Node, labels map[string]string) corev1.Node {
	n.Labels = labels
	return n
}

func TestEligibleNodes(t *testing.T) {
	spec := defaultSpec()
	m1 := node("master01", internal("10.0.0.51"))
	m2 := labelled(node("master02", internal("10.0.0.52")), map[string]string{EnableLBLabel: "true"})
	tainted := node("tainted", internal("10.0.0.53"))
	tainted.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}}
	cp := node("cp", internal("10.0.0.54"))
	cp.Spec.Taints = []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}}

	t.Run("every node without enablelb labels", func(t *testing.T) {
		nodes := []corev1.Node{m1, node("master02", internal("10.0.0.52"))}
		e := eligibleNodes(nodes, placementFor(nginxService(), &spec, FactsFromNodes(nodes)), tolerations(&spec))
		if strings.Join(e.nodes, ",") != "master01,master02" {
			t.Errorf("eligible = %v", e.nodes)
		}
	})
	t.Run("enablelb nodes only", func(t *testing.T) {
		nodes := []corev1.Node{m1, m2}
		e := eligibleNodes(nodes, placementFor(nginxService(), &spec, FactsFromNodes(nodes)), tolerations(&spec))
		if strings.Join(e.nodes, ",") != "master02" {
			t.Errorf("eligible = %v", e.nodes)
		}
	})
	t.Run("enablelb=false everywhere", func(t *testing.T) {
		nodes := []corev1.Node{labelled(m1, map[string]string{EnableLBLabel: "false"})}
		e := eligibleNodes(nodes, placementFor(nginxService(), &spec, FactsFromNodes(nodes)), tolerations(&spec))
		if len(e.nodes) != 0 || e.why != "no node has svccontroller.k3s.cattle.io/enablelb=true" {
			t.Errorf("eligibility = %+v", e)
		}
	})
	t.Run("taints", func(t *testing.T) {
		nodes := []corev1.Node{tainted, cp}
		e := eligibleNodes(nodes, placementFor(nginxService(), &spec, FactsFromNodes(nodes)), tolerations(&spec))
		if strings.Join(e.nodes, ",") != "cp" {
			t.Errorf("eligible = %v, want cp (control-plane taint tolerated)", e.nodes)
		}
		e = eligibleNodes([]corev1.Node{tainted}, placementFor(nginxService(), &spec, Facts{}), tolerations(&spec))
		if len(e.nodes) != 0 || !strings.Contains(e.why, "tainted (dedicated=db:NoSchedule)") {
			t.Errorf("eligibility = %+v", e)
		}
	})
	t.Run("spec nodeSelector wins over enablelb", func(t *testing.T) {
		s := defaultSpec()
		s.NodeSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/hostname": "master01"}}
		nodes := []corev1.Node{labelled(m1, map[string]string{"kubernetes.io/hostname": "master01"}), m2}
		e := eligibleNodes(nodes, placementFor(nginxService(), &s, FactsFromNodes(nodes)), tolerations(&s))
		if strings.Join(e.nodes, ",") != "master01" {
			t.Errorf("eligible = %v", e.nodes)
		}
	})
	t.Run("lbpool narrows nothing without the enablelb rule", func(t *testing.T) {
		nodes := []corev1.Node{m1, node("master02", internal("10.0.0.52"))}
		e := eligibleNodes(nodes, placementFor(lbpoolService(), &spec, FactsFromNodes(nodes)), tolerations(&spec))
		if strings.Join(e.nodes, ",") != "master01,master02" {
			t.Errorf("eligible = %v, want both: K3s applies lbpool only with enablelb", e.nodes)
		}
	})
	t.Run("lbpool", func(t *testing.T) {
		nodes := []corev1.Node{m1, m2}
		e := eligibleNodes(nodes, placementFor(lbpoolService(), &spec, FactsFromNodes(nodes)), tolerations(&spec))
		if len(e.nodes) != 0 || !strings.Contains(e.why, "svccontroller.k3s.cattle.io/lbpool=pool1") {
			t.Errorf("eligibility = %+v", e)
		}
	})
}

func unschedulable(nodeName, message string) corev1.Pod {
	return corev1.Pod{
		Spec: corev1.PodSpec{Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{nodeName}}},
			}}},
		}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
			Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: message,
		}}},
	}
}

const portsMessage = "0/2 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, 1 node(s) didn't match Pod's node affinity/selector."

func holder(nodeName string, port int32) portHolder {
	return portHolder{node: nodeName, service: types.NamespacedName{Namespace: "default", Name: "nginx"},
		ports: []corev1.ServicePort{{Port: port, Protocol: corev1.ProtocolTCP}}}
}

func TestPendingReason(t *testing.T) {
	web2 := nginxService()
	web2.Name = "web2"
	eligible := eligibility{nodes: []string{"master02"}}
	for _, tc := range []struct {
		name   string
		svc    *corev1.Service
		e      eligibility
		own    []corev1.Pod
		others []portHolder
		want   string
	}{
		{name: "no eligible node", svc: web2, e: eligibility{why: "no node has svccontroller.k3s.cattle.io/enablelb=true"},
			want: "no node is eligible: no node has svccontroller.k3s.cattle.io/enablelb=true"},
		{name: "no pods yet", svc: web2, e: eligible, want: ""},
		{name: "being scheduled", svc: web2, e: eligible, own: []corev1.Pod{{}}, want: ""},
		{name: "port held by another svclb", svc: web2, e: eligible,
			own: []corev1.Pod{unschedulable("master02", portsMessage)}, others: []portHolder{holder("master02", 8888)},
			want: "port 8888/TCP is already in use on every eligible node (master02), held by the svclb pods of default/nginx"},
		{name: "port held by a pod wharf does not cache", svc: web2, e: eligible,
			own:  []corev1.Pod{unschedulable("master02", portsMessage)},
			want: "port 8888/TCP is already in use on every eligible node (master02)"},
		{name: "one node still free", svc: web2, e: eligibility{nodes: []string{"a", "b"}},
			own: []corev1.Pod{unschedulable("a", portsMessage), readyPod("b")}, want: ""},
		{name: "multi-port, unknown holder", svc: dualStackService(), e: eligibility{nodes: []string{"a", "b"}},
			own:  []corev1.Pod{unschedulable("b", portsMessage), unschedulable("a", portsMessage)},
			want: "one of the ports 80/TCP, 53/UDP is already in use on every eligible node (a, b)"},
		{name: "other scheduling failure", svc: web2, e: eligible,
			own:  []corev1.Pod{unschedulable("master02", "0/1 nodes are available: 1 Insufficient cpu.")},
			want: "the svclb pods cannot be scheduled on any eligible node (master02): 0/1 nodes are available: 1 Insufficient cpu."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pendingReason(tc.svc, tc.e, recs(tc.own...), tc.others).reason; got != tc.want {
				t.Errorf("pendingReason =\n  %q\nwant\n  %q", got, tc.want)
			}
		})
	}
}

func TestPodsToCome(t *testing.T) {
	scheduled := corev1.Pod{Spec: corev1.PodSpec{NodeName: "master01"}}
	unscheduled := corev1.Pod{Spec: corev1.PodSpec{Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"master02"}}},
		}}},
	}}}}
	e := eligibility{nodes: []string{"master01", "master02", "master03"}}
	if got := podsToCome(e, recs(scheduled, unscheduled)); got != 1 {
		t.Errorf("podsToCome = %d, want 1 (master03 has no pod yet)", got)
	}
	if got := podsToCome(e, nil); got != 3 {
		t.Errorf("podsToCome without pods = %d, want 3", got)
	}
}

// TestBehindRecheck: a DaemonSet the DaemonSet controller has not looked at
// is looked at again sooner while it is young, at most podsBehindRecheck
// apart, and not at all after podsWatch: half the reads of a look every
// podsDeadline.
func TestBehindRecheck(t *testing.T) {
	looks := 0
	for age := podsDeadline; age < podsWatch; age += behindRecheck(age) {
		looks++
		if d := behindRecheck(age); d < podsDeadline || d > podsBehindRecheck {
			t.Fatalf("at %v the next look is %v away", age, d)
		}
	}
	if every := int(podsWatch / podsDeadline); looks > every/2+1 {
		t.Errorf("%d looks within %v, want at most %d", looks, podsWatch, every/2+1)
	}
	if d := behindRecheck(podsWatch); d != 0 {
		t.Errorf("after %v the next look is %v away, want none", podsWatch, d)
	}
}
