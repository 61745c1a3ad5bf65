package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Cluster is a running local control plane. Stop it when done.
type Cluster struct {
	opts       Options
	dir        string
	ownDir     bool // dir was created by Start and is removed by Stop
	binDir     string
	pki        *pki
	ports      ports
	server     string
	kubeconfig string
	config     *rest.Config
	client     kubernetes.Interface
	version    string // gitVersion reported by the API server

	etcd, apiserver, controllerManager, scheduler, kwok *process

	mu        sync.Mutex
	nodeCIDRs map[string]int // node name -> third octet of its pod /24

	stopOnce sync.Once
	stopErr  error
}

// Start starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler
// and kwok, waits until they are healthy and adds opts.Nodes. On error,
// everything started is stopped again and the error carries the end of the
// failing process's log.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, binDir: opts.BinDir, dir: opts.Dir, nodeCIDRs: map[string]int{}}
	if c.dir == "" {
		dir, err := os.MkdirTemp("", "wharf-cluster-")
		if err != nil {
			return nil, fmt.Errorf("create cluster dir: %w", err)
		}
		c.dir, c.ownDir = dir, true
	} else {
		abs, err := filepath.Abs(c.dir)
		if err != nil {
			return nil, fmt.Errorf("resolve cluster dir: %w", err)
		}
		c.dir = abs
		if _, err := os.Stat(filepath.Join(c.dir, "etcd")); err == nil {
			return nil, fmt.Errorf("%s already holds cluster data (etcd/): remove it or use another dir", c.dir)
		}
		if err := os.MkdirAll(c.dir, 0o755); err != nil {
			return nil, fmt.Errorf("create cluster dir: %w", err)
		}
	}
	if err := c.start(ctx); err != nil {
		_ = c.stopProcesses()
		// Keep the logs for a post-mortem, drop the etcd data.
		_ = os.RemoveAll(filepath.Join(c.dir, "etcd"))
		return nil, fmt.Errorf("start cluster (logs in %s): %w", c.dir, err)
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context) error {
	logf := c.opts.Logf
	began := time.Now()
	var err error
	if c.pki, err = newPKI(filepath.Join(c.dir, "pki")); err != nil {
		return err
	}
	p, err := freePorts(5)
	if err != nil {
		return err
	}
	c.ports = ports{etcdClient: p[0], etcdPeer: p[1], apiserver: p[2], controllerManager: p[3], scheduler: p[4]}
	c.server = fmt.Sprintf("https://127.0.0.1:%d", c.ports.apiserver)
	c.kubeconfig = filepath.Join(c.dir, "kubeconfig")
	for _, kc := range []struct {
		path   string
		client *keyPair
		user   string
	}{
		{c.kubeconfig, c.pki.admin, "admin"},
		{filepath.Join(c.dir, "controller-manager.kubeconfig"), c.pki.kcm, "system:kube-controller-manager"},
		{filepath.Join(c.dir, "scheduler.kubeconfig"), c.pki.scheduler, "system:kube-scheduler"},
	} {
		if err := writeKubeconfig(kc.path, c.server, c.pki.ca, kc.client, kc.user); err != nil {
			return err
		}
	}
	if err := c.writeKwokConfig(); err != nil {
		return err
	}
	c.config = restConfig(c.server, c.pki.ca, c.pki.admin)
	if c.client, err = kubernetes.NewForConfig(c.config); err != nil {
		return fmt.Errorf("create client: %w", err)
	}
	c.etcd = c.etcdProcess()
	c.apiserver = c.apiserverProcess()
	c.controllerManager = c.controllerManagerProcess()
	c.scheduler = c.schedulerProcess()
	c.kwok = c.kwokProcess()

	if err := c.etcd.start(); err != nil {
		return err
	}
	etcdHealth := fmt.Sprintf("http://127.0.0.1:%d/health", c.ports.etcdClient)
	if err := waitFor(ctx, c.opts.Timeout, "etcd", []*process{c.etcd}, func(ctx context.Context) error {
		return httpGetOK(ctx, http.DefaultClient, etcdHealth, `"true"`)
	}); err != nil {
		return err
	}
	logf("etcd ready on 127.0.0.1:%d", c.ports.etcdClient)

	if err := c.startAPIServer(ctx); err != nil {
		return err
	}
	logf("kube-apiserver %s ready on %s", c.version, c.server)

	for _, p := range []*process{c.controllerManager, c.scheduler, c.kwok} {
		if err := p.start(); err != nil {
			return err
		}
	}
	for _, hc := range []struct {
		p    *process
		port int
	}{{c.controllerManager, c.ports.controllerManager}, {c.scheduler, c.ports.scheduler}} {
		url := fmt.Sprintf("https://127.0.0.1:%d/healthz", hc.port)
		client := httpsClient(c.pki.ca, nil)
		if err := waitFor(ctx, c.opts.Timeout, hc.p.name, []*process{hc.p}, func(ctx context.Context) error {
			return httpGetOK(ctx, client, url, "ok")
		}); err != nil {
			return err
		}
		logf("%s ready on 127.0.0.1:%d", hc.p.name, hc.port)
	}
	// Pods are refused until their namespace has its default ServiceAccount.
	if err := waitFor(ctx, c.opts.Timeout, "default ServiceAccount", c.processes(), func(ctx context.Context) error {
		_, err := c.client.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		return err
	}); err != nil {
		return err
	}
	logf("controllers running, kwok started")

	for _, n := range c.opts.Nodes {
		if err := c.AddNode(ctx, n); err != nil {
			return err
		}
		logf("node %s (%s) ready", n.Name, n.InternalIP)
	}
	logf("cluster ready in %s (dir %s)", time.Since(began).Round(100*time.Millisecond), c.dir)
	return nil
}

