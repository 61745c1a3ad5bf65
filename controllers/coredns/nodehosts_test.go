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
