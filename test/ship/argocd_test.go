package ship

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/yaml"
)

const (
	argoDir       = "config/argocd"
	argoHealthKey = "resource.customizations.health.networking.wharf.dev_ClusterNetworking"
)

// argoHealthCases is config/argocd/health_test.yaml.
type argoHealthCases struct {
	Tests []struct {
		HealthStatus struct {
			Status  string `json:"status"`
			Message string `json:"message"`
		} `json:"healthStatus"`
		InputPath string `json:"inputPath"`
	} `json:"tests"`
}

// argoHealth runs an Argo CD health script the way Argo CD does: the
// resource as the global obj (JSON decoded into Lua tables), only the safe
// standard libraries open, and the returned table's status and message.
func argoHealth(t *testing.T, script string, obj map[string]any) (status, message string) {
	t.Helper()
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}} {
		L.Push(L.NewFunction(lib.fn))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	L.SetGlobal("obj", toLua(L, obj))
	if err := L.DoString(script); err != nil {
		t.Fatalf("run health.lua: %v", err)
	}
	ret, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		t.Fatalf("health.lua returned %s, want a table", L.Get(-1).Type())
	}
	return lua.LVAsString(ret.RawGetString("status")), lua.LVAsString(ret.RawGetString("message"))
}

// toLua converts a JSON-like Go value into Lua: objects and arrays become
// tables (arrays from index 1), numbers LNumber, null nil.
func toLua(L *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(v)
	case string:
		return lua.LString(v)
	case float64:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case int:
		return lua.LNumber(v)
	case map[string]any:
		tb := L.NewTable()
		for k, e := range v {
			tb.RawSetString(k, toLua(L, e))
		}
		return tb
	case []any:
		tb := L.NewTable()
		for _, e := range v {
			tb.Append(toLua(L, e))
		}
		return tb
	default:
		panic("unexpected JSON value")
	}
}

// TestArgoCDHealthCheck runs config/argocd/health.lua against each case
// of config/argocd/health_test.yaml.
func TestArgoCDHealthCheck(t *testing.T) {
	script := string(readFile(t, filepath.Join(argoDir, "health.lua")))
	var cases argoHealthCases
	if err := yaml.UnmarshalStrict(readFile(t, filepath.Join(argoDir, "health_test.yaml")), &cases); err != nil {
		t.Fatalf("parse health_test.yaml: %v", err)
	}
	seen := map[string]bool{}
	for _, tc := range cases.Tests {
		t.Run(tc.InputPath, func(t *testing.T) {
			obj := decodeAll(t, tc.InputPath, readFile(t, filepath.Join(argoDir, tc.InputPath)))[0]
			status, msg := argoHealth(t, script, obj.Object)
			seen[status] = true
			if status != tc.HealthStatus.Status || msg != tc.HealthStatus.Message {
				t.Errorf("health = %s %q, want %s %q", status, msg, tc.HealthStatus.Status, tc.HealthStatus.Message)
			}
		})
	}
	for _, want := range []string{"Healthy", "Progressing", "Degraded"} {
		if !seen[want] {
			t.Errorf("no test case is %s", want)
		}
	}
	inputs, _ := filepath.Glob(repoPath(argoDir, "testdata", "*.yaml"))
	if len(inputs) != len(cases.Tests) {
		t.Errorf("%d files in testdata, %d test cases: every input needs a case", len(inputs), len(cases.Tests))
	}
}

// TestArgoCDAgreesWithKstatus checks that Argo CD and kstatus readers
// (Flux) see the same health for every case, but one: a resource without
// status is Current for kstatus, while Argo CD waits for wharf.
func TestArgoCDAgreesWithKstatus(t *testing.T) {
	script := string(readFile(t, filepath.Join(argoDir, "health.lua")))
	inputs, err := filepath.Glob(repoPath(argoDir, "testdata", "*.yaml"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no test inputs: %v", err)
	}
	want := map[string]status.Status{"Healthy": status.CurrentStatus, "Progressing": status.InProgressStatus, "Degraded": status.FailedStatus}
	for _, in := range inputs {
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		u := decodeAll(t, in, data)[0]
		argo, _ := argoHealth(t, script, u.Object)
		ks, _, _, err := kstatusOf(u)
		if err != nil {
			t.Fatal(err)
		}
		if _, hasStatus := u.Object["status"]; !hasStatus {
			continue
		}
		if ks != want[argo] {
			t.Errorf("%s: Argo CD says %s, kstatus %s", filepath.Base(in), argo, ks)
		}
	}
}

// TestArgoCDComponent builds config/argocd as a kustomize Component over
// an argocd-cm ConfigMap, as a user's Argo CD kustomization would, and
// checks the health check lands in it, verbatim and next to the keys
// already there.
func TestArgoCDComponent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs kubectl; skipped with -short")
	}
	dir, err := os.MkdirTemp(repoPath("dist"), ".argocd-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	files := map[string]string{
		"argocd-cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argocd-cm\ndata:\n  url: https://argocd.example.com\n",
		"kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: argocd\n" +
			"resources:\n- argocd-cm.yaml\ncomponents:\n- ../../" + argoDir + "\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := run(t, nil, kubectl(t), "kustomize", dir)
	objs := decodeAll(t, "kustomize output", []byte(out))
	if len(objs) != 1 {
		t.Fatalf("%d objects, want the one argocd-cm:\n%s", len(objs), out)
	}
	cm := objs[0]
	data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
	if cm.GetName() != "argocd-cm" || cm.GetNamespace() != "argocd" {
		t.Errorf("got %s/%s, want argocd/argocd-cm", cm.GetNamespace(), cm.GetName())
	}
	if data["url"] != "https://argocd.example.com" {
		t.Errorf("the existing key url was lost: %v", data)
	}
	if data[argoHealthKey] != string(readFile(t, filepath.Join(argoDir, "health.lua"))) {
		t.Errorf("%s is not health.lua:\n%s", argoHealthKey, data[argoHealthKey])
	}
}

// TestGitOpsDocs checks that the GitOps snippets name the right things.
func TestGitOpsDocs(t *testing.T) {
	doc := string(readFile(t, filepath.Join(argoDir, "README.md")))
	for _, want := range []string{argoHealthKey, "healthChecks", "kind: ClusterNetworking", "name: cluster", "apiVersion: networking.wharf.dev/v1alpha1", "--server-side"} {
		if !strings.Contains(doc, want) {
			t.Errorf("config/argocd/README.md does not mention %q", want)
		}
	}
}
