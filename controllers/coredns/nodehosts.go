package coredns

import (
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// NodeHostsLines returns the NodeHosts file of the coredns ConfigMap as
// lines: "<ip> <node name>" for every InternalIP of every node, IPv4 and
// IPv6, sorted and without duplicates. Addresses that are not IPs are
// skipped; IPs are written in their canonical form.
func NodeHostsLines(nodes []corev1.Node) []string {
	var lines []string
	for i := range nodes {
		lines = append(lines, nodeLines(&nodes[i])...)
	}
	slices.Sort(lines)
	return slices.Compact(lines)
}

// nodeLines returns the NodeHosts lines of one node, sorted.
func nodeLines(node *corev1.Node) []string {
	var lines []string
	for _, a := range node.Status.Addresses {
		if a.Type != corev1.NodeInternalIP {
			continue
		}
		ip, err := netip.ParseAddr(strings.TrimSpace(a.Address))
		if err != nil {
			continue
		}
		lines = append(lines, ip.Unmap().String()+" "+node.Name)
	}
	slices.Sort(lines)
	return lines
}

// nodeHostsFile joins lines into the content of the NodeHosts key.
func nodeHostsFile(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}
