package coredns_test

import (
	"strconv"
	"testing"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/coredns"
)

// benchSpec is the seeds' CoreDNS spec with a snippet at every point.
func benchSpec() v1alpha1.CoreDNSSpec {
	return v1alpha1.CoreDNSSpec{
		ExtraHosts: []v1alpha1.HostEntry{
			{IP: "10.0.0.51", Hostnames: []v1alpha1.Hostname{"k3s.test.org", "api.k3s.test.org"}},
			{IP: "fd00:10::51", Hostnames: []v1alpha1.Hostname{"k3s6.test.org"}},
		},
		Upstreams: []v1alpha1.Upstream{"1.1.1.1", "tls://9.9.9.9"},
		Cache:     v1alpha1.CacheSpec{SuccessTTL: 30, DenialTTL: 5},
		Snippets: v1alpha1.CorefileSnippets{
			BeforeKubernetes: "rewrite name regex (.*)\\.legacy\\.local {1}.default.svc.cluster.local answer auto",
			ServerBlock:      "log . {\n  class denial error\n}",
			ExtraServers:     "corp.example:53 {\n    errors\n    forward . 10.10.0.2\n}",
		},
	}
}

// benchFacts are the facts of a 50-node cluster.
func benchFacts() coredns.Facts {
	f := coredns.Facts{ClusterIPs: []string{"10.43.0.10"}}
	for i := range 50 {
		f.NodeHosts = append(f.NodeHosts, "10.10.0."+strconv.Itoa(i+1)+" node-"+strconv.Itoa(i))
	}
	return f
}

// BenchmarkRenderCorefile renders the Corefile alone.
func BenchmarkRenderCorefile(b *testing.B) {
	spec := benchSpec()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := coredns.RenderCorefile(&spec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateCorefile parses a rendered Corefile as CoreDNS would.
func BenchmarkValidateCorefile(b *testing.B) {
	spec := benchSpec()
	corefile, err := coredns.RenderCorefile(&spec)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := coredns.ValidateCorefile(corefile); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRender renders every CoreDNS object (Corefile, validation,
// manifests, decoding), as each ClusterNetworking reconcile does.
func BenchmarkRender(b *testing.B) {
	cn, facts := v1alpha1.ClusterNetworkingSpec{CoreDNS: benchSpec()}, benchFacts()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := coredns.Render(&cn, facts); err != nil {
			b.Fatal(err)
		}
	}
}
