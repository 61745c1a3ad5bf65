package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCmd(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "-version", "version"} {
		code, out, errOut := runCmd(arg)
		if code != 0 || out != version+"\n" || errOut != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 0 and %q", arg, code, out, errOut, version+"\n")
		}
	}
}

// TestWrongFlag wants one line for a flag that does not exist: the error,
// once, and no usage.
func TestWrongFlag(t *testing.T) {
	code, out, errOut := runCmd("--no-such-flag")
	if code != 1 || out != "" {
		t.Errorf("exit %d, stdout %q; want 1 and nothing", code, out)
	}
	if strings.Count(errOut, "-no-such-flag") != 1 || strings.Contains(errOut, "Usage") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("stderr:\n%s\nwant one line naming the flag", errOut)
	}
}

func TestHelp(t *testing.T) {
	code, out, errOut := runCmd("--help")
	if code != 0 || strings.Count(out, "Usage: manager") != 1 || errOut != "" {
		t.Errorf("exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
	if !strings.Contains(out, "-version") {
		t.Error("the usage does not list -version")
	}
}

// TestRenderSaysItDoesNotValidate: manager render does not link the API
// server's validation, so it renders an invalid resource, and says on
// standard error where validation is.
func TestRenderSaysItDoesNotValidate(t *testing.T) {
	code, out, errOut := runCmd("render", "-f", "../config/samples/clusternetworking.yaml")
	if code != 0 || !strings.Contains(out, "kind: Deployment") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "kubectl-wharf") {
		t.Errorf("stderr %q does not point to kubectl-wharf", errOut)
	}
	code, _, errOut = runCmd("render", "--help")
	if code != 0 || !strings.Contains(errOut, "does not validate") {
		t.Errorf("render --help: exit %d, %q", code, errOut)
	}
}

// TestRenderNotesWhatItLeavesOut: manager render says on standard error
// that it does not fetch a chart from a repository nor read valuesFrom.
func TestRenderNotesWhatItLeavesOut(t *testing.T) {
	file := filepath.Join(t.TempDir(), "cn.yaml")
	doc := "apiVersion: networking.wharf.dev/v1alpha1\nkind: ClusterNetworking\nmetadata: {name: cluster}\n" +
		"spec: {traefik: {chart: {repository: 'oci://registry.example.com/charts', name: traefik, version: 37.1.0}, " +
		"valuesFrom: [{kind: Secret, name: traefik-values}]}}\n"
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd("render", "-f", file)
	if code != 0 || !strings.Contains(out, "kind: Deployment") || strings.Contains(out, "note:") {
		t.Fatalf("exit %d, stderr %s, stdout:\n%s", code, errOut, out)
	}
	for _, want := range []string{"note: traefik: spec.traefik.chart (traefik 37.1.0 from \"oci://registry.example.com/charts\") is not fetched offline",
		"note: traefik: spec.traefik.valuesFrom is not read offline: the values of Secret traefik-values are left out"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr does not say %q:\n%s", want, errOut)
		}
	}
}
