// Package generate checks that the committed generated files (CRD, RBAC,
// deepcopy) are what `make manifests generate` produces from the sources.
package generate

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/wharf-dev/wharf/config/crd"
	"github.com/wharf-dev/wharf/internal/crdref"
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func controllerGen(t *testing.T, root string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"tool", "controller-gen"}, args...)...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("controller-gen %v: %v\n%s", args, err, out)
	}
}

func sameFiles(t *testing.T, committed, generated string) {
	t.Helper()
	entries, err := os.ReadDir(generated)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatalf("controller-gen wrote nothing to %s", generated)
	}
	for _, e := range entries {
		want, err := os.ReadFile(filepath.Join(generated, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(committed, e.Name()))
		if err != nil {
			t.Fatalf("%s is not committed: run `make manifests generate`", filepath.Join(committed, e.Name()))
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run `make manifests generate` and commit the result", filepath.Join(committed, e.Name()))
		}
	}
}

// TestGeneratedFilesAreCurrent regenerates into temporary directories and
// compares with what is committed.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	root := repoRoot()
	crds, rbac, objects := t.TempDir(), t.TempDir(), t.TempDir()
	controllerGen(t, root, "rbac:roleName=wharf-manager", "crd", "paths=./api/...", "paths=./controllers/...",
		"output:crd:dir="+crds, "output:rbac:dir="+rbac)
	controllerGen(t, root, "object:headerFile=hack/boilerplate.go.txt", "paths=./api/...", "output:object:dir="+objects)
	sameFiles(t, filepath.Join(root, "config", "crd", "bases"), crds)
	sameFiles(t, filepath.Join(root, "config", "rbac"), rbac)
	sameFiles(t, filepath.Join(root, "api", "v1alpha1"), objects)
}

// TestReferenceIsCurrent checks docs/reference.md was written from the
// committed CRD.
func TestReferenceIsCurrent(t *testing.T) {
	root := repoRoot()
	var buf bytes.Buffer
	if err := crdref.Write(&buf, crd.ClusterNetworking); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "docs", "reference.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, buf.Bytes()) {
		t.Fatal("docs/reference.md is stale: run `make docs` and commit the result")
	}
	if !bytes.Contains(got, []byte("`spec.coredns.extraHosts[].ip`")) {
		t.Fatal("the reference misses spec.coredns.extraHosts[].ip")
	}
}
