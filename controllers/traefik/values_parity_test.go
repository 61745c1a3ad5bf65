package traefik

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/wharf-dev/wharf/controllers/component"
)

// chartReadme is the embedded chart's README, whose values table names a
// golden case for every upstream key the chart implements.
const chartReadme = "../../templates/traefik/README.md"

var tableRow = regexp.MustCompile("^\\| `([^`]+)` \\|.*\\| `([^`]+)` \\|$")

// TestValuesTableExercised checks that each key of the README's values
// table is set by the values of the golden case the table names, and that
// the table lists at least 40 keys.
func TestValuesTableExercised(t *testing.T) {
	data, err := os.ReadFile(chartReadme)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start, end := strings.Index(text, "<!-- values-table:start -->"), strings.Index(text, "<!-- values-table:end -->")
	if start < 0 || end < start {
		t.Fatal("the README has no values-table markers")
	}
	rows := 0
	for _, line := range strings.Split(text[start:end], "\n") {
		m := tableRow.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		rows++
		key, name := m[1], m[2]
		if _, err := os.Stat(filepath.Join("testdata", name+".golden.yaml")); err != nil {
			t.Errorf("%s: golden case %s has no golden file: %v", key, name, err)
			continue
		}
		if !setsKey(goldenCaseValues(t, name), strings.Split(key, ".")) {
			t.Errorf("%s: the values of golden case %s do not set it", key, name)
		}
	}
	if rows < 40 {
		t.Errorf("the values table lists %d keys, want at least 40", rows)
	}
}

// setsKey reports whether values holds path; "<name>" matches any key.
func setsKey(values any, path []string) bool {
	if len(path) == 0 {
		return true
	}
	m, ok := values.(map[string]any)
	if !ok {
		return false
	}
	if path[0] == "<name>" {
		for _, v := range m {
			if setsKey(v, path[1:]) {
				return true
			}
		}
		return false
	}
	v, ok := m[path[0]]
	return ok && setsKey(v, path[1:])
}

// TestValuesUnknownKeyRefused: a key the chart does not implement stalls
// with InvalidValues naming it, and points at spec.traefik.chart.
func TestValuesUnknownKeyRefused(t *testing.T) {
	for _, tc := range []struct{ values, key string }{
		{`{"additionalArgumnets": ["--log.level=DEBUG"]}`, "additionalArgumnets"},
		{`{"ports": {"web": {"redirections": {"entrypoint": {"to": "websecure"}}}}}`, "entrypoint"},
		{`{"deployment": {"podAnotations": {"a": "b"}}}`, "podAnotations"},
		{`{"logs": {"access": {"enable": true}}}`, "enable"},
		{`{"providers": {"kubernetesGateway": {"enabeld": true}}}`, "enabeld"},
	} {
		_, err := renderDefaulted(t, withValues(specWithValues(t, nil), tc.values), Inputs{})
		s, ok := component.AsStalled(err)
		if !ok || s.Reason != ReasonInvalidValues {
			t.Errorf("%s: err = %v, want a stall with reason %s", tc.values, err, ReasonInvalidValues)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, tc.key) || !strings.Contains(msg, "spec.traefik.chart") {
			t.Errorf("%s: the message does not name %s and spec.traefik.chart: %s", tc.values, tc.key, msg)
		}
	}
}

// TestValuesUpstreamShapesAccepted: the shapes of the upstream chart's
// past and present versions, and wharf 0.1.0's, render.
func TestValuesUpstreamShapesAccepted(t *testing.T) {
	for _, values := range []string{
		`{"ports": {"web": {"expose": {"default": true}}}}`,
		`{"ports": {"web": {"expose": true}}}`,
		`{"ports": {"web": {"redirectTo": {"port": "websecure"}}}}`,
		`{"ports": {"web": {"redirectTo": "websecure"}}}`,
		`{"deployment": {"hostNetwork": true, "strategy": {"type": "Recreate"}, "additionalVolumeMounts": []}}`,
		`{"metrics": {"prometheus": null}, "ports": {"metrics": null}}`,
	} {
		if _, err := renderDefaulted(t, withValues(specWithValues(t, nil), values), Inputs{}); err != nil {
			t.Errorf("%s: %v", values, err)
		}
	}
}

