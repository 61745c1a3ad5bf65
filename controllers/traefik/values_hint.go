package traefik

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
)

// upstreamChartHint ends the embedded chart's refusals: its values schema
// is closed, so a key it does not implement is refused rather than
// silently ignored.
const upstreamChartHint = "the embedded chart implements the upstream traefik chart's values interface " +
	"(templates/traefik/README.md lists the keys); users who need the upstream chart itself point spec.traefik.chart at it"

// embeddedValuesError adds upstreamChartHint, on a line of its own, to an
// error of the embedded chart.
func embeddedValuesError(err error) error {
	return &hintError{err: err}
}

type hintError struct{ err error }

func (e *hintError) Error() string {
	return strings.TrimRight(e.err.Error(), "\n") + "\n" + upstreamChartHint
}

func (e *hintError) Unwrap() error { return e.err }

// checkDashboardRoutes refuses the chart's own dashboard IngressRoute
// (ingressRoute.dashboard.enabled) when spec.traefik.dashboard is enabled
// too: both are named traefik-dashboard.
func checkDashboardRoutes(spec *v1alpha1.TraefikSpec, objs []*unstructured.Unstructured) error {
	if !spec.Dashboard.Enabled {
		return nil
	}
	for _, o := range objs {
		if o.GetKind() == "IngressRoute" && o.GetName() == DashboardRouteName && o.GetNamespace() == spec.Namespace {
			return component.Stalledf(ReasonInvalidValues,
				"ingressRoute.dashboard.enabled and spec.traefik.dashboard.enabled both expose the dashboard as IngressRoute %s: enable one of them",
				DashboardRouteName)
		}
	}
	return nil
}
