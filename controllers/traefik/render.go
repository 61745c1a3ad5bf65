package traefik

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"helm.sh/helm/v3/pkg/chart"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
	"github.com/wharf-dev/wharf/internal/render"
	"github.com/wharf-dev/wharf/templates"
)

// ReleaseName is the Helm release name the chart is rendered as.
const ReleaseName = "traefik"

// EmbeddedChart returns the chart embedded in wharf, parsed once.
var EmbeddedChart = sync.OnceValues(func() (*chart.Chart, error) {
	return render.LoadChart(templates.Traefik, "traefik")
})

// Inputs are what Render needs besides the spec: facts read from the
// cluster or fetched by the component.
type Inputs struct {
	// Chart to render; nil means the embedded chart.
	Chart *chart.Chart
	// ValuesFrom are the documents spec.valuesFrom names, in order.
	ValuesFrom []map[string]any
	// DashboardSecret names the Secret the dashboard's basicAuth
	// Middleware reads. Empty: the dashboard is not rendered, even when
	// enabled, because there is no usable Secret to protect it with.
	DashboardSecret string
	// SystemDefaultRegistry (spec.systemDefaultRegistry) becomes the
	// chart's image.registry, unless the values set image.registry.
	SystemDefaultRegistry string
	// ImagePullSecrets (spec.imagePullSecrets) are added to the chart's
	// deployment.imagePullSecrets.
	ImagePullSecrets []string
}

// InputsFor returns the Inputs that come from cn beyond spec.traefik.
func InputsFor(cn *v1alpha1.ClusterNetworking) Inputs {
	in := Inputs{SystemDefaultRegistry: cn.Spec.SystemDefaultRegistry}
	for _, s := range cn.Spec.ImagePullSecrets {
		in.ImagePullSecrets = append(in.ImagePullSecrets, s.Name)
	}
	return in
}

// Render returns the objects that deploy Traefik as spec declares, in
// apply order: the chart's CRDs, its objects, then the dashboard's
// Middleware and IngressRoute. Values the chart refuses stall with
// reason InvalidValues and Helm's message.
func Render(spec v1alpha1.TraefikSpec, in Inputs) ([]*unstructured.Unstructured, error) {
	r, err := build(&spec, in)
	if err != nil {
		return nil, err
	}
	return r.objects, nil
}

// rendered is a render's objects and what status reports about them.
type rendered struct {
	objects      []*unstructured.Unstructured
	chart        string
	workload     workload
	dashboardURL string
}

// workload is the Deployment or DaemonSet that runs Traefik (the upstream
// chart's deployment.kind chooses).
type workload struct {
	kind string // Deployment or DaemonSet
	key  types.NamespacedName
}

func build(spec *v1alpha1.TraefikSpec, in Inputs) (*rendered, error) {
	ch := in.Chart
	if ch == nil {
		var err error
		if ch, err = EmbeddedChart(); err != nil {
			return nil, fmt.Errorf("load the embedded traefik chart: %w", err)
		}
	}
	user, err := specValues(spec)
	if err != nil {
		return nil, err
	}
	values := MergeValues(append(append([]map[string]any{}, in.ValuesFrom...), user)...)
	applyClusterImageSettings(values, in)
	objs, err := render.RenderChart(ch, values, render.Release{Name: ReleaseName, Namespace: spec.Namespace})
	if err != nil {
		if in.Chart == nil {
			err = embeddedValuesError(err)
		}
		return nil, component.Stalled(ReasonInvalidValues, err)
	}
	if err := checkDashboardRoutes(spec, objs); err != nil {
		return nil, err
	}
	r := &rendered{objects: objs, chart: chartName(ch), workload: findWorkload(objs)}
	if spec.Dashboard.Enabled && in.DashboardSecret != "" {
		lookup := valueLookup{values, ch.Values}
		dash, err := renderDashboard(spec, lookup, in.DashboardSecret)
		if err != nil {
			return nil, err
		}
		r.objects = append(r.objects, dash...)
		r.dashboardURL = dashboardURL(&spec.Dashboard, lookup)
	}
	return r, nil
}