// TestParityK3sMigration renders the valuesContent of three HelmChartConfigs
// K3s users keep for the upstream chart, and checks the arguments, ports,
// kind and objects the upstream chart gives them.
func TestParityK3sMigration(t *testing.T) {
	render := func(t *testing.T, name string) []*unstructured.Unstructured {
		objs, err := renderDefaulted(t, specWithValues(t, goldenCaseValues(t, "k3s-migration/"+name)), Inputs{})
		if err != nil {
			t.Fatal(err)
		}
		return objs
	}
	t.Run("redirect-https", func(t *testing.T) {
		objs := render(t, "redirect-https")
		args := workloadArgs(t, objs, "Deployment")
		wantArgs(t, args,
			"--entryPoints.web.address=:8000/tcp",
			"--entryPoints.web.http.redirections.entryPoint.to=:443",
			"--entryPoints.web.http.redirections.entryPoint.scheme=https",
			"--entryPoints.web.http.redirections.entryPoint.permanent=true",
			"--entryPoints.websecure.http.tls=true")
		// The older spellings give the same redirection.
		for _, older := range []string{
			`{"ports": {"web": {"redirectTo": {"port": "websecure"}}}}`,
			`{"ports": {"web": {"redirectTo": "websecure"}}}`,
		} {
			objs, err := renderDefaulted(t, withValues(specWithValues(t, nil), older), Inputs{})
			if err != nil {
				t.Fatal(err)
			}
			wantArgs(t, workloadArgs(t, objs, "Deployment"),
				"--entryPoints.web.http.redirections.entryPoint.to=:443",
				"--entryPoints.web.http.redirections.entryPoint.scheme=https")
		}
	})
	t.Run("hostnetwork-daemonset", func(t *testing.T) {
		objs := render(t, "hostnetwork-daemonset")
		if find(objs, "Deployment", "traefik") != nil {
			t.Error("a Deployment was rendered beside the DaemonSet")
		}
		ds := find(objs, "DaemonSet", "traefik")
		if ds == nil {
			t.Fatal("no DaemonSet traefik")
		}
		if hn, _, _ := unstructured.NestedBool(ds.Object, "spec", "template", "spec", "hostNetwork"); !hn {
			t.Error("hostNetwork is not true")
		}
		if u, _, _ := unstructured.NestedFieldNoCopy(ds.Object, "spec", "updateStrategy", "rollingUpdate", "maxUnavailable"); !sameNumber(u, 1) {
			t.Errorf("updateStrategy.rollingUpdate.maxUnavailable = %v, want 1", u)
		}
		wantArgs(t, workloadArgs(t, objs, "DaemonSet"),
			"--entryPoints.web.address=:80/tcp", "--entryPoints.websecure.address=:443/tcp")
		containers, _, _ := unstructured.NestedSlice(ds.Object, "spec", "template", "spec", "containers")
		ports := map[string]any{}
		for _, p := range containers[0].(map[string]any)["ports"].([]any) {
			pm := p.(map[string]any)
			ports[pm["name"].(string)] = pm["containerPort"]
		}
		if !sameNumber(ports["web"], 80) || !sameNumber(ports["websecure"], 443) {
			t.Errorf("container ports = %v, want web 80 and websecure 443", ports)
		}
		sc, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "securityContext", "capabilities", "add")
		if !slices.Equal(sc, []string{"NET_BIND_SERVICE"}) {
			t.Errorf("capabilities.add = %v, want NET_BIND_SERVICE", sc)
		}
		if typ, _, _ := unstructured.NestedString(find(objs, "Service", "traefik").Object, "spec", "type"); typ != "ClusterIP" {
			t.Errorf("Service type %q, want ClusterIP", typ)
		}
	})
	t.Run("accesslog-default-cert", func(t *testing.T) {
		objs := render(t, "accesslog-default-cert")
		wantArgs(t, workloadArgs(t, objs, "Deployment"),
			"--accesslog=true", "--accesslog.format=json", "--accesslog.fields.headers.defaultMode=keep")
		store := find(objs, "TLSStore", "default")
		if store == nil {
			t.Fatal("no TLSStore default")
		}
		if s, _, _ := unstructured.NestedString(store.Object, "spec", "defaultCertificate", "secretName"); s != "wildcard-example-com-tls" {
			t.Errorf("TLSStore default certificate %q", s)
		}
		if store.GetNamespace() != "kube-system" || store.GetAPIVersion() != "traefik.io/v1alpha1" {
			t.Errorf("TLSStore %s in %q", store.GetAPIVersion(), store.GetNamespace())
		}
	})
}

// TestValuesMetricsEntryPoint: metrics are served on the entry point
// named metrics, port 9100, as K3s's values have them.
func TestValuesMetricsEntryPoint(t *testing.T) {
	objs, err := renderDefaulted(t, specWithValues(t, nil), Inputs{})
	if err != nil {
		t.Fatal(err)
	}
	wantArgs(t, workloadArgs(t, objs, "Deployment"),
		"--entryPoints.metrics.address=:9100/tcp", "--metrics.prometheus.entryPoint=metrics")
	d := find(objs, "Deployment", "traefik")
	if p, _, _ := unstructured.NestedString(d.Object, "spec", "template", "metadata", "annotations", "prometheus.io/port"); p != "9100" {
		t.Errorf("prometheus.io/port = %q, want 9100", p)
	}
}

// TestValuesDashboardRoutesConflict: the chart's dashboard IngressRoute and
// wharf's cannot both be enabled.
func TestValuesDashboardRoutesConflict(t *testing.T) {
	spec := withValues(seedsDashboardSpec(), `{"ingressRoute": {"dashboard": {"enabled": true}}}`)
	_, err := renderDefaulted(t, spec, Inputs{DashboardSecret: "authsecret"})
	if s, ok := component.AsStalled(err); !ok || s.Reason != ReasonInvalidValues {
		t.Fatalf("err = %v, want a stall with reason %s", err, ReasonInvalidValues)
	}
}

func workloadArgs(t *testing.T, objs []*unstructured.Unstructured, kind string) []string {
	t.Helper()
	w := find(objs, kind, "traefik")
	if w == nil {
		t.Fatalf("no %s traefik", kind)
	}
	containers, _, _ := unstructured.NestedSlice(w.Object, "spec", "template", "spec", "containers")
	return argsOf(containers[:1])
}

func wantArgs(t *testing.T, args []string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(args, w) {
			t.Errorf("missing argument %s in %v", w, args)
		}
	}
}
