package coredns

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func node(name string, addrs ...corev1.NodeAddress) corev1.Node {
	return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Addresses: addrs}}
}

func internal(ip string) corev1.NodeAddress {
	return corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip}
}

func TestNodeHostsLines(t *testing.T) {
	nodes := []corev1.Node{
		node("master02", internal("10.0.0.52"), corev1.NodeAddress{Type: corev1.NodeHostName, Address: "master02"}),
		node("master01", internal("10.0.0.51"), internal("FD00:0:0::51"), corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: "203.0.113.1"}),
		node("worker", internal("not-an-ip")),
		node("dup", internal("10.0.0.60"), internal("10.0.0.60")),
		node("mapped", internal("::ffff:10.0.0.70")),
	}
	want := []string{"10.0.0.51 master01", "10.0.0.52 master02", "10.0.0.60 dup", "10.0.0.70 mapped", "fd00::51 master01"}
	if got := NodeHostsLines(nodes); !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got := nodeHostsFile(want[:2]); got != "10.0.0.51 master01\n10.0.0.52 master02\n" {
		t.Fatalf("file %q", got)
	}
	if got := nodeHostsFile(nil); got != "" {
		t.Fatalf("empty file %q", got)
	}
}

func TestNodeHostsLinesSortNumerically(t *testing.T) {
	nodes := []corev1.Node{
		node("worker100", internal("10.0.0.100"), internal("fd00::100")),
		node("worker9", internal("10.0.0.9"), internal("fd00::9")),
		node("worker20", internal("10.0.0.20")),
	}
	want := []string{"10.0.0.9 worker9", "10.0.0.20 worker20", "10.0.0.100 worker100", "fd00::9 worker9", "fd00::100 worker100"}
	if got := NodeHostsLines(nodes); !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestMergeNodeHosts(t *testing.T) {
	nodeLines := []string{"10.0.0.51 master01", "10.0.0.52 master02"}
	for _, tc := range []struct {
		name, current string
		written       []string
		want          []string
	}{
		{"fresh", "", nil, nodeLines},
		{
			name:    "k3d's line is kept, a deleted node's line goes",
			current: "10.0.0.51 master01\n172.18.0.1 host.k3d.internal\n10.0.0.53 master03\n10.0.0.52 master02\n",
			written: []string{"master01", "master02", "master03"},
			want:    []string{"10.0.0.51 master01", "10.0.0.52 master02", "172.18.0.1 host.k3d.internal"},
		},
		{
			name:    "a node's moved IP replaces its old line",
			current: "10.0.0.61 master01\n10.0.0.52 master02\n",
			written: []string{"master01", "master02"},
			want:    nodeLines,
		},
		{
			name:    "lines wharf never wrote stay, whatever their form",
			current: "# added by hand\n10.9.9.9 nas nas.home.arpa\n",
			want:    []string{"10.0.0.51 master01", "10.0.0.52 master02", "10.9.9.9 nas nas.home.arpa", "# added by hand"},
		},
	} {
		got, names := MergeNodeHosts(nodeLines, tc.current, tc.written)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
		if !slices.Equal(names, []string{"master01", "master02"}) {
			t.Errorf("%s: names %q", tc.name, names)
		}
	}
}
