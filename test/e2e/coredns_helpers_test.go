package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/controllers/coredns"
	"github.com/wharf-dev/wharf/test/cluster"
)

// localCoreDNS is the real coredns binary serving the Corefile and NodeHosts
// of the coredns ConfigMap on 127.0.0.1, as the CoreDNS pod would serve
// them: the ConfigMap's files are kept in a directory the way the kubelet
// keeps a mounted ConfigMap, and the kubernetes plugin reads the test API
// server.
type localCoreDNS struct {
	addr   string // host:port the DNS server listens on
	dir    string
	server *cluster.CoreDNS
	stop   func()
}

// corednsPorts are the ports the local server listens on instead of 53,
// 8080 (health), 8181 (ready) and 9153 (metrics).
type corednsPorts struct{ dns, health, ready, metrics int }

func freeCoreDNSPorts() (corednsPorts, error) {
	var got []int
	for len(got) < 4 {
		p, err := cluster.FreePort()
		if err != nil {
			return corednsPorts{}, err
		}
		if !slices.Contains(got, p) {
			got = append(got, p)
		}
	}
	return corednsPorts{dns: got[0], health: got[1], ready: got[2], metrics: got[3]}, nil
}

// localCorefile rewrites a Corefile from the ConfigMap to run outside a
// pod: .:53 on 127.0.0.1 and the given port, the health, ready and metrics
// listeners on free ports, /etc/coredns/ paths under dir, and the
// kubernetes plugin reading the API server through kubeconfig. Every
// rewrite must apply, so a change of the rendered Corefile that defeats one
// fails the test rather than testing something else.
func localCorefile(corefile, dir, kubeconfig string, p corednsPorts) (string, error) {
	rewrites := []struct {
		what    string
		pattern *regexp.Regexp
		repl    string
	}{
		// A server block key is a zone, not an address: bind sets the address.
		{"server .:53", regexp.MustCompile(`(?m)^\.:53 \{$`), fmt.Sprintf(".:%d {\n    bind 127.0.0.1", p.dns)},
		{"health", regexp.MustCompile(`(?m)^(\s+)health\b`), fmt.Sprintf("${1}health 127.0.0.1:%d", p.health)},
		{"ready", regexp.MustCompile(`(?m)^(\s+)ready$`), fmt.Sprintf("${1}ready 127.0.0.1:%d", p.ready)},
		{"prometheus", regexp.MustCompile(`(?m)^(\s+)prometheus :9153$`), fmt.Sprintf("${1}prometheus 127.0.0.1:%d", p.metrics)},
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

// runLocalCoreDNS starts coredns on the ConfigMap's Corefile and NodeHosts
// and keeps dir/NodeHosts equal to the ConfigMap's NodeHosts until the test
// ends; the hosts plugin rereads the file by itself.
func runLocalCoreDNS(ctx context.Context, t *testing.T, c *cluster.Cluster, cl client.Client, cm *corev1.ConfigMap) *localCoreDNS {
	t.Helper()
	ports, err := freeCoreDNSPorts()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "coredns")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, coredns.NodeHostsKey), []byte(cm.Data[coredns.NodeHostsKey]), 0o644); err != nil {
		t.Fatal(err)
	}
	corefile, err := localCorefile(cm.Data[coredns.CorefileKey], dir, c.KubeconfigPath(), ports)
	if err != nil {
		t.Fatal(err)
	}
	server, err := cluster.StartCoreDNS(ctx, c.BinDir(), dir, corefile)
	if err != nil {
		t.Fatalf("start coredns on\n%s\n%v", corefile, err)
	}
	syncCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { syncNodeHosts(syncCtx, t, cl, cm.Namespace, filepath.Join(dir, coredns.NodeHostsKey)) })
	l := &localCoreDNS{addr: fmt.Sprintf("127.0.0.1:%d", ports.dns), dir: dir, server: server}
	l.stop = sync.OnceFunc(func() {
		cancel()
		wg.Wait()
		if err := server.Stop(); err != nil {
			t.Errorf("coredns: %v", err)
		}
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("coredns log:\n%s\nCorefile:\n%s", server.Log(40), corefile)
		}
		l.stop()
	})
	return l
}

// syncNodeHosts copies the ConfigMap's NodeHosts to path whenever it
// changes, as the kubelet updates a mounted ConfigMap.
func syncNodeHosts(ctx context.Context, t *testing.T, cl client.Client, namespace, path string) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		cm := &corev1.ConfigMap{}
		if err := cl.Get(ctx, client.ObjectKey{Namespace: namespace, Name: coredns.ConfigMapName}, cm); err != nil {
			continue
		}
		hosts, ok := cm.Data[coredns.NodeHostsKey]
		if !ok || hosts == last {
			continue
		}
		if err := writeFileAtomic(path, hosts); err != nil {
			t.Errorf("write %s: %v", path, err)
			return
		}
		last = hosts
	}
}

func writeFileAtomic(path, content string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// lookup asks the local server for name's records of type qtype (A or
// AAAA) and returns their addresses, sorted.
func (l *localCoreDNS) lookup(name string, qtype uint16) ([]string, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	cl := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
	r, _, err := cl.Exchange(m, l.addr)
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

// expect checks that name resolves to exactly want (type A, or AAAA for
// IPv6 addresses).
func (l *localCoreDNS) expect(name string, want ...string) error {
	qtype := dns.TypeA
	if len(want) > 0 && strings.Contains(want[0], ":") {
		qtype = dns.TypeAAAA
	}
	got, err := l.lookup(name, qtype)
	if err != nil {
		return err
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("%s %s = %v, want %v", name, dns.TypeToString[qtype], got, want)
	}
	return nil
}
