// Package traefik manages Traefik from the ClusterNetworking resource: it
// renders the Traefik Helm chart (embedded, or fetched from a repository)
// with the values of spec.traefik, and exposes the dashboard behind a
// basicAuth Middleware. See README.md for the behaviour users see.
package traefik

import (
	"context"
	"fmt"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
	"github.com/wharf-dev/wharf/internal/render"
)

// What the component applies, prunes and watches. The operator also holds
// every permission the Traefik ClusterRole grants (the API server refuses
// to let it create a role granting more than it has): services, secrets,
// nodes, configmaps, endpointslices, ingresses, ingressclasses,
// ingresses/status and the traefik.io resources. It reads K3s's
// HelmChartConfigs named by valuesFrom.
//
// +kubebuilder:rbac:groups=helm.cattle.io,resources=helmchartconfigs,verbs=get;list;watch
//
// CustomResourceDefinitions: wharf reads, applies and deletes only the
// traefik.io ones it ships (templates/traefik/crds), by name, create
// included: it creates them by server-side apply only, and the API server
// authorizes the create of an apply with the object's name (a POST create
// carries the name in its body, which RBAC does not see, so a named create
// rule never allows a POST).
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get;create;patch;delete,resourceNames=ingressroutes.traefik.io;ingressroutetcps.traefik.io;ingressrouteudps.traefik.io;middlewares.traefik.io;middlewaretcps.traefik.io;serverstransports.traefik.io;serverstransporttcps.traefik.io;tlsoptions.traefik.io;tlsstores.traefik.io;traefikservices.traefik.io
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=services;serviceaccounts,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=configmaps;nodes,verbs=get;list;watch
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=list;watch
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles;clusterrolebindings,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingressclasses,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses/status,verbs=update
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=traefik.io,resources=ingressroutes;middlewares,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=traefik.io,resources=ingressroutetcps;ingressrouteudps;middlewaretcps;serverstransports;serverstransporttcps;tlsoptions;tlsstores;traefikservices,verbs=get;list;watch

const (
	componentName = "traefik"
	fieldManager  = component.FieldManager
)

// Component is the Traefik component.
type Component struct {
	deps   component.Deps
	charts *ChartFetcher
	cache  renderCache

	recheck        chan event.GenericEvent
	recheckPending atomic.Bool
}

// facts are what Inputs gathers for Render and the phases after the apply.
type facts struct {
	// in is what the chart is rendered with.
	in Inputs
	// chartID names in.Chart for the render cache.
	chartID string
	// dashboardSecret names the dashboard's Secret; dashboardProblem says
	// why it cannot be used (the dashboard is then not rendered).
	dashboardSecret  string
	dashboardProblem error
	// generated is the dashboard Secret wharf generates, to apply: the
	// data it holds in the cluster, or new credentials when it does not
	// exist (drawn is then true). Nil when the dashboard uses a Secret of
	// the user's.
	generated *corev1.Secret
	drawn     bool
	// releases are the records of the Helm releases named in
	// spec.adoptHelmReleases, in namespace (spec.traefik.namespace).
	releases  []releaseRecord
	namespace string
}

// newFacts returns the facts that come from cn alone: the embedded chart,
// no values documents, no dashboard Secret, no release records.
func newFacts(cn *v1alpha1.ClusterNetworking) facts {
	return facts{in: InputsFor(cn), chartID: "embedded", namespace: cn.Spec.Traefik.Namespace}
}

// New returns the Traefik component. Remote charts are cached in
// DefaultChartCacheDir.
func New(deps component.Deps) *Component {
	c := &Component{deps: deps, recheck: make(chan event.GenericEvent, 1)}
	c.charts = &ChartFetcher{Notify: c.poke}
	return c
}

// Name implements component.Component.
func (c *Component) Name() string { return componentName }

// ConditionType implements component.Component.
func (c *Component) ConditionType() string { return v1alpha1.ConditionTraefikReady }

// Enabled implements component.Component.
func (c *Component) Enabled(cn *v1alpha1.ClusterNetworking) bool { return cn.Spec.Traefik.IsEnabled() }

// Inputs implements component.Component: it reads the valuesFrom
// documents, takes the chart when one is named and fetched (else starts
// fetching it in the background and reports ChartFetching, leaving what
// runs as it is), reads the dashboard's Secret (drawing new credentials
// when the generated one does not exist yet) and the records of the Helm
// releases to adopt.
func (c *Component) Inputs(ctx context.Context, cn *v1alpha1.ClusterNetworking) (component.Facts, error) {
	spec := cn.Spec.Traefik
	if readsHelmChartConfig(&spec) {
		// HelmChartConfigs are not watched (the CRD may come and go):
		// they are read again at least once a minute.
		c.scheduleRecheck()
	}
	docs, err := resolveValuesFrom(ctx, c.deps.Reader, &spec)
	if err != nil {
		return nil, err
	}
	f := newFacts(cn)
	f.in.ValuesFrom = docs
	if src := spec.Chart; src != nil {
		if f.in.Chart, err = c.charts.Start(*src); err != nil {
			return nil, err
		}
		f.chartID = chartKey(*src)
	}
	if spec.Dashboard.Enabled {
		if err := c.dashboardFacts(ctx, cn, &f); err != nil {
			return nil, err
		}
	}
	if f.releases, err = c.releaseRecords(ctx, &spec); err != nil {
		return nil, err
	}
	return f, nil
}

// Render implements component.Component: the generated dashboard Secret,
// if any, then the chart's objects and the dashboard's (see Render).
func (c *Component) Render(cn *v1alpha1.ClusterNetworking, fs component.Facts) ([]*unstructured.Unstructured, error) {
	f := fs.(facts)
	r, err := c.cache.build(&cn.Spec.Traefik, f.in, f.chartID)
	if err != nil {
		return nil, err
	}
	if f.generated == nil {
		return r.objects, nil
	}
	secret, err := render.FromTyped(f.generated)
	if err != nil {
		return nil, err
	}
	return append([]*unstructured.Unstructured{secret}, r.objects...), nil
}

// Disable implements component.Disabler: it removes the traefik section of
// status. The frame prunes what wharf applied, the generated dashboard
// Secret included, holding back CRDs still in use (see FilterPrune).
func (c *Component) Disable(_ context.Context, _ *v1alpha1.ClusterNetworking, status *v1alpha1.ClusterNetworkingStatus) (component.Cleanup, error) {
	status.Traefik = nil
	return component.Cleanup{}, nil
}

// event records an Event on cn; the note never carries a secret.
func (c *Component) event(cn *v1alpha1.ClusterNetworking, eventType, reason, action, note string, args ...any) {
	if c.deps.Events == nil {
		return
	}
	c.deps.Events.Eventf(cn, nil, eventType, reason, action, note, args...)
}

// dashboardProblemHealth reports a dashboard that is not exposed.
func dashboardProblemHealth(problem error) component.Health {
	return component.Health{
		Reason:  ReasonDashboardSecretInvalid,
		Message: fmt.Sprintf("the dashboard is not exposed until its Secret is fixed: %v", problem),
	}
}
