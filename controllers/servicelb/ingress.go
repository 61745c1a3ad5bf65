package servicelb

import (
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// ingressIPs returns the load-balancer IPs of svc, as K3s computes them:
// the addresses of the nodes whose svclb pod is ready (with
// externalTrafficPolicy Local, only nodes in localNodes, which have a ready
// endpoint); their ExternalIPs if any of them has one, else their
// InternalIPs; sorted within each family, families in spec.ipFamilies order.
// localNodes is nil for Services without the Local policy.
func ingressIPs(svc *corev1.Service, pods []*svclbPod, nodes map[string]*corev1.Node, localNodes map[string]bool) []string {
	var external, internal []string
	for _, pod := range pods {
		if !pod.Bound || !podReady(pod) {
			continue
		}
		if localNodes != nil && !localNodes[pod.Node] {
			continue
		}
		node := nodes[pod.Node]
		if node == nil {
			continue
		}
		for _, a := range node.Status.Addresses {
			switch a.Type {
			case corev1.NodeExternalIP:
				external = append(external, a.Address)
			case corev1.NodeInternalIP:
				internal = append(internal, a.Address)
			}
		}
	}
	ips := internal
	if len(external) > 0 {
		ips = external
	}
	return byFamily(ips, svc.Spec.IPFamilies)
}

// byFamily keeps the IPs of families, deduplicated and sorted as strings
// (as K3s sorts them), IPv4 and IPv6 in the order of families.
func byFamily(ips []string, families []corev1.IPFamily) []string {
	var v4, v6 []string
	for _, s := range ips {
		ip, err := netip.ParseAddr(s)
		switch {
		case err != nil:
		case ip.Is4() || ip.Is4In6():
			v4 = append(v4, s)
		default:
			v6 = append(v6, s)
		}
	}
	slices.Sort(v4)
	slices.Sort(v6)
	var out []string
	for _, f := range families {
		switch f {
		case corev1.IPv4Protocol:
			out = append(out, slices.Compact(v4)...)
		case corev1.IPv6Protocol:
			out = append(out, slices.Compact(v6)...)
		}
	}
	return out
}

// localEndpointNodes returns the nodes with a ready pod endpoint in slices.
func localEndpointNodes(eps []discoveryv1.EndpointSlice) map[string]bool {
	nodes := map[string]bool{}
	for i := range eps {
		for _, ep := range eps[i].Endpoints {
			isPod := ep.TargetRef != nil && ep.TargetRef.Kind == "Pod"
			ready := ep.Conditions.Ready != nil && *ep.Conditions.Ready
			if isPod && ready && ep.NodeName != nil {
				nodes[*ep.NodeName] = true
			}
		}
	}
	return nodes
}

// podReady reports whether pod has the condition Ready=True and an IP and
// is not being deleted.
func podReady(pod *svclbPod) bool {
	return pod.Ready && pod.DeletionTimestamp.IsZero()
}

// sameIPs reports whether the Service's ingress lists exactly ips, in order.
func sameIPs(ingress []corev1.LoadBalancerIngress, ips []string) bool {
	if len(ingress) != len(ips) {
		return false
	}
	for i := range ingress {
		if ingress[i].IP != ips[i] || ingress[i].Hostname != "" {
			return false
		}
	}
	return true
}

func ingressStrings(ingress []corev1.LoadBalancerIngress) []string {
	out := make([]string, 0, len(ingress))
	for _, in := range ingress {
		if in.IP != "" {
			out = append(out, in.IP)
		} else {
			out = append(out, in.Hostname)
		}
	}
	return out
}
