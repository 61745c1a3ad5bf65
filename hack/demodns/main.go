// Command demodns runs the real coredns binary on the Corefile and
// NodeHosts of the coredns ConfigMap that wharf wrote, asks it for the
// names given as arguments, and prints the answers. `make demo` uses it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/controllers/coredns"
	"github.com/wharf-dev/wharf/test/cluster"
	"github.com/wharf-dev/wharf/test/dnslocal"
)

func main() {
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster")
	binary := flag.String("coredns", "bin/tools/coredns", "the coredns binary")
	dir := flag.String("dir", ".demo/coredns", "directory for the Corefile and NodeHosts")
	namespace := flag.String("namespace", "kube-system", "namespace of the coredns ConfigMap")
	flag.Parse()
	if err := run(*kubeconfig, *binary, *dir, *namespace, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "demodns:", err)
		os.Exit(1)
	}
}

func run(kubeconfig, binary, dir, namespace string, names []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("load %s: %w", kubeconfig, err)
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: coredns.ConfigMapName}, cm); err != nil {
		return fmt.Errorf("read the coredns ConfigMap: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, coredns.NodeHostsKey), []byte(cm.Data[coredns.NodeHostsKey]), 0o644); err != nil {
		return err
	}
	ports, err := dnslocal.FreePorts()
	if err != nil {
		return err
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	corefile, err := dnslocal.Corefile(cm.Data[coredns.CorefileKey], absDir, kubeconfig, ports)
	if err != nil {
		return err
	}
	server, err := cluster.StartCoreDNS(ctx, filepath.Dir(binary), absDir, corefile)
	if err != nil {
		return fmt.Errorf("start coredns: %w", err)
	}
	defer server.Stop()
	addr := fmt.Sprintf("127.0.0.1:%d", ports.DNS)
	fmt.Printf("    coredns serves the coredns ConfigMap's Corefile on %s\n", addr)
	for _, name := range names {
		answers, err := dnslocal.Lookup(addr, name, dns.TypeA)
		if err != nil {
			fmt.Printf("    %-40s error: %v\n", name, err)
			continue
		}
		fmt.Printf("    %-40s A %v\n", name, answers)
	}
	return nil
}
