package servicelb

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func node(name string, addrs ...corev1.NodeAddress) corev1.Node {
	return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Addresses: addrs}}
}

func internal(ip string) corev1.NodeAddress {
	return corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip}
}

func external(ip string) corev1.NodeAddress {
	return corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: ip}
}

func readyPod(nodeName string) corev1.Pod {
	return corev1.Pod{
		Spec: corev1.PodSpec{NodeName: nodeName},
		Status: corev1.PodStatus{
			PodIP:      "10.42.0.9",
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		},
	}
}

func TestIngressIPs(t *testing.T) {
	seeds := []corev1.Node{node("master01", internal("10.0.0.51")), node("master02", internal("10.0.0.52"))}
	notReady := readyPod("master01")
	notReady.Status.Conditions[0].Status = corev1.ConditionFalse
	for _, tc := range []struct {
		name  string
		svc   *corev1.Service
		nodes []corev1.Node
		pods  []corev1.Pod
		local map[string]bool
		want  []string
	}{
		{name: "seeds", svc: nginxService(), nodes: seeds, pods: []corev1.Pod{readyPod("master02"), readyPod("master01")}, want: []string{"10.0.0.51", "10.0.0.52"}},
		{name: "only ready pods", svc: nginxService(), nodes: seeds, pods: []corev1.Pod{notReady, readyPod("master02")}, want: []string{"10.0.0.52"}},
		{name: "unscheduled pod", svc: nginxService(), nodes: seeds, pods: []corev1.Pod{readyPod("")}, want: nil},
		{
			name:  "external IPs win when any node has one",
			svc:   nginxService(),
			nodes: []corev1.Node{node("a", internal("10.0.0.51"), external("203.0.113.1")), node("b", internal("10.0.0.52"))},
			pods:  []corev1.Pod{readyPod("a"), readyPod("b")},
			want:  []string{"203.0.113.1"},
		},
		{
			name:  "dual-stack ordered by ipFamilies",
			svc:   withFamilies(nginxService(), corev1.IPv6Protocol, corev1.IPv4Protocol),
			nodes: []corev1.Node{node("a", internal("10.0.0.51"), internal("fd00::51")), node("b", internal("10.0.0.52"), internal("fd00::52"))},
			pods:  []corev1.Pod{readyPod("b"), readyPod("a")},
			want:  []string{"fd00::51", "fd00::52", "10.0.0.51", "10.0.0.52"},
		},
		{
			name:  "single-stack drops the other family",
			svc:   nginxService(),
			nodes: []corev1.Node{node("a", internal("10.0.0.51"), internal("fd00::51"))},
			pods:  []corev1.Pod{readyPod("a")},
			want:  []string{"10.0.0.51"},
		},
		{name: "local policy keeps nodes with endpoints", svc: localService(), nodes: seeds, pods: []corev1.Pod{readyPod("master01"), readyPod("master02")}, local: map[string]bool{"master01": true}, want: []string{"10.0.0.51"}},
		{name: "local policy without endpoints", svc: localService(), nodes: seeds, pods: []corev1.Pod{readyPod("master01")}, local: map[string]bool{}, want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ingressIPs(tc.svc, recs(tc.pods...), nodesByName(tc.nodes), tc.local)
			if !slices.Equal(got, tc.want) {
				t.Errorf("ingressIPs = %v, want %v", got, tc.want)
			}
		})
	}
}

func withFamilies(svc *corev1.Service, families ...corev1.IPFamily) *corev1.Service {
	svc.Spec.IPFamilies = families
	return svc
}

func TestLocalEndpointNodes(t *testing.T) {
	ep := func(node string, ready bool, kind string) discoveryv1.Endpoint {
		return discoveryv1.Endpoint{
			NodeName:   ptr.To(node),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ready)},
			TargetRef:  &corev1.ObjectReference{Kind: kind},
		}
	}
	got := localEndpointNodes([]discoveryv1.EndpointSlice{{Endpoints: []discoveryv1.Endpoint{
		ep("a", true, "Pod"), ep("b", false, "Pod"), ep("c", true, "Other"),
	}}})
	if len(got) != 1 || !got["a"] {
		t.Errorf("localEndpointNodes = %v, want only a", got)
	}
}

func TestSameIPs(t *testing.T) {
	in := []corev1.LoadBalancerIngress{{IP: "10.0.0.51", IPMode: ptr.To(corev1.LoadBalancerIPModeVIP)}}
	if !sameIPs(in, []string{"10.0.0.51"}) {
		t.Error("ipMode set by the API server must not count as a difference")
	}
	if sameIPs(in, nil) || sameIPs(nil, []string{"10.0.0.51"}) {
		t.Error("different lengths compare equal")
	}
}
