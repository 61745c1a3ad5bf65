package servicelb

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// schedulerPortsMessage is what the scheduler says of a node on which a
// requested host port is taken.
const schedulerPortsMessage = "free ports"

// Actions of the UnAvailableLoadBalancer Events, one per kind of reason. The
// Events API folds Events with the same regarding object, reason and action
// into one series that keeps its first note, so each kind gets its own.
const (
	actionWaitForNode     = "WaitForNode"
	actionWaitForHostPort = "WaitForFreeHostPort"
	actionWaitForSchedule = "WaitForScheduling"
	actionFixService      = "FixService"
	actionApplyRefused    = "ApplyDaemonSet"
	actionCreatePods      = "CreatePods"
)

// pending is why a Service cannot get a node.
type pending struct {
	// action is the Event action for this kind of reason.
	action string
	// reason says why, for people; empty when the Service may get a node.
	reason string
	// failed is set when ServiceLB failed the Service (the API server
	// refused its DaemonSet, or the DaemonSet controller its pods), rather
	// than the Service waiting for a node or a port.
	failed bool
}

// pendingReason says why svc, which has no ingress, cannot get a node, or
// returns an empty reason when it may still get one (its pods are being
// scheduled or started). own are the pods of svc's DaemonSet; holders are
// the other svclb pods of the cluster, the only pods wharf watches: they
// tell which Services hold a port, while a host port taken by any other pod
// is known only from the scheduler's verdict on svc's pods.
func pendingReason(svc *corev1.Service, e eligibility, own []*svclbPod, holders []portHolder) pending {
	if len(e.nodes) == 0 {
		return pending{action: actionWaitForNode, reason: "no node is eligible: " + e.why}
	}
	if len(own) == 0 {
		return pending{}
	}
	var nodes []string
	ports := false
	message := ""
	for _, p := range own {
		c := p.Refused
		if c == nil || c.Reason != corev1.PodReasonUnschedulable {
			return pending{}
		}
		if p.Node != "" {
			nodes = append(nodes, p.Node)
		}
		ports = ports || strings.Contains(c.Message, schedulerPortsMessage)
		message = c.Message
	}
	slices.Sort(nodes)
	nodes = slices.Compact(nodes)
	if !ports {
		return pending{action: actionWaitForSchedule, reason: fmt.Sprintf(
			"the svclb pods cannot be scheduled on any eligible node (%s): %s", joinLimited(nodes, 5), message)}
	}
	return pending{action: actionWaitForHostPort, reason: portConflictReason(svc, nodes, holders)}
}

// portHolder is another Service's svclb pod: the node it runs on and the
// ports its Service binds there as host ports (a svclb pod binds each port
// of its Service; the pod index keeps no container of it).
type portHolder struct {
	node    string
	service types.NamespacedName
	ports   []corev1.ServicePort
}

// holds reports whether h binds port/proto on its node.
func (h portHolder) holds(port int32, proto corev1.Protocol) bool {
	for _, p := range h.ports {
		if p.Port == port && protocolOf(p.Protocol) == proto {
			return true
		}
	}
	return false
}

// portConflictReason names the Service ports taken on nodes and, when they
// are taken by other svclb pods, the Services that hold them.
func portConflictReason(svc *corev1.Service, nodes []string, others []portHolder) string {
	var taken, holders []string
	for _, p := range svc.Spec.Ports {
		proto := protocolOf(p.Protocol)
		for _, h := range others {
			if !slices.Contains(nodes, h.node) || !h.holds(p.Port, proto) {
				continue
			}
			taken = append(taken, portString(p.Port, proto))
			holders = append(holders, h.service.String())
		}
	}
	slices.Sort(taken)
	taken = slices.Compact(taken)
	slices.Sort(holders)
	holders = slices.Compact(holders)
	where := fmt.Sprintf("on every eligible node (%s)", joinLimited(nodes, 5))
	var b strings.Builder
	switch {
	case len(taken) == 1:
		fmt.Fprintf(&b, "port %s is already in use %s", taken[0], where)
	case len(taken) > 1:
		fmt.Fprintf(&b, "ports %s are already in use %s", strings.Join(taken, ", "), where)
	case len(svc.Spec.Ports) == 1:
		p := svc.Spec.Ports[0]
		fmt.Fprintf(&b, "port %s is already in use %s", portString(p.Port, protocolOf(p.Protocol)), where)
	default:
		fmt.Fprintf(&b, "one of the ports %s is already in use %s", strings.Join(allPorts(svc), ", "), where)
	}
	if len(holders) > 0 {
		fmt.Fprintf(&b, ", held by the svclb pods of %s", joinLimited(holders, 5))
	}
	return b.String()
}

func protocolOf(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

func portString(port int32, proto corev1.Protocol) string {
	return fmt.Sprintf("%d/%s", port, proto)
}

func allPorts(svc *corev1.Service) []string {
	out := make([]string, 0, len(svc.Spec.Ports))
	for _, p := range svc.Spec.Ports {
		out = append(out, portString(p.Port, protocolOf(p.Protocol)))
	}
	return out
}

// portConflicted reports whether every pod of own is unschedulable for want
// of a free host port: only then do the other svclb pods tell anything.
func portConflicted(own []*svclbPod) bool {
	if len(own) == 0 {
		return false
	}
	for _, p := range own {
		c := p.Refused
		if c == nil || c.Reason != corev1.PodReasonUnschedulable || !strings.Contains(c.Message, schedulerPortsMessage) {
			return false
		}
	}
	return true
}
