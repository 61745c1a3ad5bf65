package coredns

import (
	"fmt"
	"strings"

	"github.com/wharf-dev/wharf/api/v1alpha1"
)

// Paths inside the CoreDNS container.
const (
	// ConfigDir is where the coredns ConfigMap is mounted.
	ConfigDir = "/etc/coredns"
	// NodeHostsPath is the hosts file the hosts plugin reads and reloads.
	NodeHostsPath = ConfigDir + "/NodeHosts"
	// CustomDir is where the optional coredns-custom ConfigMap is mounted.
	CustomDir = ConfigDir + "/custom"
)

// corefileData is what Corefile.tmpl is executed with.
type corefileData struct {
	ClusterDomain    string
	NodeHostsPath    string
	CustomDir        string
	ExtraHosts       []string
	Upstreams        []string
	SuccessTTL       int32
	DenialTTL        int32
	BeforeKubernetes string
	ServerBlock      string
	ExtraServers     string
}

// RenderCorefile builds the Corefile from spec. It does not check that the
// result parses: see ValidateCorefile.
func RenderCorefile(spec *v1alpha1.CoreDNSSpec) (string, error) {
	ts, err := parsedTemplates()
	if err != nil {
		return "", err
	}
	out, err := ts.Execute("Corefile.tmpl", newCorefileData(spec))
	if err != nil {
		return "", fmt.Errorf("render the Corefile: %w", err)
	}
	return string(out), nil
}

func newCorefileData(spec *v1alpha1.CoreDNSSpec) corefileData {
	d := corefileData{
		ClusterDomain:    spec.ClusterDomain,
		NodeHostsPath:    NodeHostsPath,
		CustomDir:        CustomDir,
		Upstreams:        upstreamStrings(spec.Upstreams),
		SuccessTTL:       spec.Cache.SuccessTTL,
		DenialTTL:        spec.Cache.DenialTTL,
		BeforeKubernetes: indentSnippet(spec.Snippets.BeforeKubernetes, "    "),
		ServerBlock:      indentSnippet(spec.Snippets.ServerBlock, "    "),
		ExtraServers:     indentSnippet(spec.Snippets.ExtraServers, ""),
	}
	for _, h := range spec.ExtraHosts {
		line := h.IP
		for _, name := range h.Hostnames {
			line += " " + string(name)
		}
		d.ExtraHosts = append(d.ExtraHosts, line)
	}
	return d
}

// indentSnippet prepares a snippet for its place in the Corefile: blank
// lines around it dropped, trailing spaces and carriage returns removed,
// the indentation its lines share removed and indent put in its place.
func indentSnippet(snippet, indent string) string {
	lines := strings.Split(strings.ReplaceAll(snippet, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	for len(lines) > 0 && lines[0] == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	common := commonIndent(lines)
	for i, l := range lines {
		if l != "" {
			lines[i] = indent + l[len(common):]
		}
	}
	return strings.Join(lines, "\n")
}

// commonIndent returns the leading whitespace every non-empty line starts with.
func commonIndent(lines []string) string {
	common, first := "", true
	for _, l := range lines {
		if l == "" {
			continue
		}
		lead := leadingSpace(l)
		if first {
			common, first = lead, false
			continue
		}
		for !strings.HasPrefix(lead, common) {
			common = common[:len(common)-1]
		}
	}
	return common
}

func upstreamStrings(us []v1alpha1.Upstream) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = string(u)
	}
	return out
}
