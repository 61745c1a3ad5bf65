package coredns

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
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
)

// ReasonInvalidCorefile is the CoreDNSReady reason for a Corefile that does
// not parse; the running ConfigMap is kept.
const ReasonInvalidCorefile = "InvalidCorefile"

// Facts are what rendering needs to know about the cluster.
type Facts struct {
	// ClusterIP of the kube-dns Service. Empty: the spec's, else
	// v1alpha1.DefaultDNSClusterIP.
	ClusterIP string
	// NodeHosts are the lines of the NodeHosts key (see NodeHostsLines).
	NodeHosts []string
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
	Namespace      string
	Image          string
	Replicas       int32
	ClusterIP      string
	Corefile       string
	NodeHosts      string
	HashAnnotation string
	CorefileHash   string
	NodeSelector   map[string]string
	Tolerations    []corev1.Toleration
	Resources      corev1.ResourceRequirements
	NonRoot        bool
}

// Render returns the CoreDNS objects for spec and the cluster facts, in
// apply order. It is pure. A Corefile that does not parse is a
// component.StalledError with reason InvalidCorefile, and nothing is
// returned to apply.
func Render(spec v1alpha1.CoreDNSSpec, facts Facts) ([]*unstructured.Unstructured, error) {
	corefile, err := RenderCorefile(&spec)
	if err != nil {
		return nil, err
	}
	if err := ValidateCorefile(corefile); err != nil {
		return nil, component.Stalled(ReasonInvalidCorefile, fmt.Errorf("the Corefile does not parse: %w", err))
	}
	data := newManifestData(&spec, facts, corefile)
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

func newManifestData(spec *v1alpha1.CoreDNSSpec, facts Facts, corefile string) manifestData {
	sum := sha256.Sum256([]byte(corefile))
	d := manifestData{
		Namespace:      spec.NamespaceOrDefault(),
		Image:          spec.ImageOrDefault(),
		Replicas:       1,
		ClusterIP:      orDefault(facts.ClusterIP, orDefault(spec.ClusterIP, v1alpha1.DefaultDNSClusterIP)),
		Corefile:       corefile,
		NodeHosts:      nodeHostsFile(facts.NodeHosts),
		HashAnnotation: CorefileHashAnno,
		CorefileHash:   hex.EncodeToString(sum[:]),
		NodeSelector:   map[string]string{corev1.LabelOSStable: "linux"},
		Tolerations:    append(builtinTolerations(), spec.NodePlacement.Tolerations...),
		Resources:      spec.Resources,
		NonRoot:        spec.ImageOrDefault() == v1alpha1.DefaultCoreDNSImage,
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
