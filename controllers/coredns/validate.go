package coredns

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/coredns/caddy/caddyfile"
)

// corefileName names the Corefile in parse errors ("Corefile:12 - ...").
const corefileName = "Corefile"

// ValidateCorefile checks a Corefile the way CoreDNS reads it before any
// plugin is set up: it must lex and parse with CoreDNS's Caddyfile parser,
// name only known plugins (Directives), open and close its braces in pairs,
// and serve each zone on each port once. Errors name the line.
//
// Imports of snippets defined in the Corefile are followed. Imports of files
// are not: those files exist only in the CoreDNS pod, so they are left out
// of the check, but they must be files of the coredns-custom ConfigMap
// (/etc/coredns/custom/, see checkPodPath).
//
// The plugins that read files when CoreDNS starts (file, auto, hosts) must
// name files the CoreDNS pod mounts: any other file of the container
// (/etc/shadow, /etc/passwd) makes CoreDNS exit, because it cannot read it
// or cannot parse it.
//
// CoreDNS's own plugin setup is not run in-process: it would read the
// manager's files rather than the pod's and contact the API server, and
// linking CoreDNS's plugins would add some 765 packages to the manager's
// 906 (CoreDNS 1.15: AWS and Google Cloud SDKs, the DataDog tracer, gRPC,
// QUIC, the etcd client), tens of megabytes. Other plugin arguments are checked only when
// CoreDNS loads the plugin; a pod that exits on them is reported by
// DeploymentHealth while the previous pods keep serving.
func ValidateCorefile(corefile string) error {
	text, err := withoutFileImports(corefile)
	if err != nil {
		return err
	}
	blocks, err := caddyfile.Parse(corefileName, strings.NewReader(text), Directives)
	if err != nil {
		return err
	}
	if err := checkBraces(text); err != nil {
		return err
	}
	if len(blocks) == 0 {
		return errors.New("no server block")
	}
	if err := checkServerKeys(blocks); err != nil {
		return err
	}
	return checkFilePaths(blocks)
}

// Files the CoreDNS container has, besides CustomDir's.
const (
	etcHosts = "/etc/hosts"
)

// checkPodPath checks that path, as a plugin on line reads it, is a file
// the CoreDNS pod mounts: under CustomDir (the coredns-custom ConfigMap),
// or one of also. A relative path is taken from root, the server block's
// root directive, else from the container's working directory "/".
func checkPodPath(line int, what, path, root string, also ...string) error {
	abs := path
	if !filepath.IsAbs(abs) {
		abs = filepath.Join("/", root, abs)
	}
	abs = filepath.Clean(abs)
	if abs == CustomDir || strings.HasPrefix(abs, CustomDir+"/") || slices.Contains(also, abs) {
		return nil
	}
	allowed := CustomDir + "/ (the files of the " + CustomConfigMap + " ConfigMap)"
	for _, a := range also {
		allowed += ", " + a
	}
	return fmt.Errorf("%s:%d - %s %s: CoreDNS reads it inside its pod, which holds no such file to read: "+
		"CoreDNS would exit. Use a file under %s", corefileName, line, what, path, allowed)
}

// checkFilePaths checks the files that file, auto and hosts read at start.
func checkFilePaths(blocks []caddyfile.ServerBlock) error {
	for _, b := range blocks {
		root := ""
		if toks := b.Tokens["root"]; len(toks) > 1 {
			root = toks[1].Text
		}
		for _, directive := range []string{"file", "auto", "hosts"} {
			d := caddyfile.NewDispenserTokens(corefileName, b.Tokens[directive])
			for d.Next() {
				line := d.Line()
				args := d.RemainingArgs()
				switch {
				case directive == "file" && len(args) > 0:
					if err := checkPodPath(line, directive, args[0], root); err != nil {
						return err
					}
				case directive == "hosts" && len(args) > 0:
					if err := checkPodPath(line, directive, args[0], root, etcHosts, NodeHostsPath); err != nil {
						return err
					}
				}
				for d.NextBlock() {
					sub, subLine := d.Val(), d.Line()
					subArgs := d.RemainingArgs()
					if directive == "auto" && sub == "directory" && len(subArgs) > 0 {
						if err := checkPodPath(subLine, "auto directory", subArgs[0], root); err != nil {
							return err
						}
					}
				}
			}
		}
	}
	return nil
}

// lineToken is a token with the line it starts on and the line it ends on.
type lineToken struct {
	text       string
	line, last int
	first      bool // first token of its line
}

// tokens lexes text as the Caddyfile parser does.
func tokens(text string) []lineToken {
	d := caddyfile.NewDispenser(corefileName, strings.NewReader(text))
	var out []lineToken
	prevLast := 0
	for d.Next() {
		t := lineToken{text: d.Val(), line: d.Line()}
		t.last = t.line + strings.Count(t.text, "\n")
		t.first = len(out) == 0 || t.line > prevLast
		prevLast = t.last
		out = append(out, t)
	}
	return out
}

