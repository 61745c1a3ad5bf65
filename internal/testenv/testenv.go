// Package testenv starts a real kube-apiserver and etcd (envtest) with
// wharf's CRD installed, and runs wharf's manager against it in-process.
// The binaries come from KUBEBUILDER_ASSETS, by default the repository's
// bin/tools built by `make envtest`; a test fails, never skips, without them.
package testenv

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/wharf-dev/wharf/controllers"
)

// Env is a running API server.
type Env struct {
	// Config is an admin config for the API server.
	Config *rest.Config
	// Client is an uncached admin client.
	Client client.Client
	env    *envtest.Environment
}

// RepoRoot returns the repository's root directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// BinDir returns where the control-plane binaries are.
func BinDir() string {
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		return d
	}
	return filepath.Join(RepoRoot(), "bin", "tools")
}

// Start starts kube-apiserver and etcd with wharf's CRD and the CRDs under
// extraCRDDirs installed, and stops them when t ends.
//
// With -short (make test-unit), tests that need an API server are skipped:
// that mode runs the pure unit and golden tests only. `make test` never
// passes -short.
func Start(t testing.TB, extraCRDDirs ...string) *Env {
	t.Helper()
	if testing.Short() {
		t.Skip("needs an API server; -short runs unit tests only")
	}
	bin := BinDir()
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			t.Fatalf("%s is missing from %s: run `make envtest` (bash hack/tools.sh) to build the control plane", b, bin)
		}
	}
	LogTo(t)
	env := &envtest.Environment{
		BinaryAssetsDirectory: bin,
		CRDDirectoryPaths:     append([]string{filepath.Join(RepoRoot(), "config", "crd", "bases")}, extraCRDDirs...),
		ErrorIfCRDPathMissing: true,
		Scheme:                controllers.NewScheme(),
	}
	env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", "10.43.0.0/16")
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start the API server: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Logf("stop the API server: %v", err)
		}
	})
	c, err := client.New(cfg, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return &Env{Config: cfg, Client: c, env: env}
}

// StartManager runs wharf's manager, set up exactly as the binary sets it
// up, against cfg until t ends. It returns a function that stops it early.
func StartManager(t testing.TB, cfg *rest.Config) (stop func()) {
	t.Helper()
	opts := controllers.ManagerOptions(controllers.ManagerConfig{MetricsAddr: "0", ProbeAddr: "0"})
	opts.Controller = controllerOptions()
	mgr, err := ctrl.NewManager(cfg, opts)
	if err != nil {
		t.Fatalf("create the manager: %v", err)
	}
	if err := controllers.SetupManager(mgr); err != nil {
		t.Fatalf("set up the manager: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			t.Errorf("manager: %v", err)
		}
	}()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Errorf("the manager did not stop within 30s")
		}
	}
	t.Cleanup(stop)
	return stop
}

// logs goes to the test that started the newest environment: the
// controller-runtime logger can be set only once per process.
var logs = &testLog{}

var setLogger sync.Once

type testLog struct {
	mu sync.Mutex
	t  testing.TB
}

// LogTo sends controller-runtime logs to t until t ends.
func LogTo(t testing.TB) {
	setLogger.Do(func() { ctrl.SetLogger(zap.New(zap.WriteTo(logs), zap.UseDevMode(true))) })
	logs.mu.Lock()
	logs.t = t
	logs.mu.Unlock()
	t.Cleanup(func() {
		logs.mu.Lock()
		if logs.t == t {
			logs.t = nil
		}
		logs.mu.Unlock()
	})
}

// Write logs p to the current test, or drops it between tests.
func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.t != nil {
		l.t.Log(string(p))
	}
	return len(p), nil
}
