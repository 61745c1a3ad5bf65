package coredns

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
	"github.com/wharf-dev/wharf/internal/images"
	"github.com/wharf-dev/wharf/internal/render"
	"github.com/wharf-dev/wharf/templates"
)

// Names of the objects wharf deploys for CoreDNS. K3s and kubeadm use the
// same names, so an existing CoreDNS is taken over in place.
const (
	ConfigMapName    = "coredns"
	DeploymentName   = "coredns"
	ServiceName      = "kube-dns"
	CustomConfigMap  = "coredns-custom"
	ClusterRoleName  = "system:coredns"
	AppLabel         = "k8s-app"
	AppLabelValue    = "kube-dns"
	CorefileKey      = "Corefile"
	NodeHostsKey     = "NodeHosts"
	CorefileHashAnno = "networking.wharf.dev/corefile-hash"
	// NodeHostsAnno on the coredns ConfigMap lists, comma-separated, the
	// node names wharf wrote NodeHosts lines for.
	NodeHostsAnno = "networking.wharf.dev/nodehosts-nodes"
)

// progressDeadlineSeconds is how long a CoreDNS rollout may go without
// progress before the Deployment reports ProgressDeadlineExceeded and
// CoreDNSReady turns False. A pod that exits is reported at once, from its
// status; the deadline catches pods that never turn Ready for other
// reasons (an image that cannot be pulled slowly, a pod that cannot be
// scheduled).
const progressDeadlineSeconds = 180

// ReasonInvalidCorefile is the CoreDNSReady reason for a Corefile that does
// not parse or that CoreDNS would refuse to load (see ValidateCorefile);
// the running ConfigMap is kept.
const ReasonInvalidCorefile = "InvalidCorefile"

// Facts are what rendering needs to know about the cluster.
type Facts struct {
	// ClusterIPs of the kube-dns Service, primary first (see
	// ChooseClusterIPs). Empty: the spec's, else
	// v1alpha1.DefaultDNSClusterIP.
	ClusterIPs []string
	// NodeHosts are the lines of the NodeHosts key for the Nodes (see
	// NodeHostsLines).
	NodeHosts []string
	// CurrentNodeHosts is the NodeHosts key of the coredns ConfigMap in the
	// cluster, and WrittenNodes the node names its NodeHostsAnno lists:
	// lines of CurrentNodeHosts that name neither a Node nor one of those
	// were written by someone else (k3d adds host.k3d.internal) and are kept.
	CurrentNodeHosts string
	WrittenNodes     []string
}

// manifestFiles are the manifest templates, executed in this order.
var manifestFiles = []string{
	"serviceaccount.yaml.tmpl", "rbac.yaml.tmpl", "configmap.yaml.tmpl", "deployment.yaml.tmpl", "service.yaml.tmpl",
}

var parsedTemplates = sync.OnceValues(func() (*render.Templates, error) {
	return render.ParseTemplates(templates.CoreDNS, "coredns/*.tmpl")
})

// manifestData is what the manifest templates are executed with.
type manifestData struct {
	Namespace               string
	Image                   string
	ImagePullSecrets        []corev1.LocalObjectReference
	Replicas                int32 // 0: not set, the Deployment's count is left alone
	ProgressDeadlineSeconds int32
	ClusterIPs              []string
	Corefile                string
	NodeHosts               string
	NodeHostsAnnotation     string
	NodeHostsNames          string
	HashAnnotation          string
	CorefileHash            string
	NodeSelector            map[string]string
	Tolerations             []corev1.Toleration
	Resources               corev1.ResourceRequirements
	NonRoot                 bool
}

