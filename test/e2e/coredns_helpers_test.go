package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
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
	"github.com/wharf-dev/wharf/test/dnslocal"
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

// runLocalCoreDNS starts coredns on the ConfigMap's Corefile and NodeHosts
// and keeps dir/NodeHosts equal to the ConfigMap's NodeHosts until the test
// ends; the hosts plugin rereads the file by itself.
func runLocalCoreDNS(ctx context.Context, t *testing.T, c *cluster.Cluster, cl client.Client, cm *corev1.ConfigMap) *localCoreDNS {
	t.Helper()
	ports, err := dnslocal.FreePorts()
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
	corefile, err := dnslocal.Corefile(cm.Data[coredns.CorefileKey], dir, c.KubeconfigPath(), ports)
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
	l := &localCoreDNS{addr: fmt.Sprintf("127.0.0.1:%d", ports.DNS), dir: dir, server: server}
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

// lookup asks the local server for name's records of type qtype.
func (l *localCoreDNS) lookup(name string, qtype uint16) ([]string, error) {
	return dnslocal.Lookup(l.addr, name, qtype)
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
