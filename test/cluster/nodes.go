package cluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// nodeCapacity is what every fake node offers: room for thousands of pods.
var nodeCapacity = corev1.ResourceList{
	corev1.ResourceCPU:              resource.MustParse("1000"),
	corev1.ResourceMemory:           resource.MustParse("1Ti"),
	corev1.ResourcePods:             resource.MustParse("10000"),
	corev1.ResourceEphemeralStorage: resource.MustParse("1Ti"),
}

// AddNode creates a Node run by kwok, with the given addresses, labels and
// taints and a pod CIDR of its own (a /24 of PodCIDR), and waits until it is
// Ready and has lost the not-ready taint new nodes get.
func (c *Cluster) AddNode(ctx context.Context, n Node) error {
	if err := n.validate(); err != nil {
		return err
	}
	octet, err := c.reservePodCIDR(n.Name)
	if err != nil {
		return err
	}
	node := c.nodeObject(n, octet)
	created, err := c.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		c.releasePodCIDR(n.Name)
		return fmt.Errorf("create node %s: %w", n.Name, err)
	}
	// A kubelet registers its node with status; should the API server ever
	// drop it on create, set it explicitly.
	if len(created.Status.Addresses) == 0 {
		created.Status = node.Status
		if _, err := c.client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("set status of node %s: %w", n.Name, err)
		}
	}
	return waitFor(ctx, c.opts.Timeout, "node "+n.Name+" to be Ready", []*process{c.apiserver, c.controllerManager, c.kwok}, func(ctx context.Context) error {
		got, err := c.client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		return nodeUsable(got)
	})
}

// DeleteNode deletes a node and, as the end of its kubelet would, the pods
// bound to it (at once, without grace period), then waits until the Node is
// gone.
func (c *Cluster) DeleteNode(ctx context.Context, name string) error {
	pods, err := c.client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("spec.nodeName", name).String(),
	})
	if err != nil {
		return fmt.Errorf("list pods of node %s: %w", name, err)
	}
	if err := c.client.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		return fmt.Errorf("delete node %s: %w", name, err)
	}
	now := int64(0)
	for _, pod := range pods.Items {
		err := c.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: &now})
		if ignoreNotFound(err) != nil {
			return fmt.Errorf("delete pod %s/%s of node %s: %w", pod.Namespace, pod.Name, name, err)
		}
	}
	c.releasePodCIDR(name)
	return waitFor(ctx, c.opts.Timeout, "node "+name+" to be deleted", []*process{c.apiserver}, func(ctx context.Context) error {
		_, err := c.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			return errors.New("node still exists")
		}
		return ignoreNotFound(err)
	})
}

func (n Node) validate() error {
	if n.Name == "" {
		return errors.New("node name is empty")
	}
	ip, err := netip.ParseAddr(n.InternalIP)
	if err != nil {
		return fmt.Errorf("node %s: internal IP: %w", n.Name, err)
	}
	if n.InternalIPv6 != "" {
		v6, err := netip.ParseAddr(n.InternalIPv6)
		if err != nil {
			return fmt.Errorf("node %s: internal IPv6: %w", n.Name, err)
		}
		if !v6.Is6() || v6.Is4In6() || ip.Is6() {
			return fmt.Errorf("node %s: InternalIPv6 %s must be IPv6 and InternalIP %s IPv4", n.Name, n.InternalIPv6, n.InternalIP)
		}
	}
	if n.ExternalIP != "" {
		if _, err := netip.ParseAddr(n.ExternalIP); err != nil {
			return fmt.Errorf("node %s: external IP: %w", n.Name, err)
		}
	}
	return nil
}

// nodeObject builds the Node the way a kubelet registers it.
func (c *Cluster) nodeObject(n Node, podCIDROctet int) *corev1.Node {
	labels := map[string]string{
		corev1.LabelHostname:   n.Name,
		corev1.LabelOSStable:   "linux",
		corev1.LabelArchStable: "amd64",
	}
	maps.Copy(labels, n.Labels)
	addresses := []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: n.InternalIP}}
	if n.InternalIPv6 != "" {
		addresses = append(addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: n.InternalIPv6})
	}
	if n.ExternalIP != "" {
		addresses = append(addresses, corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: n.ExternalIP})
	}
	addresses = append(addresses, corev1.NodeAddress{Type: corev1.NodeHostName, Address: n.Name})
	podCIDR := fmt.Sprintf("10.42.%d.0/24", podCIDROctet)
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        n.Name,
			Labels:      labels,
			Annotations: map[string]string{KwokNodeAnnotation: "fake"},
		},
		Spec: corev1.NodeSpec{
			PodCIDR:  podCIDR,
			PodCIDRs: []string{podCIDR},
			Taints:   n.Taints,
		},
		Status: corev1.NodeStatus{
			Addresses:   addresses,
			Capacity:    nodeCapacity.DeepCopy(),
			Allocatable: nodeCapacity.DeepCopy(),
			NodeInfo: corev1.NodeSystemInfo{
				KubeletVersion:          c.version,
				ContainerRuntimeVersion: "kwok://fake",
				KernelVersion:           "kwok",
				OSImage:                 "kwok fake node",
				OperatingSystem:         "linux",
				Architecture:            "amd64",
			},
		},
	}
}

// nodeUsable succeeds when the node is Ready and carries none of the
// taints the node lifecycle controller puts on nodes that are not.
func nodeUsable(node *corev1.Node) error {
	ready := false
	for _, cond := range node.Status.Conditions {
		if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
			ready = true
		}
	}
	if !ready {
		return errors.New("node is not Ready")
	}
	for _, t := range node.Spec.Taints {
		if t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable {
			return fmt.Errorf("node still has taint %s", t.ToString())
		}
	}
	return nil
}

// reservePodCIDR picks the lowest free third octet for a node's pod /24.
func (c *Cluster) reservePodCIDR(name string) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.nodeCIDRs[name]; ok {
		return 0, fmt.Errorf("node %s was already added", name)
	}
	used := map[int]bool{}
	for _, o := range c.nodeCIDRs {
		used[o] = true
	}
	for o := range 256 {
		if !used[o] {
			c.nodeCIDRs[name] = o
			return o, nil
		}
	}
	return 0, errors.New("no pod CIDR left: at most 256 nodes")
}

func (c *Cluster) releasePodCIDR(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.nodeCIDRs, name)
}
