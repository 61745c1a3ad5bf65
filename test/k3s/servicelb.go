package k3s

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"

	wapply "github.com/rancher/wrangler/v3/pkg/apply"
	"github.com/rancher/wrangler/v3/pkg/objectset"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// Labels K3s's ServiceLB puts on its svclb DaemonSets and their pods
// (k3s-io/k3s pkg/cloudprovider/servicelb.go).
const (
	SvcNameLabel      = "svccontroller.k3s.cattle.io/svcname"
	SvcNamespaceLabel = "svccontroller.k3s.cattle.io/svcnamespace"
	// NodeSelectorLabel is the DaemonSet label K3s started without its
	// ServiceLB selects the svclb DaemonSets it deletes by.
	NodeSelectorLabel = "svccontroller.k3s.cattle.io/nodeselector"
)

// ServiceLBImage is the klipper-lb image K3s's ServiceLB deploys by default.
const ServiceLBImage = "rancher/klipper-lb:v0.4.13"

// ServiceLB stands in for K3s's ServiceLB, the load balancer of K3s's
// cloud provider (k3s-io/k3s pkg/cloudprovider): a svclb DaemonSet per
// LoadBalancer Service in kube-system, applied with wrangler's apply owned
// by the Service, and the start-up clean-up of a K3s started with
// --disable=servicelb.
type ServiceLB struct {
	apply  wapply.Apply
	client kubernetes.Interface
	image  string
}

// NewServiceLB returns K3s's ServiceLB on the API server of cfg, deploying
// image.
func NewServiceLB(cfg *rest.Config, image string) (*ServiceLB, error) {
	a, err := wapply.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("wrangler apply: %w", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return &ServiceLB{apply: a.WithDynamicLookup(), client: cs, image: image}, nil
}

// Serve does what K3s's ServiceLB does for a new LoadBalancer Service: it
// creates the svclb ServiceAccount when missing (a plain create, no
// markers) and applies the Service's svclb DaemonSet owned by the Service.
func (s *ServiceLB) Serve(ctx context.Context, svc *corev1.Service) (*appsv1.DaemonSet, error) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "svclb", Namespace: Namespace}}
	if _, err := s.client.CoreV1().ServiceAccounts(Namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create the svclb service account: %w", err)
	}
	owner := svc.DeepCopy()
	owner.APIVersion, owner.Kind = "v1", "Service"
	ds := SvclbDaemonSet(svc, s.image)
	if err := s.apply.WithContext(ctx).WithOwner(owner).Apply(objectset.NewObjectSet(ds)); err != nil {
		return nil, fmt.Errorf("apply daemonset %s: %w", ds.Name, err)
	}
	return s.client.AppsV1().DaemonSets(Namespace).Get(ctx, ds.Name, metav1.GetOptions{})
}

// Publish writes ips as the Service's load balancer ingress, as K3s's
// ServiceLB does once svclb pods are ready (a patch of the status).
func (s *ServiceLB) Publish(ctx context.Context, svc *corev1.Service, ips ...string) error {
	ingress := make([]corev1.LoadBalancerIngress, len(ips))
	for i, ip := range ips {
		ingress[i] = corev1.LoadBalancerIngress{IP: ip}
	}
	body, err := json.Marshal(map[string]any{"status": map[string]any{"loadBalancer": map[string]any{"ingress": ingress}}})
	if err != nil {
		return err
	}
	if _, err := s.client.CoreV1().Services(svc.Namespace).Patch(ctx, svc.Name, types.MergePatchType, body, metav1.PatchOptions{}, "status"); err != nil {
		return fmt.Errorf("publish the ingress of %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	return nil
}

// CleanUp is what K3s started with --disable=servicelb does at every
// start (deleteAllDaemonsets): one collection delete of the DaemonSets in
// kube-system that carry NodeSelectorLabel, whatever its value.
func (s *ServiceLB) CleanUp(ctx context.Context) error {
	err := s.client.AppsV1().DaemonSets(Namespace).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: NodeSelectorLabel})
	if err != nil {
		return fmt.Errorf("delete the svclb daemonsets: %w", err)
	}
	return nil
}