// startAPIServer starts kube-apiserver and waits until /readyz passes.
func (c *Cluster) startAPIServer(ctx context.Context) error {
	if err := c.apiserver.start(); err != nil {
		return err
	}
	client := httpsClient(c.pki.ca, c.pki.admin)
	readyz := c.server + "/readyz"
	if err := waitFor(ctx, c.opts.Timeout, "kube-apiserver", []*process{c.etcd, c.apiserver}, func(ctx context.Context) error {
		return httpGetOK(ctx, client, readyz, "ok")
	}); err != nil {
		return err
	}
	info, err := c.client.Discovery().ServerVersion()
	if err != nil {
		return fmt.Errorf("get server version: %w", err)
	}
	c.version = info.GitVersion
	return nil
}

// RestartAPIServer stops kube-apiserver and starts it again on the same port
// with the same etcd data, then waits until it is ready. Clients built from
// Config reconnect by themselves.
func (c *Cluster) RestartAPIServer(ctx context.Context) error {
	if err := c.apiserver.stop(); err != nil {
		return fmt.Errorf("stop kube-apiserver: %w", err)
	}
	if err := c.startAPIServer(ctx); err != nil {
		return fmt.Errorf("restart kube-apiserver: %w", err)
	}
	return nil
}

// Stop stops every process (kwok and the controllers first, etcd last) and
// removes the temporary directory Start created, unless Options.KeepDir. It
// reports processes that had exited before Stop or had to be killed. Calling
// it again returns the first result.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		var errs []error
		for _, p := range c.processes() {
			if err := p.exited(); err != nil {
				errs = append(errs, fmt.Errorf("%w before Stop; last lines of %s:\n%s", err, p.logPath, p.tail(20)))
			}
		}
		if err := c.stopProcesses(); err != nil {
			errs = append(errs, err)
		}
		if c.ownDir && !c.opts.KeepDir {
			if err := os.RemoveAll(c.dir); err != nil {
				errs = append(errs, fmt.Errorf("remove cluster dir: %w", err))
			}
		}
		c.stopErr = errors.Join(errs...)
	})
	return c.stopErr
}

// stopProcesses stops the processes in reverse start order.
func (c *Cluster) stopProcesses() error {
	var errs []error
	procs := c.processes()
	for i := len(procs) - 1; i >= 0; i-- {
		if err := procs[i].stop(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// processes returns the started-or-planned processes in start order.
func (c *Cluster) processes() []*process {
	var procs []*process
	for _, p := range []*process{c.etcd, c.apiserver, c.controllerManager, c.scheduler, c.kwok} {
		if p != nil {
			procs = append(procs, p)
		}
	}
	return procs
}

// Healthy reports a control-plane process that has exited on its own.
func (c *Cluster) Healthy() error {
	for _, p := range c.processes() {
		if err := p.exited(); err != nil {
			return fmt.Errorf("%w; last lines of %s:\n%s", err, p.logPath, p.tail(20))
		}
	}
	return nil
}

// Config returns a copy of the admin (system:masters) client configuration.
func (c *Cluster) Config() *rest.Config { return rest.CopyConfig(c.config) }

// KubeconfigPath returns the path of the admin kubeconfig (credentials
// embedded), <Dir>/kubeconfig.
func (c *Cluster) KubeconfigPath() string { return c.kubeconfig }

// BinDir returns the directory the binaries were taken from.
func (c *Cluster) BinDir() string { return c.binDir }

// Dir returns the directory holding the cluster's files and logs.
func (c *Cluster) Dir() string { return c.dir }

// ServerVersion returns the gitVersion the API server reports, e.g. v1.37.1.
func (c *Cluster) ServerVersion() string { return c.version }

// LogTail returns the last n lines of every process log, for failure reports.
func (c *Cluster) LogTail(n int) string {
	var b strings.Builder
	for _, p := range c.processes() {
		fmt.Fprintf(&b, "--- %s (%s) ---\n%s\n", p.name, p.logPath, p.tail(n))
	}
	return b.String()
}

// ignoreNotFound returns nil for NotFound errors.
func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
