package preview_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/config/crd"
	"github.com/wharf-dev/wharf/internal/defaults"
	"github.com/wharf-dev/wharf/internal/preview"
)

// The CRD's default markers are the one source of defaults: an empty
// ClusterNetworking, defaulted at the entry point as `manager render` does,
// renders exactly the defaults the CRD file declares. Change a marker,
// regenerate the CRD, and this test expects (and the renderer uses) the
// new value; a second copy of a default in Go code that the renderer read
// instead would make it fail once the two differ. It covers the defaults
// that shape the rendered CoreDNS and Traefik objects (namespaces, cluster
// domain, upstreams, cache TTLs, Traefik's and ServiceLB's namespaces); ServiceLB's other
// defaults (reserved ports, port cap, priority class) act per Service and
// are covered by its own tests.
func TestEmptySpecRendersTheCRDDefaults(t *testing.T) {
	cn := &v1alpha1.ClusterNetworking{}
	cn.Name = v1alpha1.SingletonName
	if err := defaults.Apply(cn); err != nil {
		t.Fatal(err)
	}
	objs, _, err := preview.Objects(cn)
	if err != nil {
		t.Fatal(err)
	}

	coreDNSNamespace := crdDefault[string](t, "coredns", "namespace")
	corefile := find(t, objs, "ConfigMap", coreDNSNamespace, "coredns")
	text, _, _ := unstructured.NestedString(corefile.Object, "data", "Corefile")
	for _, want := range []string{
		fmt.Sprintf("kubernetes %s in-addr.arpa ip6.arpa {", crdDefault[string](t, "coredns", "clusterDomain")),
		fmt.Sprintf("forward . %s\n", strings.Join(crdDefault[[]string](t, "coredns", "upstreams"), " ")),
		fmt.Sprintf("cache %d\n", crdDefault[int](t, "coredns", "cache", "successTTL")),
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the Corefile of an empty spec lacks %q, the CRD's default:\n%s", want, text)
		}
	}
	if crdDefault[int](t, "coredns", "cache", "successTTL") != crdDefault[int](t, "coredns", "cache", "denialTTL") {
		t.Errorf("the Corefile check above assumes equal default TTLs (one `cache N` line)")
	}
	find(t, objs, "Deployment", coreDNSNamespace, "coredns")
	find(t, objs, "ServiceAccount", crdDefault[string](t, "serviceLB", "namespace"), "svclb")
	find(t, objs, "Deployment", crdDefault[string](t, "traefik", "namespace"), "traefik")
}

// What Go reads of a field left unset is the CRD's default: the enabled
// switches (nil counts as on) and nodeHosts.
func TestGoReadsOfUnsetFieldsMatchTheCRD(t *testing.T) {
	var spec v1alpha1.ClusterNetworkingSpec
	for _, tc := range []struct {
		path []string
		goes bool
	}{
		{[]string{"coredns", "enabled"}, spec.CoreDNS.IsEnabled()},
		{[]string{"coredns", "nodeHosts"}, spec.CoreDNS.NodeHostsEnabled()},
		{[]string{"traefik", "enabled"}, spec.Traefik.IsEnabled()},
		{[]string{"serviceLB", "enabled"}, spec.ServiceLB.IsEnabled()},
	} {
		if def := crdDefault[bool](t, tc.path...); def != tc.goes {
			t.Errorf("spec.%s: the CRD defaults it to %v, Go reads unset as %v", strings.Join(tc.path, "."), def, tc.goes)
		}
	}
}

// crdDefault reads the default the CRD file declares for spec.<path>.
func crdDefault[T any](t *testing.T, path ...string) T {
	t.Helper()
	v := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal(crd.ClusterNetworking, v); err != nil {
		t.Fatal(err)
	}
	s := v.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
	for _, p := range path {
		next, ok := s.Properties[p]
		if !ok {
			t.Fatalf("the CRD has no spec.%s", strings.Join(path, "."))
		}
		s = next
	}
	var out T
	if s.Default == nil {
		t.Fatalf("the CRD declares no default for spec.%s", strings.Join(path, "."))
	}
	if err := json.Unmarshal(s.Default.Raw, &out); err != nil {
		t.Fatalf("the default of spec.%s: %v", strings.Join(path, "."), err)
	}
	return out
}

func find(t *testing.T, objs []*unstructured.Unstructured, kind, namespace, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetNamespace() == namespace && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s/%s among the rendered objects", kind, namespace, name)
	return nil
}