// applyClusterImageSettings sets what spec.systemDefaultRegistry and
// spec.imagePullSecrets ask of every pod in the merged values, as K3s
// does with global.systemDefaultRegistry: the registry is the image's
// unless the values set image.registry themselves (null included); the
// pull Secrets are added after the values' own, once each.
func applyClusterImageSettings(values map[string]any, in Inputs) {
	if in.SystemDefaultRegistry != "" {
		if _, set := lookupPath(values, []string{"image", "registry"}); !set {
			mergeInto(values, map[string]any{"image": map[string]any{"registry": in.SystemDefaultRegistry}})
		}
	}
	if len(in.ImagePullSecrets) == 0 {
		return
	}
	existing, _ := lookupPath(values, []string{"deployment", "imagePullSecrets"})
	list, ok := existing.([]any)
	if existing != nil && !ok {
		return // not a list: the chart's schema reports it
	}
	have := map[string]bool{}
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			if n, ok := m["name"].(string); ok {
				have[n] = true
			}
		}
	}
	list = slices.Clone(list)
	for _, n := range in.ImagePullSecrets {
		if !have[n] {
			have[n] = true
			list = append(list, map[string]any{"name": n})
		}
	}
	mergeInto(values, map[string]any{"deployment": map[string]any{"imagePullSecrets": list}})
}

// chartName is name-version, as status.traefik.chart reports it.
func chartName(ch *chart.Chart) string {
	if ch.Metadata == nil {
		return ""
	}
	return ch.Metadata.Name + "-" + ch.Metadata.Version
}

// findWorkload returns the Traefik Deployment or DaemonSet among objs,
// if any.
func findWorkload(objs []*unstructured.Unstructured) workload {
	for _, o := range objs {
		if k := o.GetKind(); (k == "Deployment" || k == "DaemonSet") && o.GroupVersionKind().Group == "apps" {
			return workload{kind: k, key: types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}}
		}
	}
	return workload{}
}

// OfflineLimits implements component.OfflineLimiter: OfflineInputs
// neither fetches a chart from a repository nor reads valuesFrom, and
// draws no password for a generated dashboard Secret.
func (c *Component) OfflineLimits(cn *v1alpha1.ClusterNetworking) []string {
	spec := cn.Spec.Traefik
	var limits []string
	if src := spec.Chart; src != nil {
		limits = append(limits, fmt.Sprintf("spec.traefik.chart (%s %s from %q) is not fetched offline: the embedded chart is rendered instead",
			src.Name, src.Version, src.Repository))
	}
	if len(spec.ValuesFrom) > 0 {
		refs := make([]string, len(spec.ValuesFrom))
		for i, r := range spec.ValuesFrom {
			refs[i] = r.Kind + " " + r.Name
		}
		limits = append(limits, fmt.Sprintf("spec.traefik.valuesFrom is not read offline: the values of %s are left out, only spec.traefik.values is rendered",
			strings.Join(refs, ", ")))
	}
	if name, generated := dashboardSecret(&spec); spec.Dashboard.Enabled && generated {
		limits = append(limits, fmt.Sprintf("the dashboard's generated Secret %s is not rendered offline: its password is drawn in the cluster", name))
	}
	return limits
}

var (
	_ component.OfflineRenderer = (*Component)(nil)
	_ component.OfflineLimiter  = (*Component)(nil)
)

// OfflineInputs implements component.OfflineRenderer: the embedded chart
// (or none other: a remote chart is not fetched), spec.values only
// (valuesFrom is not read) and the dashboard bound to the Secret it names,
// or to the name of the Secret wharf would generate (which is not rendered:
// its password is drawn in the cluster).
func (c *Component) OfflineInputs(cn *v1alpha1.ClusterNetworking) (component.Facts, error) {
	spec := cn.Spec.Traefik
	f := newFacts(cn)
	if spec.Dashboard.Enabled {
		f.dashboardSecret, _ = dashboardSecret(&spec)
		f.in.DashboardSecret = f.dashboardSecret
	}
	return f, nil
}
