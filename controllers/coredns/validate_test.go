package coredns

import (
	"strings"
	"testing"

	"github.com/wharf-dev/wharf/api/v1alpha1"
)

func TestValidateCorefile(t *testing.T) {
	base, err := RenderCorefile(&v1alpha1.CoreDNSSpec{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		snippet v1alpha1.CorefileSnippets
		wantErr string // empty: valid
	}{
		{name: "typed plugins only"},
		{name: "rewrite before kubernetes", snippet: v1alpha1.CorefileSnippets{BeforeKubernetes: "rewrite name regex (.*)\\.old\\.local {1}.cluster.local answer auto"}},
		{name: "block directive in server block", snippet: v1alpha1.CorefileSnippets{ServerBlock: "log {\n  class denial error\n}"}},
		{name: "stub domain", snippet: v1alpha1.CorefileSnippets{ExtraServers: "example.org:53 {\n  errors\n  forward . 10.0.0.1\n}"}},
		{name: "same zone and port on other bind addresses", snippet: v1alpha1.CorefileSnippets{ExtraServers: "a.example:53 {\n  bind 127.0.0.1\n}\na.example:53 {\n  bind 127.0.0.2\n}"}},
		{name: "reverse zone", snippet: v1alpha1.CorefileSnippets{ExtraServers: "10.0.0.0/24:53 {\n  whoami\n}\nfd00::/64 {\n  whoami\n}"}},
		{name: "file import not followed", snippet: v1alpha1.CorefileSnippets{ServerBlock: "import /etc/coredns/custom/extra.conf"}},
		{name: "snippet import", snippet: v1alpha1.CorefileSnippets{ExtraServers: "(common) {\n  errors\n  log\n}\nexample.org {\n  import common\n}"}},
		{name: "file import from coredns-custom, relative", snippet: v1alpha1.CorefileSnippets{ServerBlock: "import custom/extra.conf"}},
		{name: "import of a container file", snippet: v1alpha1.CorefileSnippets{ServerBlock: "import /etc/passwd"}, wantErr: "import /etc/passwd: CoreDNS reads it inside its pod"},
		{name: "import of the Corefile itself", snippet: v1alpha1.CorefileSnippets{ServerBlock: "import Corefile"}, wantErr: "import /etc/coredns/Corefile"},
		{name: "import escaping coredns-custom", snippet: v1alpha1.CorefileSnippets{ExtraServers: "import /etc/coredns/custom/../../shadow"}, wantErr: "import /etc/coredns/custom/../../shadow"},
		{name: "import of a container file in a snippet", snippet: v1alpha1.CorefileSnippets{ExtraServers: "(common) {\n  import /etc/passwd\n}\nexample.org {\n  import common\n}"}, wantErr: "import /etc/passwd"},
		{name: "zone file from coredns-custom", snippet: v1alpha1.CorefileSnippets{ExtraServers: "example.org {\n  file /etc/coredns/custom/example.db\n}"}},
		{name: "zone file under root", snippet: v1alpha1.CorefileSnippets{ExtraServers: "example.org {\n  root /etc/coredns/custom\n  file example.db\n}"}},
		{name: "zone file outside the mounts", snippet: v1alpha1.CorefileSnippets{ExtraServers: "example.org {\n  file /etc/shadow\n}"}, wantErr: "Corefile:26 - file /etc/shadow"},
		{name: "relative zone file without root", snippet: v1alpha1.CorefileSnippets{ExtraServers: "example.org {\n  file db.example.org {\n    reload 10s\n  }\n}"}, wantErr: "file db.example.org"},
		{name: "auto directory outside the mounts", snippet: v1alpha1.CorefileSnippets{ExtraServers: "example.org {\n  auto {\n    directory /var/lib/zones\n  }\n}"}, wantErr: "auto directory /var/lib/zones"},
		{name: "auto directory in coredns-custom", snippet: v1alpha1.CorefileSnippets{ExtraServers: "example.org {\n  auto {\n    directory /etc/coredns/custom\n  }\n}"}},
		{name: "hosts from /etc/hosts", snippet: v1alpha1.CorefileSnippets{ExtraServers: "example.org {\n  hosts /etc/hosts\n}\nexample.net {\n  hosts\n}"}},
		{name: "hosts from a container file", snippet: v1alpha1.CorefileSnippets{ExtraServers: "example.org {\n  hosts /etc/shadow example.org\n}"}, wantErr: "hosts /etc/shadow"},
		{name: "unknown directive", snippet: v1alpha1.CorefileSnippets{ServerBlock: "proxy . 1.1.1.1"}, wantErr: "Unknown directive 'proxy'"},
		{name: "unknown directive in imported snippet", snippet: v1alpha1.CorefileSnippets{ExtraServers: "(common) {\n  nope\n}\nexample.org {\n  import common\n}"}, wantErr: "Unknown directive 'nope'"},
		{name: "unclosed block", snippet: v1alpha1.CorefileSnippets{ServerBlock: "rewrite name {"}, wantErr: `'{' is never closed: "rewrite name {"`},
		{name: "stray closing brace", snippet: v1alpha1.CorefileSnippets{BeforeKubernetes: "}"}, wantErr: "Unknown directive"},
		{name: "stray closing brace after the server", snippet: v1alpha1.CorefileSnippets{ExtraServers: "example.org {\n  whoami\n}\n}"}, wantErr: "'}'"},
		{name: "second .:53", snippet: v1alpha1.CorefileSnippets{ExtraServers: ".:53 {\n  whoami\n}"}, wantErr: "serves zone . on port 53 again"},
		{name: "bad port", snippet: v1alpha1.CorefileSnippets{ExtraServers: "example.org:99999 {\n  whoami\n}"}, wantErr: "not a number from 1 to 65535"},
		{name: "bad transport", snippet: v1alpha1.CorefileSnippets{ExtraServers: "udp://example.org {\n  whoami\n}"}, wantErr: "unknown transport"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			corefile, err := RenderCorefile(&v1alpha1.CoreDNSSpec{Snippets: tc.snippet})
			if err != nil {
				t.Fatal(err)
			}
			if tc.snippet == (v1alpha1.CorefileSnippets{}) && corefile != base {
				t.Fatal("an empty snippet changed the Corefile")
			}
			err = ValidateCorefile(corefile)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v\n%s", err, corefile)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("no error, want one containing %q\n%s", tc.wantErr, corefile)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("error %q does not contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestValidateCorefileNamesTheLine(t *testing.T) {
	err := ValidateCorefile(".:53 {\n    errors\n    frobnicate\n}\n")
	if err == nil || !strings.Contains(err.Error(), "Corefile:3") {
		t.Fatalf("error %v does not name Corefile:3", err)
	}
}

func TestValidateCorefileEmpty(t *testing.T) {
	if err := ValidateCorefile("# nothing\n"); err == nil {
		t.Fatal("a Corefile without server blocks passed")
	}
}

func TestWithoutFileImports(t *testing.T) {
	in := "(snip) {\n  log\n}\n.:53 {\n  import snip\n  import /etc/coredns/custom/*.override\n}\nimport /etc/coredns/custom/*.server\n"
	want := "(snip) {\n  log\n}\n.:53 {\n  import snip\n\n}\n\n"
	if got, err := withoutFileImports(in); err != nil || got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}

func TestSplitServerKey(t *testing.T) {
	for key, want := range map[string]string{
		".:53":              "dns . 53",
		".":                 "dns . 53",
		"Example.ORG":       "dns example.org. 53",
		"dns://.:1053":      "dns . 1053",
		"tls://example.org": "tls example.org. 853",
		"10.0.0.0/24:5353":  "dns 10.0.0.0/24 5353",
		"fd00::/64":         "dns fd00::/64 53",
		"https://.":         "https . 443",
	} {
		tr, zone, port, err := splitServerKey(key)
		if err != nil {
			t.Errorf("%s: %v", key, err)
			continue
		}
		if got := tr + " " + zone + " " + port; got != want {
			t.Errorf("%s: got %q, want %q", key, got, want)
		}
	}
}
