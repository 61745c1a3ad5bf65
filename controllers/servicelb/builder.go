package servicelb

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/internal/apply"
)

// BuildDaemonSet returns the svclb DaemonSet that serves svc: one pod per
// eligible node, one klipper-lb container per Service port binding the port
// on the host and forwarding to the Service. It is a pure function of its
// arguments. The owner reference is left to the caller.
func BuildDaemonSet(svc *corev1.Service, spec v1alpha1.ServiceLBSpec, facts Facts) (*appsv1ac.DaemonSetApplyConfiguration, error) {
	ranges, err := sourceRanges(svc)
	if err != nil {
		return nil, err
	}
	name := DaemonSetName(svc)
	place := placementFor(svc, &spec, facts)
	ds := appsv1ac.DaemonSet(name, spec.NamespaceOrDefault()).
		WithLabels(serviceLabels(svc)).
		WithLabels(map[string]string{
			NodeSelectorLabel:    strconv.FormatBool(place.enableLB),
			apply.ManagedByLabel: apply.ManagedByValue,
			apply.ComponentLabel: ComponentName,
		}).
		WithSpec(appsv1ac.DaemonSetSpec().
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{AppLabel: name})).
			WithTemplate(corev1ac.PodTemplateSpec().
				WithLabels(map[string]string{AppLabel: name}).
				WithLabels(serviceLabels(svc)).
				WithSpec(podSpec(svc, &spec, place, ranges))).
			WithUpdateStrategy(appsv1ac.DaemonSetUpdateStrategy().
				WithType("RollingUpdate").
				WithRollingUpdate(appsv1ac.RollingUpdateDaemonSet().WithMaxUnavailable(intstr.FromInt32(1)))))
	return ds, nil
}

// podSpec returns the svclb pod: ServiceAccount svclb without a token,
// forwarding sysctls per IP family, tolerations, placement and containers.
func podSpec(svc *corev1.Service, spec *v1alpha1.ServiceLBSpec, place placement, ranges string) *corev1ac.PodSpecApplyConfiguration {
	ps := corev1ac.PodSpec().
		WithPriorityClassName(priorityClassName(svc, spec)).
		WithServiceAccountName(ServiceAccountName).
		WithAutomountServiceAccountToken(false).
		WithSecurityContext(corev1ac.PodSecurityContext().WithSysctls(sysctls(svc)...))
	for _, t := range tolerations(spec) {
		ps.WithTolerations(toleration(t))
	}
	if len(place.nodeSelector) > 0 {
		ps.WithNodeSelector(place.nodeSelector)
	}
	if aff := nodeAffinity(place); aff != nil {
		ps.WithAffinity(corev1ac.Affinity().WithNodeAffinity(aff))
	}
	for _, port := range svc.Spec.Ports {
		ps.WithContainers(container(svc, spec, port, ranges))
	}
	return ps
}

func priorityClassName(svc *corev1.Service, spec *v1alpha1.ServiceLBSpec) string {
	if v, ok := svc.Annotations[PriorityClassAnnotation]; ok {
		return v
	}
	if spec.PriorityClassName != "" {
		return spec.PriorityClassName
	}
	return DefaultPriorityClassName
}

// sysctls enable IP forwarding for each of the Service's IP families.
func sysctls(svc *corev1.Service) []*corev1ac.SysctlApplyConfiguration {
	var out []*corev1ac.SysctlApplyConfiguration
	for _, family := range svc.Spec.IPFamilies {
		switch family {
		case corev1.IPv4Protocol:
			out = append(out, corev1ac.Sysctl().WithName("net.ipv4.ip_forward").WithValue("1"))
		case corev1.IPv6Protocol:
			out = append(out, corev1ac.Sysctl().WithName("net.ipv6.conf.all.forwarding").WithValue("1"))
		}
	}
	return out
}

func toleration(t corev1.Toleration) *corev1ac.TolerationApplyConfiguration {
	ac := corev1ac.Toleration()
	if t.Key != "" {
		ac.WithKey(t.Key)
	}
	if t.Operator != "" {
		ac.WithOperator(t.Operator)
	}
	if t.Value != "" {
		ac.WithValue(t.Value)
	}
	if t.Effect != "" {
		ac.WithEffect(t.Effect)
	}
	if t.TolerationSeconds != nil {
		ac.WithTolerationSeconds(*t.TolerationSeconds)
	}
	return ac
}

// nodeAffinity turns the spec's nodeSelector into required node affinity;
// nil when it selects every node.
func nodeAffinity(place placement) *corev1ac.NodeAffinityApplyConfiguration {
	if place.affinity == nil {
		return nil
	}
	reqs := nodeSelectorRequirements(place.affinity)
	if len(reqs) == 0 {
		return nil
	}
	term := corev1ac.NodeSelectorTerm()
	for _, r := range reqs {
		req := corev1ac.NodeSelectorRequirement().WithKey(r.Key).WithOperator(r.Operator)
		if len(r.Values) > 0 {
			req.WithValues(r.Values...)
		}
		term.WithMatchExpressions(req)
	}
	return corev1ac.NodeAffinity().WithRequiredDuringSchedulingIgnoredDuringExecution(
		corev1ac.NodeSelector().WithNodeSelectorTerms(term))
}
