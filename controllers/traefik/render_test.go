package traefik

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
	"github.com/wharf-dev/wharf/internal/defaults"
)

func withValues(spec v1alpha1.TraefikSpec, values string) v1alpha1.TraefikSpec {
	spec.Values = &apiextensionsv1.JSON{Raw: []byte(values)}
	return spec
}

func TestRenderInvalidValuesStalls(t *testing.T) {
	for name, values := range map[string]string{
		"schema":   `{"deployment": {"replicas": "two"}}`,
		"template": `{"ports": {"web": {"expose": false}, "websecure": {"expose": false}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := renderDefaulted(t, withValues(v1alpha1.TraefikSpec{}, values), Inputs{})
			s, ok := component.AsStalled(err)
			if !ok || s.Reason != ReasonInvalidValues {
				t.Fatalf("err = %v, want a stall with reason %s", err, ReasonInvalidValues)
			}
			t.Logf("helm says: %v", err)
		})
	}
	_, err := renderDefaulted(t, withValues(v1alpha1.TraefikSpec{}, `{"deployment": {"replicas": "two"}}`), Inputs{})
	if !strings.Contains(err.Error(), "deployment") || !strings.Contains(err.Error(), "replicas") {
		t.Errorf("the error does not name the key: %v", err)
	}
}

func TestRenderValuesOrder(t *testing.T) {
	spec := withValues(v1alpha1.TraefikSpec{}, `{"deployment": {"replicas": 3}}`)
	objs, err := renderDefaulted(t, spec, Inputs{ValuesFrom: []map[string]any{
		{"deployment": map[string]any{"replicas": 2.0}, "logs": map[string]any{"general": map[string]any{"level": "WARN"}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	d := find(objs, "Deployment", "traefik")
	if r, _, _ := unstructured.NestedFieldNoCopy(d.Object, "spec", "replicas"); !sameNumber(r, 3) {
		t.Errorf("replicas = %v, want 3 (values win over valuesFrom)", r)
	}
	args, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	if !strings.Contains(strings.Join(argsOf(args), " "), "--log.level=WARN") {
		t.Errorf("valuesFrom was not applied: %v", argsOf(args))
	}
	if find(objs, "PodDisruptionBudget", "traefik") == nil {
		t.Errorf("three replicas must come with a PodDisruptionBudget")
	}
}

// sameNumber compares a decoded number, whatever its Go type, to n.
func sameNumber(v any, n int) bool {
	switch x := v.(type) {
	case float64:
		return x == float64(n)
	case int64:
		return x == int64(n)
	case int:
		return x == n
	}
	return false
}

func argsOf(containers []any) []string {
	var out []string
	for _, c := range containers {
		for _, a := range c.(map[string]any)["args"].([]any) {
			out = append(out, a.(string))
		}
	}
	return out
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

func count(objs []*unstructured.Unstructured, kind string) int {
	n := 0
	for _, o := range objs {
		if o.GetKind() == kind {
			n++
		}
	}
	return n
}

func TestRenderDashboard(t *testing.T) {
	objs, err := renderDefaulted(t, seedsDashboardSpec(), Inputs{DashboardSecret: "authsecret"})
	if err != nil {
		t.Fatal(err)
	}
	if count(objs, "IngressRoute") != 1 || count(objs, "Middleware") != 1 {
		t.Fatalf("want one IngressRoute and one Middleware, got %d and %d", count(objs, "IngressRoute"), count(objs, "Middleware"))
	}
	mw := find(objs, "Middleware", DashboardMiddlewareName)
	if s, _, _ := unstructured.NestedString(mw.Object, "spec", "basicAuth", "secret"); s != "authsecret" {
		t.Errorf("Middleware secret = %q, want authsecret", s)
	}
	route := find(objs, "IngressRoute", DashboardRouteName)
	routes, _, _ := unstructured.NestedSlice(route.Object, "spec", "routes")
	r := routes[0].(map[string]any)
	if r["match"] != "Host(`traefik.example.com`) && (PathPrefix(`/api`) || PathPrefix(`/dashboard`))" {
		t.Errorf("match = %v", r["match"])
	}
	svc := r["services"].([]any)[0].(map[string]any)
	if svc["name"] != "api@internal" || svc["kind"] != "TraefikService" {
		t.Errorf("service = %v", svc)
	}
	if mws := r["middlewares"].([]any); len(mws) != 1 || mws[0].(map[string]any)["name"] != DashboardMiddlewareName {
		t.Errorf("the route is not protected by the Middleware: %v", mws)
	}
	// The Middleware is applied before the route it protects.
	if indexOf(objs, mw) > indexOf(objs, route) {
		t.Errorf("the IngressRoute comes before its Middleware")
	}
}

func indexOf(objs []*unstructured.Unstructured, o *unstructured.Unstructured) int {
	for i, x := range objs {
		if x == o {
			return i
		}
	}
	return -1
}

func TestRenderDashboardWithoutSecretRendersNoRoute(t *testing.T) {
	objs, err := renderDefaulted(t, seedsDashboardSpec(), Inputs{})
	if err != nil {
		t.Fatal(err)
	}
	if count(objs, "IngressRoute") != 0 || count(objs, "Middleware") != 0 {
		t.Errorf("a dashboard without a usable Secret must not be rendered")
	}
}

func TestRenderDashboardBadHost(t *testing.T) {
	spec := seedsDashboardSpec()
	spec.Dashboard.Host = "evil`) || Host(`x"
	_, err := renderDefaulted(t, spec, Inputs{DashboardSecret: "authsecret"})
	if s, ok := component.AsStalled(err); !ok || s.Reason != ReasonInvalidDashboard {
		t.Errorf("err = %v, want a stall with reason %s", err, ReasonInvalidDashboard)
	}
}

func TestRenderDashboardIngressClass(t *testing.T) {
	spec := withValues(seedsDashboardSpec(), `{"providers": {"kubernetesCRD": {"ingressClass": "internal"}}}`)
	objs, err := renderDefaulted(t, spec, Inputs{DashboardSecret: "authsecret"})
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"IngressRoute", "Middleware"} {
		for _, o := range objs {
			if o.GetKind() == kind && o.GetAnnotations()["kubernetes.io/ingress.class"] != "internal" {
				t.Errorf("%s lacks the ingress class Traefik filters on", kind)
			}
		}
	}
}

func TestDashboardURL(t *testing.T) {
	for _, tc := range []struct {
		eps    []string
		values string
		want   string
	}{
		{want: "http://traefik.example.com/dashboard/"},
		{eps: []string{"web"}, want: "http://traefik.example.com/dashboard/"},
		{eps: []string{"websecure"}, want: "https://traefik.example.com/dashboard/"},
		{eps: []string{"web", "websecure"}, want: "https://traefik.example.com/dashboard/"},
		{eps: []string{"web"}, values: `{"ports": {"web": {"exposedPort": 8080}}}`, want: "http://traefik.example.com:8080/dashboard/"},
		{eps: []string{"websecure"}, values: `{"ports": {"websecure": {"tls": {"enabled": false}}}}`, want: "http://traefik.example.com:443/dashboard/"},
	} {
		spec := seedsDashboardSpec()
		spec.Dashboard.EntryPoints = tc.eps
		if tc.values != "" {
			spec = withValues(spec, tc.values)
		}
		spec = defaulted(t, spec)
		r, err := build(&spec, Inputs{DashboardSecret: "authsecret"})
		if err != nil {
			t.Fatal(err)
		}
		if r.dashboardURL != tc.want {
			t.Errorf("entry points %v, values %s: URL = %q, want %q", tc.eps, tc.values, r.dashboardURL, tc.want)
		}
	}
}

func TestRenderCacheHandsOutCopies(t *testing.T) {
	var rc renderCache
	spec := defaulted(t, seedsDashboardSpec())
	in := Inputs{DashboardSecret: "authsecret"}
	a, err := rc.build(&spec, in, "embedded")
	if err != nil {
		t.Fatal(err)
	}
	a.objects[0].SetLabels(map[string]string{"mutated": "yes"})
	first := rc.last
	b, err := rc.build(&spec, in, "embedded")
	if err != nil {
		t.Fatal(err)
	}
	if rc.last != first {
		t.Errorf("unchanged inputs rendered again")
	}
	if b.objects[0].GetLabels()["mutated"] == "yes" {
		t.Errorf("the cache handed out an object the caller had changed")
	}
	spec.Dashboard.Host = "other.example.com"
	if _, err := rc.build(&spec, in, "embedded"); err != nil || rc.last == first {
		t.Errorf("changed inputs did not render again (err %v)", err)
	}
}

func TestRenderOffline(t *testing.T) {
	cn := newTestCN()
	objs, err := renderOffline(cn)
	if err != nil {
		t.Fatal(err)
	}
	mw := find(objs, "Middleware", DashboardMiddlewareName)
	if s, _, _ := unstructured.NestedString(mw.Object, "spec", "basicAuth", "secret"); s != GeneratedSecretName {
		t.Errorf("offline Middleware secret = %q, want the generated name %s", s, GeneratedSecretName)
	}
}

// TestRenderClusterImageSettings: spec.systemDefaultRegistry and
// spec.imagePullSecrets reach the Deployment through Render and through
// the render cache, whose key must hold them.
func TestRenderClusterImageSettings(t *testing.T) {
	cn := newTestCN()
	cn.Spec.SystemDefaultRegistry = "registry.example.com:5000"
	cn.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "regcred"}}
	objs, err := renderOffline(cn)
	if err != nil {
		t.Fatal(err)
	}
	checkImage(t, objs, "registry.example.com:5000/traefik:", "regcred")

	var rc renderCache
	spec := defaulted(t, v1alpha1.TraefikSpec{})
	if _, err := rc.build(&spec, Inputs{}, "embedded"); err != nil {
		t.Fatal(err)
	}
	r, err := rc.build(&spec, InputsFor(cn), "embedded")
	if err != nil {
		t.Fatal(err)
	}
	checkImage(t, r.objects, "registry.example.com:5000/traefik:", "regcred")
}

func checkImage(t *testing.T, objs []*unstructured.Unstructured, imagePrefix, pullSecret string) {
	t.Helper()
	pod, _, _ := unstructured.NestedMap(find(objs, "Deployment", "traefik").Object, "spec", "template", "spec")
	if img := pod["containers"].([]any)[0].(map[string]any)["image"].(string); !strings.HasPrefix(img, imagePrefix) {
		t.Errorf("image %s, want %s...", img, imagePrefix)
	}
	if ps, _ := pod["imagePullSecrets"].([]any); len(ps) != 1 || ps[0].(map[string]any)["name"] != pullSecret {
		t.Errorf("imagePullSecrets %v, want %s", pod["imagePullSecrets"], pullSecret)
	}
}

// renderDefaulted renders spec as the operator sees it: with the defaults
// the API server fills from the CRD.
func renderDefaulted(tb testing.TB, spec v1alpha1.TraefikSpec, in Inputs) ([]*unstructured.Unstructured, error) {
	tb.Helper()
	return Render(defaulted(tb, spec), in)
}

// defaulted returns spec with the CRD's defaults.
func defaulted(tb testing.TB, spec v1alpha1.TraefikSpec) v1alpha1.TraefikSpec {
	tb.Helper()
	s, err := defaults.Spec(v1alpha1.ClusterNetworkingSpec{Traefik: spec})
	if err != nil {
		tb.Fatal(err)
	}
	return s.Traefik
}

func renderOffline(cn *v1alpha1.ClusterNetworking) ([]*unstructured.Unstructured, error) {
	c := New(component.Deps{})
	f, err := c.OfflineInputs(cn)
	if err != nil {
		return nil, err
	}
	return c.Render(cn, f)
}
