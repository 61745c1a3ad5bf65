package main

import (
	"os/exec"
	"strings"
	"testing"
)

// heavy are the API server's validation libraries: kubectl-wharf links
// them, the manager must not (they cost it about 12 MiB of memory).
var heavy = []string{
	"k8s.io/apiserver/",
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation",
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel",
	"github.com/google/cel-go/",
}

func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

func linked(all []string) []string {
	var found []string
	for _, p := range all {
		for _, h := range heavy {
			if strings.HasPrefix(p, h) {
				found = append(found, p)
				break
			}
		}
	}
	return found
}

func TestManagerLeavesOutTheValidationLibraries(t *testing.T) {
	if found := linked(deps(t, ".")); len(found) > 0 {
		t.Errorf("the manager links %d packages of the API server's validation, such as %s: keep them in kubectl-wharf", len(found), found[0])
	}
	if found := linked(deps(t, "./kubectl-wharf")); len(found) == 0 {
		t.Errorf("kubectl-wharf links none of %v: this test no longer tells what it claims", heavy)
	}
}

// wrangler and Helm's install and uninstall actions stand in for K3s's
// deploy controller and helm-controller in tests only; the manager must not
// link them, nor Helm's release storage, which brings SQL drivers along.
var testOnly = []string{
	"github.com/rancher/",
	"helm.sh/helm/v3/pkg/action",
	"helm.sh/helm/v3/pkg/storage",
	"github.com/lib/pq",
}

func TestManagerLeavesOutTestOnlyDependencies(t *testing.T) {
	for _, p := range deps(t, ".") {
		for _, prefix := range testOnly {
			if strings.HasPrefix(p, prefix) {
				t.Errorf("the manager links %s, a test-only dependency", p)
			}
		}
	}
}

// The API package is imported by anyone who reads a ClusterNetworking
// (GitOps tools, other operators): it must not pull controller-runtime in.
func TestAPIPackageLeavesOutControllerRuntime(t *testing.T) {
	for _, p := range deps(t, "../api/v1alpha1") {
		if strings.HasPrefix(p, "sigs.k8s.io/controller-runtime") {
			t.Errorf("api/v1alpha1 links %s: register its types with apimachinery's runtime.SchemeBuilder", p)
		}
	}
}
