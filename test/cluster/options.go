package cluster

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

const (
	// ServiceCIDR is the range Services get their cluster IPs from (the K3s default).
	ServiceCIDR = "10.43.0.0/16"
	// KubernetesServiceIP is the cluster IP of the default/kubernetes Service.
	KubernetesServiceIP = "10.43.0.1"
	// PodCIDR is the range pod IPs come from; each node gets one /24 of it.
	PodCIDR = "10.42.0.0/16"
	// ClusterDomain is the DNS domain of the cluster.
	ClusterDomain = "cluster.local"

	// KwokNodeAnnotation marks the nodes kwok acts as the kubelet of.
	KwokNodeAnnotation = "kwok.x-k8s.io/node"

	modulePath = "github.com/wharf-dev/wharf"
)

// Binaries lists the executables a cluster needs in its BinDir.
var Binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}

// Options configures Start.
type Options struct {
	// BinDir holds the binaries listed in Binaries. Default: $KUBEBUILDER_ASSETS
	// when it holds all of them, else <repo>/bin/tools.
	BinDir string
	// Dir receives certificates, kubeconfigs, etcd data and one log file per
	// process. Default: a new temporary directory, removed by Stop. A given
	// Dir is never removed.
	Dir string
	// KeepDir keeps the temporary directory on Stop.
	KeepDir bool
	// Nodes are added (and awaited Ready) before Start returns.
	Nodes []Node
	// Timeout bounds each start-up step (a process turning healthy, a node
	// turning Ready). Default: 2 minutes.
	Timeout time.Duration
	// Logf receives one short line per start-up step. Default: discard.
	Logf func(format string, args ...any)
}

// Node describes a fake node run by kwok.
type Node struct {
	// Name is the node name; it is also its kubernetes.io/hostname label.
	Name string
	// InternalIP is the node's IPv4 (or only) InternalIP address. Required.
	InternalIP string
	// ExternalIP is an optional ExternalIP address.
	ExternalIP string
	// InternalIPv6 is an optional second InternalIP address of the IPv6 family.
	InternalIPv6 string
	// Labels are added to (and override) the default labels
	// kubernetes.io/hostname, kubernetes.io/os and kubernetes.io/arch.
	Labels map[string]string
	// Taints are set on the node's spec.
	Taints []corev1.Taint
}

func (o *Options) setDefaults() error {
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.BinDir == "" {
		dir, err := DefaultBinDir()
		if err != nil {
			return err
		}
		o.BinDir = dir
	}
	abs, err := filepath.Abs(o.BinDir)
	if err != nil {
		return fmt.Errorf("resolve bin dir: %w", err)
	}
	o.BinDir = abs
	return CheckBinDir(o.BinDir, Binaries...)
}

// DefaultBinDir returns $KUBEBUILDER_ASSETS when it holds every binary in
// Binaries, else <repo>/bin/tools (which may not exist yet: see CheckBinDir).
func DefaultBinDir() (string, error) {
	if assets := os.Getenv("KUBEBUILDER_ASSETS"); assets != "" {
		if CheckBinDir(assets, Binaries...) == nil {
			return assets, nil
		}
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "bin", "tools"), nil
}

// CheckBinDir reports which of the named binaries are missing from dir, with
// the command that builds them.
func CheckBinDir(dir string, names ...string) error {
	var missing []string
	for _, name := range names {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("missing %s in %s: run `make envtest` or `bash hack/tools.sh` to build the test cluster binaries into bin/tools (or point KUBEBUILDER_ASSETS at them)",
		strings.Join(missing, ", "), dir)
}

// RepoRoot finds the root of the wharf repository: the nearest directory,
// from the working directory up, whose go.mod declares the wharf module.
func RepoRoot() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for {
			if isWharfModule(filepath.Join(dir, "go.mod")) {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", errors.New("cannot find the repository root (a go.mod declaring " + modulePath + ") above the working directory")
}

func isWharfModule(goMod string) bool {
	f, err := os.Open(goMod)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "module"); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`) == modulePath
		}
	}
	return false
}
