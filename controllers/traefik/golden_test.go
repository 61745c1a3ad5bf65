package traefik

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/internal/golden"
	"github.com/wharf-dev/wharf/internal/render"
	"github.com/wharf-dev/wharf/test/k3s"
)

// k3sValuesFrom is a values document as a user would keep it in a
// ConfigMap: the image and metrics port K3s packages Traefik with.
const k3sValuesFrom = k3s.TraefikValues

// k3sValues are spec.values over it: HTTP redirected to HTTPS, client IPs
// kept, debug logs, and a null that drops a default annotation.
const k3sValues = `{
  "deployment": {"podAnnotations": {"prometheus.io/path": null}},
  "metrics": {"prometheus": {"entryPoint": "metrics"}},
  "ports": {"web": {"redirectTo": "websecure"}},
  "service": {"externalTrafficPolicy": "Local"},
  "logs": {"general": {"level": "DEBUG"}}
}`

func TestGolden(t *testing.T) {
	k3sDoc, err := parseValuesDocument([]byte(k3sValuesFrom))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		spec     v1alpha1.TraefikSpec
		in       Inputs
		fullCRDs bool
	}{
		{name: "default", spec: v1alpha1.TraefikSpec{}, fullCRDs: true},
		{name: "k3s", spec: v1alpha1.TraefikSpec{Values: &apiextensionsv1.JSON{Raw: []byte(k3sValues)}},
			in: Inputs{ValuesFrom: []map[string]any{k3sDoc}}},
		{name: "dashboard", spec: seedsDashboardSpec(), in: Inputs{DashboardSecret: "authsecret"}},
		// Air gap: the system default registry becomes the image's
		// registry and the pull Secrets go to the pod.
		{name: "airgap", spec: v1alpha1.TraefikSpec{},
			in: Inputs{SystemDefaultRegistry: "registry.example.com:5000", ImagePullSecrets: []string{"regcred", "mirror"}}},
		// The user's values win: their image.registry stays, their pull
		// Secrets come first and are not repeated.
		{name: "airgap-user-values", spec: v1alpha1.TraefikSpec{Values: &apiextensionsv1.JSON{Raw: []byte(
			`{"image": {"registry": "user.example.com"}, "deployment": {"imagePullSecrets": [{"name": "mirror"}]}}`)}},
			in: Inputs{SystemDefaultRegistry: "registry.example.com:5000", ImagePullSecrets: []string{"regcred", "mirror"}}},
		// As K3s's HelmChartConfig examples do: a repository under the
		// system default registry.
		{name: "airgap-k3s", spec: v1alpha1.TraefikSpec{Values: &apiextensionsv1.JSON{Raw: []byte(k3sValues)}},
			in: Inputs{ValuesFrom: []map[string]any{withoutRegistry(k3sDoc)}, SystemDefaultRegistry: "registry.example.com:5000"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := renderDefaulted(t, tc.spec, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			got := goldenBytes(t, objs, tc.fullCRDs)
			golden.Assert(t, filepath.Join("testdata", tc.name+".golden.yaml"), got)
		})
	}
}

// withoutRegistry is doc without image.registry.
func withoutRegistry(doc map[string]any) map[string]any {
	out := MergeValues(doc)
	delete(out["image"].(map[string]any), "registry")
	return out
}

// TestGoldenValues renders each values document of testdata/values and the
// valuesContent of each HelmChartConfig of testdata/k3s-migration as
// spec.traefik.values, and compares the objects with <name>.golden.yaml
// beside it. templates/traefik/README.md names these cases for each key.
func TestGoldenValues(t *testing.T) {
	for _, dir := range []string{"values", "k3s-migration"} {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, ".golden.yaml") {
				continue
			}
			name := dir + "/" + strings.TrimSuffix(filepath.Base(f), ".yaml")
			t.Run(name, func(t *testing.T) {
				objs, err := renderDefaulted(t, specWithValues(t, goldenCaseValues(t, name)), Inputs{})
				if err != nil {
					t.Fatal(err)
				}
				golden.Assert(t, strings.TrimSuffix(f, ".yaml")+".golden.yaml", goldenBytes(t, objs, false))
			})
		}
	}
}

// goldenCaseValues reads the values of the golden case dir/name: the file
// itself, or the valuesContent of a HelmChartConfig.
func goldenCaseValues(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := parseValuesDocument(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if doc["kind"] == "HelmChartConfig" {
		spec, _ := doc["spec"].(map[string]any)
		content, _ := spec["valuesContent"].(string)
		if doc, err = parseValuesDocument([]byte(content)); err != nil {
			t.Fatalf("%s: valuesContent: %v", name, err)
		}
	}
	return doc
}

// specWithValues is a Traefik spec with values as spec.traefik.values.
func specWithValues(t *testing.T, values map[string]any) v1alpha1.TraefikSpec {
	t.Helper()
	raw, err := json.Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	return v1alpha1.TraefikSpec{Values: &apiextensionsv1.JSON{Raw: raw}}
}

// seedsDashboardSpec is the guide's dashboard: host traefik.example.com on
// the web entry point, users in the Secret authsecret.
func seedsDashboardSpec() v1alpha1.TraefikSpec {
	return v1alpha1.TraefikSpec{Dashboard: v1alpha1.DashboardSpec{
		Enabled:     true,
		Host:        "traefik.example.com",
		EntryPoints: []string{"web"},
		BasicAuth:   &v1alpha1.BasicAuth{SecretName: "authsecret"},
	}}
}

// goldenBytes encodes objs; CRDs, the chart's static files, are written
// in full only when fullCRDs is set, else as one comment line each.
func goldenBytes(t *testing.T, objs []*unstructured.Unstructured, fullCRDs bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	var rest []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "CustomResourceDefinition" && !fullCRDs {
			fmt.Fprintf(&buf, "# CustomResourceDefinition %s (from the chart's crds/)\n", o.GetName())
			continue
		}
		rest = append(rest, o)
	}
	out, err := render.Encode(rest)
	if err != nil {
		t.Fatal(err)
	}
	buf.Write(out)
	return buf.Bytes()
}
