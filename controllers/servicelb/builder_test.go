package servicelb

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/internal/golden"
)

// nginxService is the seeds' Service: port 8888 to the nginx-port of the
// nginx Deployment.
func nginxService() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx", Namespace: "default", UID: "8c3f1b2a-5d4e-4f6a-9b7c-0d1e2f3a4b5c"},
		Spec: corev1.ServiceSpec{
			Type:       corev1.ServiceTypeLoadBalancer,
			Selector:   map[string]string{"app": "nginx"},
			ClusterIP:  "10.43.92.152",
			ClusterIPs: []string{"10.43.92.152"},
			IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Ports: []corev1.ServicePort{{
				Name: "nginx", Protocol: corev1.ProtocolTCP, Port: 8888,
				TargetPort: intstr.FromString("nginx-port"), NodePort: 30285,
			}},
			ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyCluster,
		},
	}
}

func defaultSpec() v1alpha1.ServiceLBSpec {
	return v1alpha1.ServiceLBSpec{Enabled: ptr.To(true), Namespace: "kube-system", PriorityClassName: "system-node-critical"}
}

func TestBuildDaemonSetGolden(t *testing.T) {
	cases := []struct {
		name    string
		svc     func() *corev1.Service
		spec    func() v1alpha1.ServiceLBSpec
		cluster Cluster
		facts   Facts
	}{
		{name: "nginx", svc: nginxService, spec: defaultSpec},
		{name: "nginx-enablelb", svc: nginxService, spec: defaultSpec, facts: Facts{EnableLBNodes: true}},
		{name: "dual-stack", svc: dualStackService, spec: defaultSpec},
		{name: "ipv6-only", svc: ipv6Service, spec: defaultSpec},
		{name: "local-policy", svc: localService, spec: defaultSpec},
		{name: "source-ranges", svc: sourceRangesService, spec: defaultSpec},
		{name: "lbpool", svc: lbpoolService, spec: defaultSpec, facts: Facts{EnableLBNodes: true}},
		{name: "lbpool-without-enablelb", svc: lbpoolService, spec: defaultSpec},
		{name: "tolerations-and-selector", svc: priorityService, spec: customSpec, facts: Facts{EnableLBNodes: true}},
		{name: "long-name", svc: longNameService, spec: defaultSpec},
		{name: "air-gap", svc: nginxService, spec: defaultSpec, cluster: Cluster{
			SystemDefaultRegistry: "registry.example.com:5000",
			ImagePullSecrets:      []corev1.LocalObjectReference{{Name: "regcred"}},
		}},
		{name: "tolerations-annotation", svc: tolerationsService, spec: customSpec},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := BuildDaemonSet(tc.svc(), tc.spec(), tc.cluster, tc.facts)
			if err != nil {
				t.Fatal(err)
			}
			got, err := yaml.Marshal(ds)
			if err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, filepath.Join("testdata", tc.name+".yaml"), got)
		})
	}
}

func dualStackService() *corev1.Service {
	svc := nginxService()
	svc.Name = "web"
	svc.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
	svc.Spec.IPFamilyPolicy = ptr.To(corev1.IPFamilyPolicyPreferDualStack)
	svc.Spec.ClusterIPs = []string{"10.43.10.20", "fd00:43::14"}
	svc.Spec.ClusterIP = "10.43.10.20"
	svc.Spec.Ports = []corev1.ServicePort{
		{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, NodePort: 31080},
		{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53, NodePort: 31053},
	}
	return svc
}

func ipv6Service() *corev1.Service {
	svc := nginxService()
	svc.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol}
	svc.Spec.ClusterIPs = []string{"fd00:43::5"}
	svc.Spec.ClusterIP = "fd00:43::5"
	return svc
}

func localService() *corev1.Service {
	svc := nginxService()
	svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	svc.Spec.HealthCheckNodePort = 32000
	return svc
}

func sourceRangesService() *corev1.Service {
	svc := nginxService()
	svc.Spec.LoadBalancerSourceRanges = []string{"192.168.1.0/24", " 10.1.2.3/8", "192.168.1.0/24"}
	return svc
}

func lbpoolService() *corev1.Service {
	svc := nginxService()
	svc.Labels = map[string]string{LBPoolLabel: "pool1"}
	return svc
}

func priorityService() *corev1.Service {
	svc := nginxService()
	svc.Annotations = map[string]string{PriorityClassAnnotation: "lb-critical"}
	return svc
}

func tolerationsService() *corev1.Service {
	svc := nginxService()
	svc.Annotations = map[string]string{TolerationsAnnotation: `[{"key":"lb.example.com/edge","operator":"Exists","effect":"NoSchedule"}]`}
	return svc
}

func customSpec() v1alpha1.ServiceLBSpec {
	s := defaultSpec()
	s.AllowedPriorityClasses = []string{"lb-critical"}
	s.Namespace = "lb-system"
	s.Image = "registry.example.com/klipper-lb:v0.4.13"
	s.NodeSelector = &metav1.LabelSelector{
		MatchLabels: map[string]string{"node-role.kubernetes.io/edge": "true"},
		MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "topology.kubernetes.io/zone", Operator: metav1.LabelSelectorOpIn, Values: []string{"a", "b"}},
			{Key: "lb.example.com/disabled", Operator: metav1.LabelSelectorOpDoesNotExist},
		},
	}
	s.Tolerations = []corev1.Toleration{
		{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "edge", Effect: corev1.TaintEffectNoSchedule},
		{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](30)},
	}
	return s
}

