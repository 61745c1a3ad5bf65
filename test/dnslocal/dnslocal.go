// Package dnslocal runs wharf's rendered Corefile outside a pod: it
// rewrites the Corefile to listen on free loopback ports and read files
// from a local directory, and asks the server questions. The e2e tests and
// `make demo` use it with the real coredns binary.
package dnslocal

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/miekg/dns"

	"github.com/wharf-dev/wharf/controllers/coredns"
	"github.com/wharf-dev/wharf/test/cluster"
)

// Ports are the ports a local server listens on instead of 53, 8080
// (health), 8181 (ready) and 9153 (metrics).
type Ports struct{ DNS, Health, Ready, Metrics int }

// FreePorts picks four distinct free ports.
func FreePorts() (Ports, error) {
	var got []int
	for len(got) < 4 {
		p, err := cluster.FreePort()
		if err != nil {
			return Ports{}, err
		}
		if !slices.Contains(got, p) {
			got = append(got, p)
		}
	}
	return Ports{DNS: got[0], Health: got[1], Ready: got[2], Metrics: got[3]}, nil
}

// Corefile rewrites a Corefile from the coredns ConfigMap to run outside a
// pod: .:53 on 127.0.0.1 and p.DNS, the health, ready and metrics listeners
// on p's ports, /etc/coredns/ paths under dir, and the kubernetes plugin
// reading the API server through kubeconfig. Every rewrite must apply, so a
// change of the rendered Corefile that defeats one is an error rather than
// a test of something else.
func Corefile(corefile, dir, kubeconfig string, p Ports) (string, error) {
	rewrites := []struct {
		what    string
		pattern *regexp.Regexp
		repl    string
	}{
		// A server block key is a zone, not an address: bind sets the address.
		{"server .:53", regexp.MustCompile(`(?m)^\.:53 \{$`), fmt.Sprintf(".:%d {\n    bind 127.0.0.1", p.DNS)},
		{"health", regexp.MustCompile(`(?m)^(\s+)health\b`), fmt.Sprintf("${1}health 127.0.0.1:%d", p.Health)},
		{"ready", regexp.MustCompile(`(?m)^(\s+)ready$`), fmt.Sprintf("${1}ready 127.0.0.1:%d", p.Ready)},
		{"prometheus", regexp.MustCompile(`(?m)^(\s+)prometheus :9153$`), fmt.Sprintf("${1}prometheus 127.0.0.1:%d", p.Metrics)},
		{"paths", regexp.MustCompile(regexp.QuoteMeta(coredns.ConfigDir + "/")), dir + "/"},
		{"kubernetes", regexp.MustCompile(`(?m)^(\s+)(kubernetes .*\{)$`), "${1}${2}\n${1}    kubeconfig " + kubeconfig},
	}
	for _, r := range rewrites {
		if !r.pattern.MatchString(corefile) {
			return "", fmt.Errorf("cannot rewrite %s: no match for %s in the Corefile:\n%s", r.what, r.pattern, corefile)
		}
		corefile = r.pattern.ReplaceAllString(corefile, r.repl)
	}
	return corefile, nil
}

// Lookup asks the server at addr for name's records of type qtype (A or
// AAAA) and returns their addresses, sorted.
func Lookup(addr, name string, qtype uint16) ([]string, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	cl := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
	r, _, err := cl.Exchange(m, addr)
	if err != nil {
		return nil, err
	}
	if r.Rcode != dns.RcodeSuccess {
		return nil, fmt.Errorf("%s %s: %s", name, dns.TypeToString[qtype], dns.RcodeToString[r.Rcode])
	}
	var ips []string
	for _, rr := range r.Answer {
		switch v := rr.(type) {
		case *dns.A:
			ips = append(ips, v.A.String())
		case *dns.AAAA:
			ips = append(ips, v.AAAA.String())
		}
	}
	slices.Sort(ips)
	return ips, nil
}