// Render returns the CoreDNS objects for the resource's spec (its coredns
// section, the system default registry and the image pull secrets) and the
// cluster facts, in apply order. It is pure. A Corefile that does not parse
// or that CoreDNS would refuse to load is a component.StalledError with
// reason InvalidCorefile, and nothing is returned to apply.
func Render(cn *v1alpha1.ClusterNetworkingSpec, facts Facts) ([]*unstructured.Unstructured, error) {
	spec := &cn.CoreDNS
	corefile, err := RenderCorefile(spec)
	if err != nil {
		return nil, err
	}
	if err := ValidateCorefile(corefile); err != nil {
		return nil, component.Stalled(ReasonInvalidCorefile, fmt.Errorf("the Corefile would not load: %w", err))
	}
	data := newManifestData(cn, facts, corefile)
	ts, err := parsedTemplates()
	if err != nil {
		return nil, err
	}
	var stream bytes.Buffer
	for _, name := range manifestFiles {
		out, err := ts.Execute(name, data)
		if err != nil {
			return nil, err
		}
		stream.WriteString("---\n")
		stream.Write(out)
		stream.WriteString("\n")
	}
	objs, err := render.Decode(stream.Bytes())
	if err != nil {
		return nil, fmt.Errorf("decode the CoreDNS manifests: %w", err)
	}
	render.SortForApply(objs)
	return objs, nil
}

func newManifestData(cn *v1alpha1.ClusterNetworkingSpec, facts Facts, corefile string) manifestData {
	spec := &cn.CoreDNS
	sum := sha256.Sum256([]byte(corefile))
	d := manifestData{
		Namespace:               spec.Namespace,
		Image:                   Image(cn),
		ImagePullSecrets:        cn.ImagePullSecrets,
		ProgressDeadlineSeconds: progressDeadlineSeconds,
		ClusterIPs:              facts.ClusterIPs,
		Corefile:                corefile,
		NodeHostsAnnotation:     NodeHostsAnno,
		HashAnnotation:          CorefileHashAnno,
		CorefileHash:            hex.EncodeToString(sum[:]),
		NodeSelector:            map[string]string{corev1.LabelOSStable: "linux"},
		Tolerations:             append(builtinTolerations(), spec.NodePlacement.Tolerations...),
		Resources:               spec.Resources,
		// The default image, mirrored or not, runs as the distroless nonroot user.
		NonRoot: spec.Image == "" || spec.Image == v1alpha1.DefaultCoreDNSImage,
	}
	if len(d.ClusterIPs) == 0 {
		d.ClusterIPs = orDefaultIPs(specClusterIPs(spec), []string{v1alpha1.DefaultDNSClusterIP})
	}
	if spec.NodeHostsEnabled() {
		lines, names := MergeNodeHosts(facts.NodeHosts, facts.CurrentNodeHosts, facts.WrittenNodes)
		d.NodeHosts = nodeHostsFile(lines)
		d.NodeHostsNames = strings.Join(names, ",")
	}
	if spec.Replicas != nil {
		d.Replicas = *spec.Replicas
	}
	maps.Copy(d.NodeSelector, spec.NodePlacement.NodeSelector)
	if len(d.Resources.Requests) == 0 && len(d.Resources.Limits) == 0 && len(d.Resources.Claims) == 0 {
		d.Resources = defaultResources()
	}
	return d
}

// Image returns the CoreDNS image: spec.coredns.image as written, else the
// default image on spec.systemDefaultRegistry.
func Image(cn *v1alpha1.ClusterNetworkingSpec) string {
	if cn.CoreDNS.Image != "" {
		return cn.CoreDNS.Image
	}
	return images.WithRegistry(v1alpha1.DefaultCoreDNSImage, cn.SystemDefaultRegistry)
}

// builtinTolerations let CoreDNS run on control-plane nodes and on nodes
// reserved for critical add-ons.
func builtinTolerations() []corev1.Toleration {
	return []corev1.Toleration{
		{Key: "CriticalAddonsOnly", Operator: corev1.TolerationOpExists},
		{Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
		{Key: "node-role.kubernetes.io/master", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	}
}

// defaultResources are the CoreDNS container's resources when the spec
// sets none: 100m CPU and 70Mi memory requested, at most 170Mi memory.
func defaultResources() corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("70Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("170Mi")},
	}
}
