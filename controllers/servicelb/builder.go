package servicelb

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/internal/apply"
)

// Cluster holds what svclb DaemonSets take from the ClusterNetworking
// besides spec.serviceLB.
type Cluster struct {
	// SystemDefaultRegistry replaces the registry host of the default
	// klipper-lb image.
	SystemDefaultRegistry string
	// ImagePullSecrets go on every svclb pod.
	ImagePullSecrets []corev1.LocalObjectReference
}

// ClusterOf returns the Cluster settings of cn.
func ClusterOf(cn *v1alpha1.ClusterNetworking) Cluster {
	return Cluster{SystemDefaultRegistry: cn.Spec.SystemDefaultRegistry, ImagePullSecrets: slices.Clone(cn.Spec.ImagePullSecrets)}
}

// BuildDaemonSet returns the svclb DaemonSet that serves svc: one pod per
// eligible node, one klipper-lb container per Service port binding the port
// on the host and forwarding to the Service. It is a pure function of its
// arguments. The owner reference is left to the caller. An error is one
// only a change to the Service (or to the spec) can fix.
func BuildDaemonSet(svc *corev1.Service, spec v1alpha1.ServiceLBSpec, cluster Cluster, facts Facts) (*appsv1ac.DaemonSetApplyConfiguration, error) {
	ranges, err := sourceRanges(svc)
	if err != nil {
		return nil, err
	}
	priority, err := priorityClassName(svc, &spec)
	if err != nil {
		return nil, err
	}
	tols, err := podTolerations(svc, &spec)
	if err != nil {
		return nil, err
	}
	name := DaemonSetName(svc)
	place := placementFor(svc, &spec, facts)
	ds := appsv1ac.DaemonSet(name, spec.Namespace).
		WithLabels(serviceLabels(svc)).
		WithLabels(map[string]string{
			apply.ManagedByLabel: apply.ManagedByValue,
			apply.ComponentLabel: ComponentName,
		}).
		// An annotation, not a label as in K3s: see NodeSelectorAnnotation.
		WithAnnotations(map[string]string{NodeSelectorAnnotation: strconv.FormatBool(place.enableLB)}).
		WithSpec(appsv1ac.DaemonSetSpec().
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{AppLabel: name})).
			WithTemplate(corev1ac.PodTemplateSpec().
				WithLabels(map[string]string{AppLabel: name}).
				WithLabels(serviceLabels(svc)).
				WithSpec(podSpec(svc, &spec, cluster, place, tols, priority, ranges))).
			WithUpdateStrategy(appsv1ac.DaemonSetUpdateStrategy().
				WithType("RollingUpdate").
				WithRollingUpdate(appsv1ac.RollingUpdateDaemonSet().WithMaxUnavailable(intstr.FromInt32(1)))))
	return ds, nil
}

// podSpec returns the svclb pod: ServiceAccount svclb without a token,
// forwarding sysctls per IP family, tolerations, placement and containers.
func podSpec(svc *corev1.Service, spec *v1alpha1.ServiceLBSpec, cluster Cluster, place placement, tols []corev1.Toleration, priority, ranges string) *corev1ac.PodSpecApplyConfiguration {
	ps := corev1ac.PodSpec().
		WithPriorityClassName(priority).
		WithServiceAccountName(ServiceAccountName).
		WithAutomountServiceAccountToken(false).
		WithSecurityContext(corev1ac.PodSecurityContext().WithSysctls(sysctls(svc)...))
	for _, s := range cluster.ImagePullSecrets {
		ps.WithImagePullSecrets(corev1ac.LocalObjectReference().WithName(s.Name))
	}
	for _, t := range tols {
		ps.WithTolerations(toleration(t))
	}
	if len(place.nodeSelector) > 0 {
		ps.WithNodeSelector(place.nodeSelector)
	}
	if aff := nodeAffinity(place); aff != nil {
		ps.WithAffinity(corev1ac.Affinity().WithNodeAffinity(aff))
	}
	for _, port := range svc.Spec.Ports {
		ps.WithContainers(container(svc, imageOf(spec, cluster.SystemDefaultRegistry), port, ranges))
	}
	return ps
}

// priorityClassName returns the svclb pods' priority class: the spec's, or
// the one the Service's annotation names when the spec allows it. K3s
// honours any class the annotation names; a tenant could so give its pods
// a class that preempts others, hence the allow-list.
func priorityClassName(svc *corev1.Service, spec *v1alpha1.ServiceLBSpec) (string, error) {
	def := spec.PriorityClassName
	v, ok := svc.Annotations[PriorityClassAnnotation]
	if !ok || v == def {
		return def, nil
	}
	if !slices.Contains(spec.AllowedPriorityClasses, v) {
		return "", fmt.Errorf("the priority class %q of annotation %s is not allowed: spec.serviceLB.allowedPriorityClasses lists %s", v, PriorityClassAnnotation, quotedOrNone(spec.AllowedPriorityClasses))
	}
	return v, nil
}

func quotedOrNone(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	return joinLimited(q, 10)
}

// serviceTolerations parses the Service's tolerations annotation: a JSON
// list of Tolerations.
func serviceTolerations(svc *corev1.Service) ([]corev1.Toleration, error) {
	raw, ok := svc.Annotations[TolerationsAnnotation]
	if !ok {
		return nil, nil
	}
	var tols []corev1.Toleration
	if err := json.Unmarshal([]byte(raw), &tols); err != nil {
		return nil, fmt.Errorf("annotation %s must be a JSON list of tolerations such as [{\"key\":\"dedicated\",\"operator\":\"Exists\"}]: %w", TolerationsAnnotation, err)
	}
	return tols, nil
}

// podTolerations returns the svclb pods' tolerations: the built-in ones,
// the spec's, then the Service's annotation's.
func podTolerations(svc *corev1.Service, spec *v1alpha1.ServiceLBSpec) ([]corev1.Toleration, error) {
	own, err := serviceTolerations(svc)
	if err != nil {
		return nil, err
	}
	return append(tolerations(spec), own...), nil
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
