package coredns_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/coredns"
)

// FuzzRenderCorefile renders Corefiles from arbitrary extra hosts,
// upstreams, snippets, cluster domain and cache TTLs. Rendering must never
// panic and must be deterministic; Render must either fail or return a
// coredns ConfigMap holding exactly the rendered Corefile, which then
// passes ValidateCorefile. Seeds are in testdata/fuzz/FuzzRenderCorefile;
// `go test` runs them, `make fuzz` explores further.
func FuzzRenderCorefile(f *testing.F) {
	f.Add("10.0.0.51", "k3s.test.org", "/etc/resolv.conf", "", "", "", "", int32(30), int32(30))
	f.Add("fd00:10::51", "k3s6.test.org api.k3s.test.org", "1.1.1.1,tls://9.9.9.9", "rewrite name regex (.*)\\.legacy\\.local {1}.default.svc.cluster.local answer auto",
		"log . {\n  class denial error\n}", "corp.example:53 {\n    errors\n    forward . 10.10.0.2\n}", "cluster.local", int32(30), int32(5))
	f.Add("", "", "", "  \n\tfoo {\n", "}", "{", "example.org", int32(0), int32(-1))
	f.Add("10.0.0.1", "a", "x", "import (snip)", "(snip) {\n}\n", ".:53 {\n}", "", int32(1), int32(2))
	f.Fuzz(func(t *testing.T, ip, hostnames, upstreams, beforeKubernetes, serverBlock, extraServers, clusterDomain string, successTTL, denialTTL int32) {
		for _, s := range []string{ip, hostnames, upstreams, beforeKubernetes, serverBlock, extraServers, clusterDomain} {
			if !utf8.ValidString(s) {
				return // the API server only stores valid UTF-8
			}
		}
		spec := v1alpha1.CoreDNSSpec{
			ClusterDomain: clusterDomain,
			Cache:         v1alpha1.CacheSpec{SuccessTTL: successTTL, DenialTTL: denialTTL},
			Snippets:      v1alpha1.CorefileSnippets{BeforeKubernetes: beforeKubernetes, ServerBlock: serverBlock, ExtraServers: extraServers},
		}
		if ip != "" || hostnames != "" {
			entry := v1alpha1.HostEntry{IP: ip}
			for _, h := range strings.Fields(hostnames) {
				entry.Hostnames = append(entry.Hostnames, v1alpha1.Hostname(h))
			}
			spec.ExtraHosts = []v1alpha1.HostEntry{entry}
		}
		if upstreams != "" {
			for _, u := range strings.Split(upstreams, ",") {
				spec.Upstreams = append(spec.Upstreams, v1alpha1.Upstream(u))
			}
		}

		corefile, err := coredns.RenderCorefile(&spec)
		if err != nil {
			return
		}
		again, err := coredns.RenderCorefile(&spec)
		if err != nil || again != corefile {
			t.Fatalf("RenderCorefile is not deterministic: %v\n%q\n%q", err, corefile, again)
		}
		objs, err := coredns.Render(&v1alpha1.ClusterNetworkingSpec{CoreDNS: spec}, coredns.Facts{})
		if err != nil {
			return
		}
		var found bool
		for _, o := range objs {
			if o.GetKind() != "ConfigMap" || o.GetName() != coredns.ConfigMapName {
				continue
			}
			found = true
			got, _, _ := unstructured.NestedString(o.Object, "data", coredns.CorefileKey)
			if got != corefile {
				t.Fatalf("the ConfigMap holds another Corefile than RenderCorefile renders:\n%q\n%q", got, corefile)
			}
			if err := coredns.ValidateCorefile(got); err != nil {
				t.Fatalf("Render accepted a Corefile that does not validate: %v\n%s", err, got)
			}
		}
		if !found {
			t.Fatalf("Render returned no %s ConfigMap", coredns.ConfigMapName)
		}
	})
}
