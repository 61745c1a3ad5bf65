package servicelb

import (
	"fmt"
	"slices"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// eligibility is which nodes may run the svclb pods of one Service.
type eligibility struct {
	// nodes are the eligible nodes' names, sorted.
	nodes []string
	// why explains, when nodes is empty, why no node is eligible.
	why string
}

// eligibleNodes returns the nodes that match p and whose taints the svclb
// pods tolerate, as the DaemonSet controller decides where to put pods.
func eligibleNodes(nodes []corev1.Node, p placement, tols []corev1.Toleration) eligibility {
	sel, err := p.selector()
	if err != nil {
		return eligibility{why: err.Error()}
	}
	all := append(slices.Clone(tols), daemonSetTolerations...)
	var e eligibility
	var tainted []string
	for i := range nodes {
		n := &nodes[i]
		if !n.DeletionTimestamp.IsZero() || !sel.Matches(labels.Set(n.Labels)) {
			continue
		}
		if taint := untolerated(n.Spec.Taints, all); taint != nil {
			tainted = append(tainted, fmt.Sprintf("%s (%s)", n.Name, taint.ToString()))
			continue
		}
		e.nodes = append(e.nodes, n.Name)
	}
	slices.Sort(e.nodes)
	switch {
	case len(e.nodes) > 0:
	case len(nodes) == 0:
		e.why = "the cluster has no nodes"
	case len(tainted) == 0:
		e.why = "no node has " + p.describe()
	default:
		slices.Sort(tainted)
		e.why = "the svclb pods do not tolerate the taints of " + joinLimited(tainted, 5)
	}
	return e
}

// untolerated returns the first NoSchedule or NoExecute taint none of tols
// tolerates.
func untolerated(taints []corev1.Taint, tols []corev1.Toleration) *corev1.Taint {
	for i := range taints {
		t := &taints[i]
		if t.Effect == corev1.TaintEffectPreferNoSchedule {
			continue
		}
		if !slices.ContainsFunc(tols, func(tol corev1.Toleration) bool {
			return tol.ToleratesTaint(logr.Discard(), t, false)
		}) {
			return t
		}
	}
	return nil
}
