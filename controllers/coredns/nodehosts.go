package coredns

import (
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// NodeHostsLines returns the NodeHosts lines of the Nodes as K3s writes
// them (k3s-io/k3s pkg/node/controller.go): "<ip> <node name>" for every
// InternalIP of every node, IPv4 and IPv6, without duplicates, sorted (see
// sortHostsLines). Addresses that are not IPs are skipped; IPs are written
// in their canonical form.
func NodeHostsLines(nodes []corev1.Node) []string {
	var lines []string
	for i := range nodes {
		lines = append(lines, nodeLines(&nodes[i])...)
	}
	sortHostsLines(lines)
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
	sortHostsLines(lines)
	return lines
}

// MergeNodeHosts returns the lines of the NodeHosts key and the node names
// they were written for. nodeLines are the Nodes' lines (NodeHostsLines);
// current is the key as it is in the cluster and written the node names
// wharf wrote it for last time. A line of current whose only name is a
// Node's or one of written is wharf's and gives way to nodeLines (so a
// deleted node's lines go); any other line was added by someone else, as
// k3d adds "host.k3d.internal", and is kept, as K3s keeps it.
func MergeNodeHosts(nodeLines []string, current string, written []string) (lines, names []string) {
	mine := map[string]bool{}
	for _, n := range written {
		mine[n] = true
	}
	for _, l := range nodeLines {
		if _, name, ok := strings.Cut(l, " "); ok {
			mine[name] = true
			names = append(names, name)
		}
	}
	lines = slices.Clone(nodeLines)
	for l := range strings.SplitSeq(current, "\n") {
		l = strings.TrimSpace(l)
		fields := strings.Fields(l)
		if l == "" || len(fields) == 2 && mine[fields[1]] {
			continue
		}
		lines = append(lines, l)
	}
	sortHostsLines(lines)
	slices.Sort(names)
	return slices.Compact(lines), slices.Compact(names)
}

// sortHostsLines sorts hosts lines by IP, numerically (IPv4 before IPv6),
// then by the names; lines that do not start with an IP (comments) go last,
// in their order.
func sortHostsLines(lines []string) {
	slices.SortStableFunc(lines, func(a, b string) int {
		ipA, restA := splitHostsLine(a)
		ipB, restB := splitHostsLine(b)
		switch {
		case ipA.IsValid() && !ipB.IsValid():
			return -1
		case !ipA.IsValid() && ipB.IsValid():
			return 1
		case !ipA.IsValid():
			return 0
		}
		if c := ipA.Compare(ipB); c != 0 {
			return c
		}
		return strings.Compare(restA, restB)
	})
}

func splitHostsLine(l string) (netip.Addr, string) {
	first, rest, _ := strings.Cut(l, " ")
	ip, err := netip.ParseAddr(first)
	if err != nil {
		return netip.Addr{}, l
	}
	return ip, rest
}

// nodeHostsFile joins lines into the content of the NodeHosts key.
func nodeHostsFile(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}
