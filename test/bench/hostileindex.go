package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
)

// HostileIndexBytes is the size of the index.yaml the hostile-index
// scenario serves: 30 MiB, well over the manager's cap on an index
// (chartpull.MaxIndexSize, 8 MiB).
const HostileIndexBytes = 30 << 20

// HostileIndexMaxGrowth bounds how much the manager's peak RSS may grow
// while it fetches the hostile index. The index is parsed as a stream, one
// entry at a time, and refused at the cap: what it costs is the read
// buffers and one entry, not the index.
const HostileIndexMaxGrowth = 16 << 20

// HostileIndexResult is what the hostile-index scenario measured.
type HostileIndexResult struct {
	Date time.Time `json:"date"`
	Host Host      `json:"host"`
	// IndexBytes is the size of the index served; ServedBytes how much of
	// it the server wrote before the manager hung up (over all fetches).
	IndexBytes  int64 `json:"indexBytes"`
	ServedBytes int64 `json:"servedBytes"`
	Fetches     int64 `json:"fetches"`
	// BaselineRSSBytes is the manager's peak RSS (VmHWM) before the fetch,
	// PeakRSSBytes after it; the bound is on their difference.
	BaselineRSSBytes int64 `json:"baselineRSSBytes"`
	PeakRSSBytes     int64 `json:"peakRSSBytes"`
	GrowthBytes      int64 `json:"growthBytes"`
	MaxGrowthBytes   int64 `json:"maxGrowthBytes"`
	// TraefikReady is the condition the manager reported: the refusal.
	TraefikReady string `json:"traefikReady"`
	Met          bool   `json:"met"`
}

// Table renders r for a terminal.
func (r *HostileIndexResult) Table() string {
	mib := func(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
	verdict := "met"
	if !r.Met {
		verdict = "NOT MET"
	}
	return fmt.Sprintf("hostile index: %s served as index.yaml, %s sent by the server before the manager stopped reading, in %d fetches\n"+
		"peak RSS %s before, %s after: growth %s (bound %s) %s\nTraefikReady: %s",
		mib(r.IndexBytes), mib(r.ServedBytes), r.Fetches, mib(r.BaselineRSSBytes), mib(r.PeakRSSBytes),
		mib(r.GrowthBytes), mib(r.MaxGrowthBytes), verdict, r.TraefikReady)
}

// RunHostileIndex points the manager's Traefik chart source at a local
// repository whose index.yaml is HostileIndexBytes of valid entries (the
// requested chart last), and measures the manager's peak RSS before and
// after it fetched the index. No internet is used: the repository is an
// httptest server in this process.
func RunHostileIndex(ctx context.Context, opts Options) (*HostileIndexResult, error) {
	logf := opts.Logf
	r := &HostileIndexResult{Date: time.Now().UTC().Truncate(time.Second),
		Host: Host{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), CPUModel: cpuModel()}, IndexBytes: HostileIndexBytes, MaxGrowthBytes: HostileIndexMaxGrowth}
	env, err := StartEnv(ctx, Scale{Nodes: 1, PoolSize: 1}, filepath.Join(opts.Dir, "hostile-index"), logf)
	if err != nil {
		return nil, err
	}
	defer env.Stop()

	var served, fetches atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/index.yaml" {
			http.NotFound(w, req)
			return
		}
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/x-yaml")
		n, _ := writeHostileIndex(w, HostileIndexBytes)
		served.Add(n)
	}))
	defer srv.Close()

	mgr, err := StartManager(ManagerOptions{Binary: opts.ManagerBinary, Kubeconfig: env.Cluster.KubeconfigPath(),
		LogPath: filepath.Join(opts.Dir, "hostile-index", "manager.log"), Metrics: true, Env: opts.ManagerEnv})
	if err != nil {
		return nil, err
	}
	defer mgr.Stop(15 * time.Second)
	// The manager's own start (caches, informers) sets the baseline.
	time.Sleep(10 * time.Second)
	if err := mgr.Exited(); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, tail(mgr.LogPath, 20))
	}
	before, err := ReadProcStats(mgr.PID())
	if err != nil {
		return nil, err
	}
	r.BaselineRSSBytes = before.PeakRSS

	cn := &v1alpha1.ClusterNetworking{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.SingletonName}}
	cn.Spec.CoreDNS.Enabled = ptr.To(false)
	cn.Spec.ServiceLB.Enabled = ptr.To(false)
	cn.Spec.Traefik.Enabled = ptr.To(true)
	cn.Spec.Traefik.Chart = &v1alpha1.ChartSource{Repository: srv.URL, Name: "traefik", Version: "39.0.0", Insecure: true}
	if err := env.CR.Create(ctx, cn); err != nil {
		return nil, fmt.Errorf("create the ClusterNetworking: %w", err)
	}
	logf("hostile index: ClusterNetworking points at %s (%d MiB index.yaml)", srv.URL, HostileIndexBytes>>20)
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		live := &v1alpha1.ClusterNetworking{}
		if err := env.CR.Get(ctx, client.ObjectKeyFromObject(cn), live); err != nil {
			return false, nil
		}
		for _, c := range live.Status.Conditions {
			if c.Type == v1alpha1.ConditionTraefikReady && c.ObservedGeneration == live.Generation && strings.Contains(c.Message, "index.yaml") {
				r.TraefikReady = string(c.Status) + " " + c.Reason + ": " + c.Message
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return nil, fmt.Errorf("wait for the refusal of the index in TraefikReady: %w\n%s", err, tail(mgr.LogPath, 20))
	}
	// Let a retry or two run: the peak is of every fetch, not the first.
	time.Sleep(10 * time.Second)
	after, err := ReadProcStats(mgr.PID())
	if err != nil {
		return nil, err
	}
	r.PeakRSSBytes, r.ServedBytes, r.Fetches = after.PeakRSS, served.Load(), fetches.Load()
	r.GrowthBytes = r.PeakRSSBytes - r.BaselineRSSBytes
	r.Met = r.GrowthBytes <= r.MaxGrowthBytes && r.Fetches > 0
	return r, nil
}

// writeHostileIndex writes a valid index.yaml of about size bytes: many
// charts of one version each, the chart traefik last. It returns how many
// bytes were written before the reader hung up.
func writeHostileIndex(w http.ResponseWriter, size int) (int64, error) {
	var n int64
	write := func(s string) error {
		k, err := w.Write([]byte(s))
		n += int64(k)
		return err
	}
	if err := write("apiVersion: v1\nentries:\n"); err != nil {
		return n, err
	}
	padding := strings.Repeat("x", 900)
	for i := 0; n < int64(size); i++ {
		entry := fmt.Sprintf("  filler-%07d:\n  - name: filler-%07d\n    version: 1.0.0\n    description: %s\n    urls:\n    - https://charts.example.invalid/filler-%07d-1.0.0.tgz\n",
			i, i, padding, i)
		if err := write(entry); err != nil {
			return n, err
		}
	}
	err := write("  traefik:\n  - name: traefik\n    version: 39.0.0\n    urls:\n    - traefik-39.0.0.tgz\n")
	return n, err
}
