package traefik

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
	"github.com/wharf-dev/wharf/internal/render"
	"github.com/wharf-dev/wharf/templates"
)

// Names of the dashboard objects, in the Traefik namespace.
const (
	// DashboardRouteName is the IngressRoute to api@internal.
	DashboardRouteName = "traefik-dashboard"
	// DashboardMiddlewareName is the basicAuth Middleware the route uses.
	DashboardMiddlewareName = "traefik-dashboard-basicauth"
)

// ReasonInvalidDashboard: the dashboard is enabled without a usable host.
// The API server refuses such a resource; this guards offline rendering.
const ReasonInvalidDashboard = "InvalidDashboard"

var dnsName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

var dashboardTemplates = sync.OnceValues(func() (*render.Templates, error) {
	return render.ParseTemplates(templates.Dashboard, "dashboard/*.yaml")
})

// dashboardData fills the dashboard templates.
type dashboardData struct {
	Namespace      string
	RouteName      string
	MiddlewareName string
	SecretName     string
	Match          string
	EntryPoints    []string
	Labels         map[string]string
	Annotations    map[string]string
}

// DashboardMatch is the rule of the dashboard route: the dashboard and the
// API it calls, on host.
func DashboardMatch(host string) string {
	return fmt.Sprintf("Host(`%s`) && (PathPrefix(`/api`) || PathPrefix(`/dashboard`))", host)
}

// renderDashboard returns the Middleware that checks users against
// secretName and the IngressRoute behind it, in that order: the route is
// never applied before what protects it.
func renderDashboard(spec *v1alpha1.TraefikSpec, values valueLookup, secretName string) ([]*unstructured.Unstructured, error) {
	d := &spec.Dashboard
	if !dnsName.MatchString(d.Host) {
		return nil, component.Stalledf(ReasonInvalidDashboard, "dashboard.host %q must be a lowercase DNS name such as traefik.example.com", d.Host)
	}
	ts, err := dashboardTemplates()
	if err != nil {
		return nil, err
	}
	data := dashboardData{
		Namespace:      spec.Namespace,
		RouteName:      DashboardRouteName,
		MiddlewareName: DashboardMiddlewareName,
		SecretName:     secretName,
		Match:          DashboardMatch(d.Host),
		EntryPoints:    d.EntryPoints,
		Labels: map[string]string{
			"app.kubernetes.io/name":      "traefik",
			"app.kubernetes.io/component": "dashboard",
			"app.kubernetes.io/part-of":   "traefik",
		},
	}
	// Traefik ignores CRD resources without its ingress class when it is
	// told to handle one class only.
	if class, _ := values.str("providers", "kubernetesCRD", "ingressClass"); class != "" {
		data.Annotations = map[string]string{"kubernetes.io/ingress.class": class}
	}
	var objs []*unstructured.Unstructured
	for _, name := range []string{"middleware.yaml", "ingressroute.yaml"} {
		out, err := ts.Execute(name, data)
		if err != nil {
			return nil, err
		}
		docs, err := render.Decode(out)
		if err != nil {
			return nil, fmt.Errorf("dashboard template %s: %w", name, err)
		}
		objs = append(objs, docs...)
	}
	return objs, nil
}

// dashboardURL is where the dashboard is served: https when one of its
// entry points terminates TLS, with the Service port when it is not the
// scheme's default.
func dashboardURL(d *v1alpha1.DashboardSpec, values valueLookup) string {
	eps := d.EntryPoints
	ep, scheme := eps[0], "http"
	if i := slices.IndexFunc(eps, func(e string) bool { return entryPointTLS(values, e) }); i >= 0 {
		ep, scheme = eps[i], "https"
	}
	host := d.Host
	if port, ok := values.num("ports", ep, "exposedPort"); ok && port > 0 {
		if (scheme == "http" && port != 80) || (scheme == "https" && port != 443) {
			host += ":" + strconv.Itoa(port)
		}
	}
	return scheme + "://" + host + "/dashboard/"
}

func entryPointTLS(values valueLookup, ep string) bool {
	on, _ := values.boolean("ports", ep, "tls", "enabled")
	return on
}
