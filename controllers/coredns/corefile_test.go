package coredns

import (
	"strings"
	"testing"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/internal/defaults"
)

func TestIndentSnippet(t *testing.T) {
	for _, tc := range []struct{ in, indent, want string }{
		{"", "    ", ""},
		{"\n\n", "    ", ""},
		{"log", "    ", "    log"},
		{"\n  rewrite name a b\n  log {\n    class error\n  }\n\n", "    ", "    rewrite name a b\n    log {\n      class error\n    }"},
		{"a {\r\n\r\n  b  \r\n}", "", "a {\n\n  b\n}"},
		{"\tx\n\t\ty", "  ", "  x\n  \ty"},
	} {
		if got := indentSnippet(tc.in, tc.indent); got != tc.want {
			t.Errorf("indentSnippet(%q, %q) = %q, want %q", tc.in, tc.indent, got, tc.want)
		}
	}
}

// An empty spec, defaulted from the CRD as the API server (or `manager
// render`) does, gives K3s's Corefile.
func TestCorefileOfAnEmptySpec(t *testing.T) {
	spec := defaultedCoreDNS(t, v1alpha1.CoreDNSSpec{})
	got, err := RenderCorefile(&spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"kubernetes cluster.local in-addr.arpa ip6.arpa {",
		"forward . /etc/resolv.conf\n",
		"cache 30\n",
		"hosts /etc/coredns/NodeHosts {\n        ttl 60\n        reload 15s\n        fallthrough\n    }",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Corefile lacks %q:\n%s", want, got)
		}
	}
}

func TestCacheTTLs(t *testing.T) {
	spec := defaultedCoreDNS(t, v1alpha1.CoreDNSSpec{Cache: v1alpha1.CacheSpec{SuccessTTL: 600, DenialTTL: 0}})
	got, err := RenderCorefile(&spec)
	if err != nil {
		t.Fatal(err)
	}
	if want := "    cache {\n        success 9984 600\n        denial 9984 30\n    }\n"; !strings.Contains(got, want) {
		t.Errorf("Corefile lacks %q:\n%s", want, got)
	}
}

// defaultedCoreDNS returns spec with the CRD's defaults.
func defaultedCoreDNS(t *testing.T, spec v1alpha1.CoreDNSSpec) v1alpha1.CoreDNSSpec {
	t.Helper()
	s, err := defaults.Spec(v1alpha1.ClusterNetworkingSpec{CoreDNS: spec})
	if err != nil {
		t.Fatal(err)
	}
	return s.CoreDNS
}
