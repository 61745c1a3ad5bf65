// Package traefik manages Traefik from the ClusterNetworking resource: it
// renders the Traefik Helm chart (embedded, or fetched from a repository)
// with the values of spec.traefik, and exposes the dashboard behind a
// basicAuth Middleware. See README.md for the behaviour users see.
package traefik

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
	"github.com/wharf-dev/wharf/internal/helmrelease"
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

	mu   sync.Mutex
	last lastRender

	recheck        chan event.GenericEvent
	recheckPending atomic.Bool

	// secretGoneFrom is the namespace known to hold no dashboard Secret
	// wharf generated since Traefik was disabled, so that a disabled
	// Traefik costs no read per reconcile.
	secretGoneFrom atomic.Pointer[string]
}

// lastRender is what the latest Render found, for Observe to report.
type lastRender struct {
	*rendered
	dashboardSecret  string
	dashboardProblem error
	// adoptable are the objects of the Helm releases named in
	// spec.adoptHelmReleases that wharf renders too, in namespace.
	adoptable []helmrelease.Object
	// marks are the release records AfterApply marks.
	marks     []recordMark
	namespace string
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

// Render implements component.Component: it reads the valuesFrom
// documents, takes the chart when one is named and fetched (else starts
// fetching it in the background and reports ChartFetching, leaving what
// runs as it is), makes sure the dashboard's Secret exists and is usable,
// and renders.
func (c *Component) Render(ctx context.Context, cn *v1alpha1.ClusterNetworking) ([]*unstructured.Unstructured, error) {
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
	in := InputsFor(cn)
	in.ValuesFrom = docs
	chartID := "embedded"
	if src := spec.Chart; src != nil {
		if in.Chart, err = c.charts.Start(*src); err != nil {
			return nil, err
		}
		chartID = chartKey(*src)
	}
	last := lastRender{}
	if spec.Dashboard.Enabled {
		name, problem, err := c.ensureDashboardSecret(ctx, cn)
		if err != nil {
			return nil, err
		}
		last.dashboardSecret, last.dashboardProblem = name, problem
		if problem == nil {
			in.DashboardSecret = name
		}
	}
	if last.rendered, err = c.cache.build(&spec, in, chartID); err != nil {
		return nil, err
	}
	last.namespace = spec.Namespace
	if last.adoptable, last.marks, err = c.planReleases(ctx, cn, last.objects); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.last = last
	c.mu.Unlock()
	return last.objects, nil
}

// Disable implements component.Disabler: it removes the generated
// dashboard Secret and the traefik section of status. The frame prunes
// the rest, holding back CRDs still in use (see FilterPrune).
func (c *Component) Disable(ctx context.Context, cn *v1alpha1.ClusterNetworking, status *v1alpha1.ClusterNetworkingStatus) (component.Cleanup, error) {
	if err := c.deleteGeneratedSecret(ctx, cn); err != nil {
		return component.Cleanup{}, err
	}
	status.Traefik = nil
	return component.Cleanup{}, nil
}

func (c *Component) lastRender() lastRender {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
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