func longNameService() *corev1.Service {
	svc := nginxService()
	// 47 characters, then '-' at positions 48 and 49, then more.
	svc.Name = strings.Repeat("a", 46) + "x--" + "tail-of-the-name"
	return svc
}

func TestDaemonSetName(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"nginx", "svclb-nginx-8c3f1b2a"},
		{strings.Repeat("a", 48), "svclb-" + strings.Repeat("a", 48) + "-8c3f1b2a"},
		{strings.Repeat("a", 49), "svclb-" + strings.Repeat("a", 48) + "-8c3f1b2a"},
		{strings.Repeat("a", 46) + "x--tail", "svclb-" + strings.Repeat("a", 46) + "x-8c3f1b2a"},
		{strings.Repeat("a", 47) + "-b", "svclb-" + strings.Repeat("a", 47) + "-8c3f1b2a"},
	} {
		svc := nginxService()
		svc.Name = tc.name
		if got := DaemonSetName(svc); got != tc.want {
			t.Errorf("DaemonSetName(%q) = %q, want %q", tc.name, got, tc.want)
		}
		if len(DaemonSetName(svc)) > 63 {
			t.Errorf("DaemonSetName(%q) is longer than 63 characters", tc.name)
		}
	}
}

func TestBuildDaemonSetRefusesBadSourceRange(t *testing.T) {
	svc := nginxService()
	svc.Annotations = map[string]string{sourceRangesAnnotation: "10.0.0.0/8, not-a-cidr"}
	_, err := BuildDaemonSet(svc, defaultSpec(), Cluster{}, Facts{})
	if err == nil || !strings.Contains(err.Error(), `"not-a-cidr"`) {
		t.Fatalf("err = %v, want one naming the bad range", err)
	}
}

func TestSourceRangesFromAnnotation(t *testing.T) {
	svc := nginxService()
	svc.Annotations = map[string]string{sourceRangesAnnotation: "10.0.0.0/8, 172.16.0.0/12"}
	got, err := sourceRanges(svc)
	if err != nil || got != "10.0.0.0/8,172.16.0.0/12" {
		t.Fatalf("sourceRanges = %q, %v", got, err)
	}
}

func TestImageRegistry(t *testing.T) {
	for _, tc := range []struct{ image, registry, want string }{
		{"", "", "docker.io/rancher/klipper-lb:v0.4.13"},
		{"", "registry.example.com:5000", "registry.example.com:5000/rancher/klipper-lb:v0.4.13"},
		{"", "registry.example.com/mirror/", "registry.example.com/mirror/rancher/klipper-lb:v0.4.13"},
		// An explicit image is used as it is.
		{"example.org/klipper-lb:1", "registry.example.com:5000", "example.org/klipper-lb:1"},
	} {
		spec := defaultSpec()
		spec.Image = tc.image
		if got := imageOf(&spec, tc.registry); got != tc.want {
			t.Errorf("imageOf(%q, %q) = %q, want %q", tc.image, tc.registry, got, tc.want)
		}
	}
}

func TestPriorityClassAllowList(t *testing.T) {
	svc := priorityService()
	spec := defaultSpec()
	if _, err := BuildDaemonSet(svc, spec, Cluster{}, Facts{}); err == nil || !strings.Contains(err.Error(), `"lb-critical"`) {
		t.Fatalf("err = %v, want the class refused", err)
	}
	spec.AllowedPriorityClasses = []string{"lb-critical"}
	ds, err := BuildDaemonSet(svc, spec, Cluster{}, Facts{})
	if err != nil || *ds.Spec.Template.Spec.PriorityClassName != "lb-critical" {
		t.Fatalf("allowed class: %v", err)
	}
	// The spec's own class needs no listing.
	svc.Annotations[PriorityClassAnnotation] = "system-node-critical"
	if _, err := BuildDaemonSet(svc, defaultSpec(), Cluster{}, Facts{}); err != nil {
		t.Fatal(err)
	}
}

func TestMalformedTolerationsAnnotation(t *testing.T) {
	svc := nginxService()
	svc.Annotations = map[string]string{TolerationsAnnotation: `{"key":"a"}`}
	if _, err := BuildDaemonSet(svc, defaultSpec(), Cluster{}, Facts{}); err == nil || !strings.Contains(err.Error(), TolerationsAnnotation) {
		t.Fatalf("err = %v, want one naming the annotation", err)
	}
}

// TestNodeSelectorIsAnAnnotation: K3s started with its own ServiceLB
// disabled deletes every DaemonSet of the LB namespace with the label
// svccontroller.k3s.cattle.io/nodeselector; wharf's must not carry it.
func TestNodeSelectorIsAnAnnotation(t *testing.T) {
	for _, facts := range []Facts{{}, {EnableLBNodes: true}} {
		ds, err := BuildDaemonSet(nginxService(), defaultSpec(), Cluster{}, facts)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := ds.Labels[NodeSelectorAnnotation]; ok {
			t.Errorf("labels %v hold %s", ds.Labels, NodeSelectorAnnotation)
		}
		if _, ok := ds.Spec.Template.Labels[NodeSelectorAnnotation]; ok {
			t.Errorf("pod template labels %v hold %s", ds.Spec.Template.Labels, NodeSelectorAnnotation)
		}
		if got, want := ds.Annotations[NodeSelectorAnnotation], fmt.Sprint(facts.EnableLBNodes); got != want {
			t.Errorf("annotation %s = %q, want %q", NodeSelectorAnnotation, got, want)
		}
	}
}
