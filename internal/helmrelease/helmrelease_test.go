package helmrelease

import (
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	"sigs.k8s.io/yaml"
)

const manifest = `---
# Source: traefik/templates/rbac.yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: traefik-kube-system
rules: []
---
# Source: traefik/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: traefik
  namespace: kube-system
  annotations:
    example.com/note: kept as it is
spec:
  type: LoadBalancer
---
# Source: traefik/templates/extra-objects.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: only-the-release-has-it
`

// TestKeepMarksOnlySelectedObjects: the selected objects get the keep
// policy Helm's uninstall reads (parsed back with Helm's own manifest
// reader), the others and the comments stay as they were, and a second
// pass changes nothing.
func TestKeepMarksOnlySelectedObjects(t *testing.T) {
	wharfs := func(o Object) bool { return o.Kind != "ConfigMap" }
	out, kept, changed, err := Keep(manifest, wharfs)
	if err != nil {
		t.Fatal(err)
	}
	if !changed || len(kept) != 2 {
		t.Fatalf("changed %v, kept %v", changed, kept)
	}
	if want := (Object{Group: "", Kind: "Service", Namespace: "kube-system", Name: "traefik"}); kept[1] != want {
		t.Errorf("kept[1] = %+v, want %+v", kept[1], want)
	}
	policies := map[string]string{}
	for _, doc := range releaseutil.SplitManifests(out) {
		var m releaseutil.SimpleHead
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatal(err)
		}
		if m.Metadata == nil {
			t.Fatalf("a document lost its metadata:\n%s", doc)
		}
		policies[m.Kind] = m.Metadata.Annotations[ResourcePolicyAnnotation]
		if !strings.HasPrefix(doc, "# Source: traefik/templates/") {
			t.Errorf("a document lost Helm's source comment:\n%s", doc)
		}
	}
	if policies["ClusterRole"] != KeepPolicy || policies["Service"] != KeepPolicy || policies["ConfigMap"] != "" {
		t.Errorf("resource policies %v", policies)
	}
	if !strings.Contains(out, "example.com/note: kept as it is") {
		t.Errorf("the Service lost its own annotation:\n%s", out)
	}
	again, _, changed, err := Keep(out, wharfs)
	if err != nil || changed || again != out {
		t.Errorf("a second pass changed the manifest (changed %v, err %v)", changed, err)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	rel := &release.Release{Name: "traefik", Namespace: "kube-system", Version: 3, Manifest: manifest}
	data, err := Encode(rel)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != rel.Name || got.Version != rel.Version || got.Manifest != rel.Manifest {
		t.Errorf("decoded %+v", got)
	}
	if _, err := Decode([]byte("not base64!")); err == nil {
		t.Error("Decode took data that is not a release")
	}
}
