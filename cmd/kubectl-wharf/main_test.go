package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/wharf-dev/wharf/internal/defaults"
	"github.com/wharf-dev/wharf/internal/preview"
	"github.com/wharf-dev/wharf/internal/render"
)

const sample = "../../config/samples/clusternetworking.yaml"

func runCmd(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "version"} {
		code, out, _ := runCmd(t, "", arg)
		if code != 0 || out != version+"\n" {
			t.Errorf("%s: exit %d, %q; want 0, %q", arg, code, out, version+"\n")
		}
	}
}

func TestValidateAndRenderTheSample(t *testing.T) {
	code, out, errOut := runCmd(t, "", "validate", "-f", sample)
	if code != 0 || !strings.Contains(out, "clusternetworking.networking.wharf.dev/cluster is valid") {
		t.Errorf("validate: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, "", "render", "-f", sample)
	if code != 0 {
		t.Fatalf("render: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"kind: Deployment", "name: coredns", "10.0.0.51 k3s.test.org", "kind: IngressRoute"} {
		if !strings.Contains(out, want) {
			t.Errorf("render's output has no %q", want)
		}
	}
}

// TestRenderMatchesTheManager renders the sample with kubectl-wharf (the
// API server's structural defaulting) and through the path of `manager
// render` (internal/defaults): both must print the same objects.
func TestRenderMatchesTheManager(t *testing.T) {
	data, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	code, plugin, errOut := runCmd(t, string(data), "render", "-f", "-")
	if code != 0 {
		t.Fatalf("render: %s", errOut)
	}
	u, err := preview.Find(data, sample)
	if err != nil {
		t.Fatal(err)
	}
	cn, err := preview.Typed(u, sample)
	if err != nil {
		t.Fatal(err)
	}
	if err := defaults.Apply(cn); err != nil {
		t.Fatal(err)
	}
	objs, _, err := preview.Objects(cn)
	if err != nil {
		t.Fatal(err)
	}
	var manager bytes.Buffer
	if err := preview.Write(&manager, objs); err != nil {
		t.Fatal(err)
	}
	if plugin != manager.String() {
		t.Errorf("kubectl-wharf render and manager render differ for %s", sample)
	}
}

func TestRefusesWhatTheAPIServerRefuses(t *testing.T) {
	for name, tc := range map[string]struct{ doc, want string }{
		"bad ip": {`{coredns: {extraHosts: [{ip: 10.0.0.999, hostnames: [a.example.com]}]}}`,
			`spec.coredns.extraHosts[0].ip: Invalid value: "10.0.0.999"`},
		"not an ip": {`{coredns: {extraHosts: [{ip: not-an-ip, hostnames: [a.example.com]}]}}`,
			`spec.coredns.extraHosts[0].ip: Invalid value: "not-an-ip"`},
		"bad hostname": {`{coredns: {extraHosts: [{ip: 10.0.0.5, hostnames: [Bad_Host]}]}}`,
			`spec.coredns.extraHosts[0].hostnames[0]: Invalid value: "Bad_Host"`},
		"unprotected dashboard": {`{traefik: {dashboard: {enabled: true, host: t.example.com}}}`,
			`the dashboard must be protected`},
	} {
		doc := "apiVersion: networking.wharf.dev/v1alpha1\nkind: ClusterNetworking\nmetadata: {name: cluster}\nspec: " + tc.doc + "\n"
		for _, cmd := range []string{"validate", "render"} {
			code, out, errOut := runCmd(t, doc, cmd, "-f", "-")
			if code != 1 || out != "" {
				t.Errorf("%s, %s: exit %d with output %q; want 1 and nothing", name, cmd, code, out)
			}
			if !strings.Contains(errOut, tc.want) || !strings.HasPrefix(errOut, "error: -: ClusterNetworking.networking.wharf.dev \"cluster\" is invalid: ") {
				t.Errorf("%s, %s: %q does not say %q", name, cmd, errOut, tc.want)
			}
		}
	}
}

func TestUsage(t *testing.T) {
	if code, _, errOut := runCmd(t, ""); code != 2 || !strings.Contains(errOut, "Usage: kubectl-wharf validate -f FILE") {
		t.Errorf("no arguments: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCmd(t, "", "apply"); code != 2 || !strings.Contains(errOut, `unknown command "apply"`) {
		t.Errorf("unknown command: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCmd(t, "", "validate"); code != 1 || !strings.Contains(errOut, "needs -f FILE") {
		t.Errorf("validate without -f: exit %d, %q", code, errOut)
	}
}

// TestRenderNotesWhatItLeavesOut: a chart from a repository and valuesFrom
// are not read without a cluster; render says so on standard error, once
// each, and standard output stays the objects alone.
func TestRenderNotesWhatItLeavesOut(t *testing.T) {
	doc := "apiVersion: networking.wharf.dev/v1alpha1\nkind: ClusterNetworking\nmetadata: {name: cluster}\n" +
		"spec: {traefik: {chart: {repository: 'https://charts.example.com', name: traefik, version: 37.1.0}, " +
		"valuesFrom: [{kind: ConfigMap, name: traefik-values}]}}\n"
	code, out, errOut := runCmd(t, doc, "render", "-f", "-")
	if code != 0 {
		t.Fatalf("render: exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"note: traefik: spec.traefik.chart (traefik 37.1.0 from \"https://charts.example.com\") is not fetched offline",
		"note: traefik: spec.traefik.valuesFrom is not read offline: the values of ConfigMap traefik-values are left out",
	} {
		if strings.Count(errOut, want) != 1 {
			t.Errorf("stderr does not say %q once:\n%s", want, errOut)
		}
	}
	if _, err := render.Decode([]byte(out)); err != nil || strings.Contains(out, "note:") || !strings.Contains(out, "kind: Deployment") {
		t.Errorf("stdout is not the objects alone (decode: %v):\n%s", err, out)
	}
}
