package k3s

import (
	_ "embed"
	"fmt"
	"path"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"
)

//go:embed helmchart-crd.yaml
var helmChartCRD []byte

// HelmChartCRD returns a CRD for helm.cattle.io/v1 HelmChart, the kind
// K3s's helm-controller installs charts from, for API servers without K3s.
func HelmChartCRD() (*apiextensionsv1.CustomResourceDefinition, error) {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal(helmChartCRD, crd); err != nil {
		return nil, fmt.Errorf("parse the HelmChart CRD: %w", err)
	}
	return crd, nil
}

// TraefikValues is the valuesContent of the traefik HelmChart, in the
// shape of K3s's manifests/traefik.yaml.
const TraefikValues = `image:
  registry: docker.io
  repository: rancher/mirrored-library-traefik
  tag: "3.3.6"
deployment:
  podAnnotations:
    prometheus.io/port: "9100"
    prometheus.io/scrape: "true"
ports:
  metrics:
    port: 9100
    expose: false
    exposedPort: 9100
    protocol: TCP
`

// Traefik returns the objects of K3s's traefik.yaml (k3s-io/k3s
// manifests/traefik.yaml): the HelmCharts traefik-crd (the traefik.io
// CRDs, as chart templates) and traefik (the chart with TraefikValues),
// which K3s's helm-controller installs as Helm releases of the same names
// in kube-system.
func Traefik() []runtime.Object {
	helmChart := func(name, valuesContent string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{
			"spec": map[string]any{"chart": "https://%{KUBERNETES_API}%/static/charts/" + name + "-34.2.1+up34.2.0.tgz"},
		}}
		u.SetAPIVersion("helm.cattle.io/v1")
		u.SetKind("HelmChart")
		u.SetNamespace(Namespace)
		u.SetName(name)
		if valuesContent != "" {
			_ = unstructured.SetNestedField(u.Object, valuesContent, "spec", "valuesContent")
		}
		return u
	}
	return []runtime.Object{helmChart("traefik-crd", ""), helmChart("traefik", TraefikValues)}
}

// CRDChart returns the chart K3s packages as traefik-crd: the CRDs of ch
// (its crds/ directory) as templates, so that Helm installs, upgrades and
// uninstalls them with the release.
func CRDChart(ch *chart.Chart) *chart.Chart {
	crds := &chart.Chart{Metadata: &chart.Metadata{APIVersion: chart.APIVersionV2, Name: "traefik-crd", Version: ch.Metadata.Version, Type: "application"}}
	for _, crd := range ch.CRDObjects() {
		crds.Templates = append(crds.Templates, &chart.File{Name: path.Join("templates", path.Base(crd.Filename)), Data: crd.File.Data})
	}
	return crds
}

// HelmController stands in for K3s's helm-controller, which installs the
// chart of each HelmChart as a Helm release in kube-system and, when the
// HelmChart is deleted, runs `helm uninstall` in a job. Both go through
// Helm's own library here.
type HelmController struct {
	helm *action.Configuration
}

// NewHelmController returns a HelmController on the API server of cfg,
// keeping releases in Secrets (Helm's default storage).
func NewHelmController(cfg *rest.Config) (*HelmController, error) {
	h := &action.Configuration{}
	if err := h.Init(restGetter{cfg: cfg}, Namespace, "secret", func(string, ...any) {}); err != nil {
		return nil, fmt.Errorf("helm: %w", err)
	}
	return &HelmController{helm: h}, nil
}

// Install installs ch with values as release name in kube-system; with
// skipCRDs, the chart's crds/ directory is left out.
func (h *HelmController) Install(name string, ch *chart.Chart, values map[string]any, skipCRDs bool) (*release.Release, error) {
	in := action.NewInstall(h.helm)
	in.ReleaseName, in.Namespace, in.SkipCRDs = name, Namespace, skipCRDs
	rel, err := in.Run(ch, values)
	if err != nil {
		return nil, fmt.Errorf("helm install %s: %w", name, err)
	}
	return rel, nil
}

// Uninstall runs `helm uninstall name`, as helm-controller's job does for
// a deleted HelmChart.
func (h *HelmController) Uninstall(name string) (*release.UninstallReleaseResponse, error) {
	res, err := action.NewUninstall(h.helm).Run(name)
	if err != nil {
		return nil, fmt.Errorf("helm uninstall %s: %w", name, err)
	}
	return res, nil
}

// restGetter gives Helm the API server of a rest.Config.
type restGetter struct{ cfg *rest.Config }

func (g restGetter) ToRESTConfig() (*rest.Config, error) { return rest.CopyConfig(g.cfg), nil }

func (g restGetter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(g.cfg)
	if err != nil {
		return nil, err
	}
	return memory.NewMemCacheClient(dc), nil
}

func (g restGetter) ToRESTMapper() (meta.RESTMapper, error) {
	dc, err := g.ToDiscoveryClient()
	if err != nil {
		return nil, err
	}
	return restmapper.NewDeferredDiscoveryRESTMapper(dc), nil
}

func (g restGetter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return clientcmd.NewDefaultClientConfig(*clientcmdapi.NewConfig(),
		&clientcmd.ConfigOverrides{Context: clientcmdapi.Context{Namespace: Namespace}})
}
