package servicelb

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/wharf-dev/wharf/api/v1alpha1"
)

// Facts are the cluster facts a svclb DaemonSet depends on besides its
// Service and the ServiceLB spec.
type Facts struct {
	// EnableLBNodes is true when any node carries the enablelb label: then,
	// unless the spec has a nodeSelector, only nodes with enablelb=true serve.
	EnableLBNodes bool
}

// FactsFromNodes returns the facts nodes establish.
func FactsFromNodes(nodes []corev1.Node) Facts {
	for i := range nodes {
		if _, ok := nodes[i].Labels[EnableLBLabel]; ok {
			return Facts{EnableLBNodes: true}
		}
	}
	return Facts{}
}

// placement is where the pods of one svclb DaemonSet may run.
type placement struct {
	// nodeSelector holds enablelb=true (K3s rule) and the Service's lbpool.
	nodeSelector map[string]string
	// affinity is the spec's nodeSelector, turned into node affinity.
	affinity *metav1.LabelSelector
	// enableLB is set when the K3s enablelb rule restricts the nodes.
	enableLB bool
}

// placementFor returns where the svclb pods of svc may run: the spec's
// nodeSelector if set, else enablelb=true when any node has the label; only
// under that enablelb rule is a Service with the lbpool label narrowed to
// the nodes of that pool, as in K3s (newDaemonSet in k3s-io/k3s
// pkg/cloudprovider/servicelb.go).
func placementFor(svc *corev1.Service, spec *v1alpha1.ServiceLBSpec, facts Facts) placement {
	p := placement{nodeSelector: map[string]string{}}
	switch {
	case spec.NodeSelector != nil:
		p.affinity = spec.NodeSelector
	case facts.EnableLBNodes:
		p.nodeSelector[EnableLBLabel] = "true"
		p.enableLB = true
		if pool := svc.Labels[LBPoolLabel]; pool != "" {
			p.nodeSelector[LBPoolLabel] = pool
		}
	}
	return p
}

// selector returns the node label selector equivalent to the placement.
func (p placement) selector() (labels.Selector, error) {
	sel := labels.SelectorFromSet(p.nodeSelector)
	if p.affinity == nil {
		return sel, nil
	}
	aff, err := metav1.LabelSelectorAsSelector(p.affinity)
	if err != nil {
		return nil, fmt.Errorf("invalid serviceLB nodeSelector: %w", err)
	}
	reqs, _ := aff.Requirements()
	return sel.Add(reqs...), nil
}

// describe says which node labels the placement requires, for messages.
func (p placement) describe() string {
	sel, err := p.selector()
	if err != nil {
		return err.Error()
	}
	if sel.Empty() {
		return "any node"
	}
	return sel.String()
}

// nodeSelectorRequirements turns a LabelSelector into node selector
// requirements: matchLabels first, by key, then matchExpressions in order.
func nodeSelectorRequirements(sel *metav1.LabelSelector) []corev1.NodeSelectorRequirement {
	var reqs []corev1.NodeSelectorRequirement
	for _, k := range slices.Sorted(maps.Keys(sel.MatchLabels)) {
		reqs = append(reqs, corev1.NodeSelectorRequirement{Key: k, Operator: corev1.NodeSelectorOpIn, Values: []string{sel.MatchLabels[k]}})
	}
	for _, e := range sel.MatchExpressions {
		reqs = append(reqs, corev1.NodeSelectorRequirement{
			Key:      e.Key,
			Operator: corev1.NodeSelectorOperator(e.Operator),
			Values:   slices.Clone(e.Values),
		})
	}
	return reqs
}

// builtinTolerations are the tolerations every svclb pod has, as in K3s.
func builtinTolerations() []corev1.Toleration {
	return []corev1.Toleration{
		{Key: "node-role.kubernetes.io/master", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
		{Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
		{Key: "CriticalAddonsOnly", Operator: corev1.TolerationOpExists},
	}
}

// tolerations returns the svclb pods' tolerations: the built-in ones, then
// the spec's.
func tolerations(spec *v1alpha1.ServiceLBSpec) []corev1.Toleration {
	return append(builtinTolerations(), spec.Tolerations...)
}

// daemonSetTolerations are added to every DaemonSet pod by the DaemonSet
// controller; a node tainted only with these is still eligible.
var daemonSetTolerations = []corev1.Toleration{
	{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
	{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
	{Key: corev1.TaintNodeDiskPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	{Key: corev1.TaintNodeMemoryPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	{Key: corev1.TaintNodePIDPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	{Key: corev1.TaintNodeUnschedulable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
}

func joinLimited(items []string, limit int) string {
	if len(items) <= limit {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:limit], ", "), len(items)-limit)
}
