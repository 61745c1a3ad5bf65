package coredns_test

import (
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/coredns"
	"github.com/wharf-dev/wharf/internal/defaults"
	"github.com/wharf-dev/wharf/internal/golden"
	"github.com/wharf-dev/wharf/internal/render"
)

// seedsNodes are the two nodes of the K3s guide.
var seedsNodes = []corev1.Node{
	testNode("master01", "10.0.0.51"),
	testNode("master02", "10.0.0.52"),
}

func testNode(name string, ips ...string) corev1.Node {
	n := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	for _, ip := range ips {
		n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip})
	}
	n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeHostName, Address: name})
	return n
}

func hosts(ip string, names ...v1alpha1.Hostname) v1alpha1.HostEntry {
	return v1alpha1.HostEntry{IP: ip, Hostnames: names}
}

// goldenCases are CoreDNS specs as the API server stores them (CRD
// defaults applied) with the cluster facts they are rendered with.
var goldenCases = []struct {
	name    string
	spec    v1alpha1.CoreDNSSpec
	cluster v1alpha1.ClusterNetworkingSpec // its coredns section is spec
	nodes   []corev1.Node
	ip      []string
	// current is the NodeHosts key in the cluster, written the node
	// names wharf wrote it for.
	current string
	written []string
}{
	{
		name:  "seeds",
		spec:  v1alpha1.CoreDNSSpec{ExtraHosts: []v1alpha1.HostEntry{hosts("10.0.0.51", "k3s.test.org")}},
		nodes: seedsNodes,
	},
	{
		name: "extra-hosts-ipv6",
		spec: v1alpha1.CoreDNSSpec{ExtraHosts: []v1alpha1.HostEntry{
			hosts("10.0.0.51", "k3s.test.org", "api.k3s.test.org"),
			hosts("fd00:10::51", "k3s6.test.org"),
			hosts("192.168.1.10", "nas.home.arpa"),
		}},
		nodes: seedsNodes,
	},
	{
		name: "upstreams-cache",
		spec: v1alpha1.CoreDNSSpec{
			Namespace:     "dns-system",
			Image:         "registry.example.com/coredns/coredns:1.11.3",
			Replicas:      ptr.To[int32](2),
			ClusterIP:     "10.96.0.10",
			ClusterDomain: "k8s.example.internal",
			Upstreams:     []v1alpha1.Upstream{"1.1.1.1", "8.8.8.8:53", "tls://9.9.9.9"},
			Cache:         v1alpha1.CacheSpec{SuccessTTL: 300, DenialTTL: 5},
			NodePlacement: v1alpha1.NodePlacement{
				NodeSelector: map[string]string{"node-role.kubernetes.io/infra": "true"},
				Tolerations:  []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "infra", Effect: corev1.TaintEffectNoSchedule}},
			},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
			},
		},
		nodes: seedsNodes,
		ip:    []string{"10.96.0.10"},
	},
	{
		name: "snippets",
		spec: v1alpha1.CoreDNSSpec{
			ExtraHosts: []v1alpha1.HostEntry{hosts("10.0.0.51", "k3s.test.org")},
			Snippets: v1alpha1.CorefileSnippets{
				BeforeKubernetes: "rewrite name regex (.*)\\.legacy\\.local {1}.default.svc.cluster.local answer auto\n",
				ServerBlock:      "  log . {\n    class denial error\n  }\n",
				ExtraServers:     "corp.example:53 {\n    errors\n    cache 60\n    forward . 10.10.0.2 10.10.0.3\n}\n",
			},
		},
		nodes: seedsNodes,
	},
	{
		name: "nodehosts-ipv6",
		spec: v1alpha1.CoreDNSSpec{ClusterIP: "fd00:43::a"},
		nodes: []corev1.Node{
			testNode("master01", "10.0.0.51", "fd00:10::51"),
			testNode("master02", "10.0.0.52", "fd00:10::52"),
			testNode("worker6", "fd00:10:0:0:0:0:0:60"),
		},
		ip: []string{"fd00:43::a"},
	},
	{
		name: "dual-stack",
		spec: v1alpha1.CoreDNSSpec{ClusterIPs: []string{"10.43.0.10", "2001:cafe:43::a"}},
		nodes: []corev1.Node{
			testNode("master01", "10.0.0.51", "2001:cafe:10::51"),
			testNode("worker10", "10.0.0.100", "2001:cafe:10::100"),
			testNode("worker9", "10.0.0.9"),
		},
		ip: []string{"10.43.0.10", "2001:cafe:43::a"},
	},
	{
		name: "k3d-nodehosts",
		spec: v1alpha1.CoreDNSSpec{Replicas: ptr.To[int32](2)},
		// master03 was deleted; k3d wrote host.k3d.internal.
		nodes:   seedsNodes,
		current: "10.0.0.51 master01\n172.18.0.1 host.k3d.internal\n10.0.0.53 master03\n10.0.0.52 master02\n",
		written: []string{"master01", "master02", "master03"},
	},
	{
		name: "air-gap",
		cluster: v1alpha1.ClusterNetworkingSpec{
			SystemDefaultRegistry: "registry.example.com:5000",
			ImagePullSecrets:      []corev1.LocalObjectReference{{Name: "regcred"}},
		},
		nodes: seedsNodes,
	},
	{
		name:  "nodehosts-disabled",
		spec:  v1alpha1.CoreDNSSpec{NodeHosts: ptr.To(false), ExtraHosts: []v1alpha1.HostEntry{hosts("10.0.0.51", "k3s.test.org")}},
		nodes: seedsNodes,
	},
}

// TestGolden renders each case and compares the Corefile and the manifests
// byte for byte with testdata/<case>.Corefile and testdata/<case>.yaml.
// UPDATE_GOLDEN=1 rewrites them.
func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			cn := tc.cluster
			cn.CoreDNS = tc.spec
			cn = withCRDDefaults(t, cn)
			spec := cn.CoreDNS
			facts := coredns.Facts{ClusterIPs: tc.ip, CurrentNodeHosts: tc.current, WrittenNodes: tc.written}
			if spec.NodeHostsEnabled() {
				facts.NodeHosts = coredns.NodeHostsLines(tc.nodes)
			}
			objs, err := coredns.Render(&cn, facts)
			if err != nil {
				t.Fatal(err)
			}
			manifests, err := render.Encode(objs)
			if err != nil {
				t.Fatal(err)
			}
			corefile, err := coredns.RenderCorefile(&spec)
			if err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, filepath.Join("testdata", tc.name+".Corefile"), []byte(corefile))
			golden.Assert(t, filepath.Join("testdata", tc.name+".yaml"), manifests)
		})
	}
}

// withCRDDefaults returns spec as the API server would store it.
func withCRDDefaults(t *testing.T, spec v1alpha1.ClusterNetworkingSpec) v1alpha1.ClusterNetworkingSpec {
	t.Helper()
	cn := &v1alpha1.ClusterNetworking{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.SingletonName}}
	cn.Spec = spec
	if err := defaults.Apply(cn); err != nil {
		t.Fatal(err)
	}
	return cn.Spec
}
