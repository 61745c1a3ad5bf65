package ship

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/wharf-dev/wharf/controllers"
	"github.com/wharf-dev/wharf/internal/testenv"
)

// Names fixed by the design (DESIGN.md) and by config/.
const (
	systemNamespace  = "wharf-system"
	managerName      = "wharf-manager"
	serviceAccount   = "wharf-manager"
	leaderElectionID = controllers.LeaderElectionID
	crdName          = "clusternetworkings.networking.wharf.dev"
	installPath      = "dist/install.yaml"
	samplePath       = "config/samples/clusternetworking.yaml"
	defaultImageRepo = "ghcr.io/wharf-dev/wharf"
)

// repoPath returns a path inside the repository.
func repoPath(parts ...string) string {
	return filepath.Join(append([]string{testenv.RepoRoot()}, parts...)...)
}

// readFile returns a repository file's content.
func readFile(t testing.TB, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(repoPath(rel))
	if err != nil {
		t.Fatalf("read %s: %v", rel, err)
	}
	return data
}

// kubectl returns the path of the kubectl that `make envtest` builds.
func kubectl(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs kubectl from bin/tools; skipped with -short")
	}
	path := filepath.Join(testenv.BinDir(), "kubectl")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("kubectl is missing from %s: run `make envtest` (bash hack/tools.sh) to build it", testenv.BinDir())
	}
	return path
}

// run runs a command in the repository root and returns its stdout; it
// fails the test with stderr when the command fails.
func run(t testing.TB, env []string, name string, args ...string) string {
	t.Helper()
	out, errOut, err := runCode(t, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, errOut, out)
	}
	return out
}

// runCode runs a command in the repository root and returns stdout,
// stderr and the error, for commands whose exit code is the answer.
func runCode(t testing.TB, env []string, name string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = testenv.RepoRoot()
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// decodeAll splits multi-document YAML into objects, skipping empty ones.
// Integers stay int64, as the API machinery expects.
func decodeAll(t testing.TB, what string, data []byte) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for i, doc := range splitYAML(data) {
		js, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatalf("%s: document %d: %v", what, i, err)
		}
		if s := strings.TrimSpace(string(js)); s == "null" || s == "{}" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(js); err != nil {
			t.Fatalf("%s: document %d: %v", what, i, err)
		}
		out = append(out, u)
	}
	return out
}

// splitYAML splits a YAML stream at document separators.
func splitYAML(data []byte) []string {
	var docs []string
	var cur strings.Builder
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if strings.TrimRight(line, " \t\r\n") == "---" {
			docs = append(docs, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteString(line)
	}
	return append(docs, cur.String())
}

// find returns the object of the kind and name, or fails.
func find(t testing.TB, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s", kind, name)
	return nil
}

// ofKind returns the objects of a kind.
func ofKind(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}