// withoutFileImports blanks the lines that import files rather than
// snippets, keeping line numbers. An import of a file that is not in the
// coredns-custom ConfigMap is an error.
func withoutFileImports(text string) (string, error) {
	toks := tokens(text)
	snippets := map[string]bool{}
	for i, t := range toks {
		if t.first && len(t.text) > 2 && strings.HasPrefix(t.text, "(") && strings.HasSuffix(t.text, ")") &&
			i+1 < len(toks) && toks[i+1].text == "{" {
			snippets[t.text[1:len(t.text)-1]] = true
		}
	}
	blank := map[int]bool{}
	for i, t := range toks {
		if t.text != "import" || !t.first || i+1 >= len(toks) || toks[i+1].first {
			continue
		}
		if !snippets[toks[i+1].text] {
			// caddy resolves a relative import from the importing file's
			// directory, here the Corefile's.
			path := toks[i+1].text
			if !filepath.IsAbs(path) {
				path = filepath.Join(ConfigDir, path)
			}
			if err := checkPodPath(t.line, "import", path, ""); err != nil {
				return "", err
			}
			blank[t.line] = true
		}
	}
	if len(blank) == 0 {
		return text, nil
	}
	lines := strings.Split(text, "\n")
	for l := range blank {
		if l >= 1 && l <= len(lines) {
			lines[l-1] = ""
		}
	}
	return strings.Join(lines, "\n"), nil
}

// checkBraces reports a '{' never closed or a '}' never opened. The
// Caddyfile parser lets a directive's unclosed block swallow the '}' of its
// server block; CoreDNS then fails when it sets the plugin up.
func checkBraces(text string) error {
	lines := strings.Split(text, "\n")
	var open []int
	for _, t := range tokens(text) {
		switch t.text {
		case "{":
			open = append(open, t.line)
		case "}":
			if len(open) == 0 {
				return fmt.Errorf("%s:%d - '}' closes nothing: %s", corefileName, t.line, lineText(lines, t.line))
			}
			open = open[:len(open)-1]
		}
	}
	if len(open) > 0 {
		l := unclosedLine(lines, open[len(open)-1])
		return fmt.Errorf("%s:%d - '{' is never closed: %s", corefileName, l, lineText(lines, l))
	}
	return nil
}

// unclosedLine guesses which '{' lacks its '}' when there are more of the
// former, for the message: the first line ending in '{' that no later line
// consisting of '}' at the same indentation closes. Without one, fallback.
func unclosedLine(lines []string, fallback int) int {
	for i, l := range lines {
		if !strings.HasSuffix(strings.TrimSpace(l), "{") {
			continue
		}
		indent := leadingSpace(l)
		closed := false
		for _, m := range lines[i+1:] {
			if strings.TrimSpace(m) == "}" && leadingSpace(m) == indent {
				closed = true
				break
			}
		}
		if !closed {
			return i + 1
		}
	}
	return fallback
}

func leadingSpace(l string) string { return l[:len(l)-len(strings.TrimLeft(l, " \t"))] }

func lineText(lines []string, l int) string {
	if l < 1 || l > len(lines) {
		return ""
	}
	return strconv.Quote(strings.TrimSpace(lines[l-1]))
}

// checkServerKeys checks each server block key (zone and port) and that no
// zone is served twice on the same transport, port and bind addresses.
func checkServerKeys(blocks []caddyfile.ServerBlock) error {
	seen := map[string]string{}
	for _, b := range blocks {
		bind := bindAddresses(b)
		for _, key := range b.Keys {
			transport, zone, port, err := splitServerKey(key)
			if err != nil {
				return fmt.Errorf("server block %q: %w", key, err)
			}
			id := transport + "://" + zone + ":" + port + " bind " + bind
			if prev, dup := seen[id]; dup {
				return fmt.Errorf("server block %q serves zone %s on port %s again (already served by %q)", key, zone, port, prev)
			}
			seen[id] = key
		}
	}
	return nil
}

func bindAddresses(b caddyfile.ServerBlock) string {
	var addrs []string
	for _, t := range b.Tokens["bind"] {
		if t.Text != "bind" {
			addrs = append(addrs, t.Text)
		}
	}
	return strings.Join(addrs, ",")
}

// defaultPorts are the ports CoreDNS serves a transport on when a server
// block key names none.
var defaultPorts = map[string]string{
	"dns": "53", "tls": "853", "quic": "853", "grpc": "443", "https": "443", "https3": "443",
}

// splitServerKey splits a server block key such as ".:53",
// "tls://example.org" or "10.0.0.0/24:1053" into its transport, zone
// (lowercase, ending with a dot unless it is a CIDR) and port.
func splitServerKey(key string) (transport, zone, port string, err error) {
	transport, rest, ok := strings.Cut(key, "://")
	if !ok {
		transport, rest = "dns", key
	}
	transport = strings.ToLower(transport)
	port, known := defaultPorts[transport]
	if !known {
		return "", "", "", fmt.Errorf("unknown transport %q (want dns, tls, quic, grpc, https or https3)", transport)
	}
	zone = rest
	if i := strings.LastIndex(rest, ":"); i >= 0 && !strings.Contains(rest[i:], "]") && !isIPv6Zone(rest) {
		zone, port = rest[:i], rest[i+1:]
		if n, perr := strconv.Atoi(port); perr != nil || n < 1 || n > 65535 {
			return "", "", "", fmt.Errorf("port %q is not a number from 1 to 65535", port)
		}
	}
	zone = strings.ToLower(strings.Trim(zone, "[]"))
	if zone == "" {
		return "", "", "", errors.New("no zone")
	}
	if !strings.Contains(zone, "/") && !strings.HasSuffix(zone, ".") {
		zone += "."
	}
	return transport, zone, port, nil
}

// isIPv6Zone reports whether s is an IPv6 address or prefix without a port,
// whose colons are not a port separator.
func isIPv6Zone(s string) bool {
	if _, err := netip.ParsePrefix(s); err == nil {
		return true
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}