// SvclbName is the name K3s gives the svclb DaemonSet of svc (K3s's
// generateName): svclb-<name cut to 48 characters, no trailing '-'>-<the
// first 8 characters of the UID>.
func SvclbName(svc *corev1.Service) string {
	name := svc.Name
	if len(name) > 48 {
		name = strings.TrimRight(name[:48], "-")
	}
	return fmt.Sprintf("svclb-%s-%s", name, svc.UID[:8])
}

// SvclbDaemonSet returns the svclb DaemonSet K3s's ServiceLB builds for
// svc (K3s's newDaemonSet) when no node has the enablelb label: one
// klipper-lb container per port, node-critical, on every node.
func SvclbDaemonSet(svc *corev1.Service, image string) *appsv1.DaemonSet {
	name := SvclbName(svc)
	svcLabels := map[string]string{SvcNameLabel: svc.Name, SvcNamespaceLabel: svc.Namespace}
	podLabels := map[string]string{"app": name, SvcNameLabel: svc.Name, SvcNamespaceLabel: svc.Namespace}
	ranges := "0.0.0.0/0"
	if len(svc.Spec.LoadBalancerSourceRanges) > 0 {
		ranges = strings.Join(svc.Spec.LoadBalancerSourceRanges, ",")
	}
	sec := &corev1.PodSecurityContext{}
	for _, family := range svc.Spec.IPFamilies {
		switch family {
		case corev1.IPv4Protocol:
			sec.Sysctls = append(sec.Sysctls, corev1.Sysctl{Name: "net.ipv4.ip_forward", Value: "1"})
		case corev1.IPv6Protocol:
			sec.Sysctls = append(sec.Sysctls, corev1.Sysctl{Name: "net.ipv6.conf.all.forwarding", Value: "1"})
			if ranges == "0.0.0.0/0" {
				ranges += ",::/0"
			}
		}
	}
	var containers []corev1.Container
	for _, port := range svc.Spec.Ports {
		portName := fmt.Sprintf("lb-%s-%d", strings.ToLower(string(port.Protocol)), port.Port)
		containers = append(containers, corev1.Container{
			Name:            portName,
			Image:           image,
			ImagePullPolicy: corev1.PullIfNotPresent,
			Ports:           []corev1.ContainerPort{{Name: portName, ContainerPort: port.Port, HostPort: port.Port, Protocol: port.Protocol}},
			Env: []corev1.EnvVar{
				{Name: "SRC_PORT", Value: strconv.Itoa(int(port.Port))},
				{Name: "SRC_RANGES", Value: ranges},
				{Name: "DEST_PROTO", Value: string(port.Protocol)},
				{Name: "DEST_PORT", Value: strconv.Itoa(int(port.Port))},
				{Name: "DEST_IPS", Value: strings.Join(svc.Spec.ClusterIPs, ",")},
			},
			SecurityContext: &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN"}}},
		})
	}
	labels := map[string]string{NodeSelectorLabel: "false"}
	maps.Copy(labels, svcLabels)
	return &appsv1.DaemonSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "DaemonSet"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace, Labels: labels},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec: corev1.PodSpec{
					PriorityClassName:            "system-node-critical",
					ServiceAccountName:           "svclb",
					AutomountServiceAccountToken: ptr.To(false),
					SecurityContext:              sec,
					Tolerations: []corev1.Toleration{
						{Key: "node-role.kubernetes.io/master", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
						{Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
						{Key: "CriticalAddonsOnly", Operator: corev1.TolerationOpExists},
					},
					Containers: containers,
				},
			},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{
				Type:          appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromInt32(1))},
			},
		},
	}
}
