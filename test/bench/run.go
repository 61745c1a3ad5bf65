package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// Options configure a bench run.
type Options struct {
	Scale Scale
	// Dir receives each phase's cluster directory and the manager's log.
	Dir string
	// ManagerBinary is bin/manager.
	ManagerBinary string
	// Steady is how long the steady period lasts (2 minutes).
	Steady time.Duration
	// Settle is added to the convergence window after the last Service
	// converged, for the writes that follow it (default 5s).
	Settle time.Duration
	// FloorWorkers is the floor clients' concurrency (the manager's Service
	// controller runs 8 reconciles at a time).
	FloorWorkers int
	// Timeout bounds convergence of each phase.
	Timeout time.Duration
	// ManagerEnv is added to the manager's environment (e.g. GOMEMLIMIT).
	ManagerEnv []string
	// ProfileDir, when set, receives heap profiles of the manager every 10
	// seconds of the operator phase, and a CPU profile (cpu.pb.gz) of its
	// first CPUProfile of convergence.
	ProfileDir string
	// CPUProfile is how long the CPU profile lasts (default 60s).
	CPUProfile time.Duration
	// FloorK3s adds a floor phase with the finalizer and Events K3s writes.
	FloorK3s bool
	// SkipFloor and SkipRestart leave parts out.
	SkipFloor, SkipRestart bool
	Logf                   func(string, ...any)
}

// Run runs the floor phase, then the operator phase, each on a fresh
// cluster prepared the same way, and returns the report.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.Settle == 0 {
		opts.Settle = 5 * time.Second
	}
	if opts.CPUProfile == 0 {
		opts.CPUProfile = time.Minute
	}
	r := &Report{
		Date:  time.Now().UTC().Truncate(time.Second),
		Host:  Host{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), CPUModel: cpuModel()},
		Scale: opts.Scale,
		Setup: Setup{
			Components:     "ServiceLB only (spec.coredns.enabled and spec.traefik.enabled false)",
			ClientQPS:      "no client-side limit for manager and floor (controller-runtime's GetConfig default, QPS -1)",
			FloorWorkers:   opts.FloorWorkers,
			SteadySeconds:  int(opts.Steady.Seconds()),
			ResyncTrigger:  "30s into the steady period, a label change on a node makes the manager reconcile every Service, as a resync does",
			SettleSeconds:  int(opts.Settle.Seconds()),
			ManagerVersion: opts.ManagerBinary,
			ManagerEnv:     opts.ManagerEnv,
		},
	}
	if !opts.SkipFloor {
		floor, err := runFloor(ctx, opts, false)
		if err != nil {
			return nil, fmt.Errorf("floor phase: %w", err)
		}
		r.Floor = floor
		if opts.FloorK3s {
			if r.FloorK3s, err = runFloor(ctx, opts, true); err != nil {
				return nil, fmt.Errorf("floor phase with K3s's writes: %w", err)
			}
		}
	}
	op, err := runOperator(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("operator phase: %w", err)
	}
	r.Operator = op
	if r.Floor != nil && r.Floor.ConvergenceSeconds > 0 {
		r.ConvergenceRatio = round3(op.ConvergenceSeconds / r.Floor.ConvergenceSeconds)
	}
	if r.FloorK3s != nil && r.FloorK3s.ConvergenceSeconds > 0 {
		r.ConvergenceRatioK3s = round3(op.ConvergenceSeconds / r.FloorK3s.ConvergenceSeconds)
	}
	r.Evaluate()
	return r, nil
}

// converge creates the Services and waits until the observer saw every
// one with its ingress. It returns the start (just before the first
// create), when the creates ended, and when the last Service converged.
func converge(ctx context.Context, env *Env, obs *Observer, timeout time.Duration, logf func(string, ...any)) (start, created, end time.Time, err error) {
	start = time.Now()
	progress := make(chan struct{})
	go func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-progress:
				return
			case <-t.C:
				logf("  %4.0fs: %d/%d Services with their ingress", time.Since(start).Seconds(), obs.Converged(), env.Scale.Services)
			}
		}
	}()
	defer close(progress)
	if err = env.CreateServices(ctx); err != nil {
		return start, created, end, err
	}
	created = time.Now()
	logf("  created %d Services in %.1fs", env.Scale.Services, created.Sub(start).Seconds())
	select {
	case <-obs.Done():
	case <-time.After(timeout - time.Since(start)):
		return start, created, end, fmt.Errorf("only %d of %d Services got their ingress within %s", obs.Converged(), env.Scale.Services, timeout)
	case <-ctx.Done():
		return start, created, end, ctx.Err()
	}
	tl := obs.Timeline()
	end = tl[len(tl)-1]
	return start, created, end, nil
}

// runFloor runs the scenario with the floor client, with K3s's finalizer
// and Events when k3sWrites is set.
func runFloor(ctx context.Context, opts Options, k3sWrites bool) (*PhaseResult, error) {
	name := "floor"
	if k3sWrites {
		name = "floor-k3s"
	}
	logf := func(format string, args ...any) { opts.Logf(name+": "+format, args...) }
	logf("preparing a cluster with %d nodes and %d unrelated pods", opts.Scale.Nodes, opts.Scale.Pods)
	env, err := StartEnv(ctx, opts.Scale, filepath.Join(opts.Dir, name), logf)
	if err != nil {
		return nil, err
	}
	defer env.Stop()
	if err := env.CreateSvclbServiceAccount(ctx); err != nil {
		return nil, err
	}
	proxy, err := StartProxy(env.Cluster.Config())
	if err != nil {
		return nil, err
	}
	defer proxy.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	floor, err := NewFloor(proxy.Config(-1, 0), opts.FloorWorkers, k3sWrites)
	if err != nil {
		return nil, err
	}
	if err := floor.Start(ctx); err != nil {
		return nil, err
	}
	res, _, err := measureConvergence(ctx, env, proxy, opts, logf)
	if err != nil {
		return nil, err
	}
	logf("converged in %.1fs, %.2f writes/Service, status latency p50 %.0f ms p99 %.0f ms",
		res.ConvergenceSeconds, res.Convergence.WritesPerService, res.StatusLatency.P50Ms, res.StatusLatency.P99Ms)
	return res, nil
}

// measureConvergence creates the Services, waits until the bench's watch
// saw every ingress, then the settle time, and returns the phase's timings,
// the requests proxy counted from the first create to the end of the
// settle time, and the time of the first create.
func measureConvergence(ctx context.Context, env *Env, proxy *Proxy, opts Options, logf func(string, ...any)) (*PhaseResult, time.Time, error) {
	obs := NewObserver(env.ExpectedIPs())
	watches, err := kubernetes.NewForConfig(proxy.ObserverConfig())
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("observer client: %w", err)
	}
	if err := obs.Start(ctx, watches); err != nil {
		return nil, time.Time{}, err
	}
	load0 := loadAverage()
	start, created, end, err := converge(ctx, env, obs, opts.Timeout, logf)
	if err != nil {
		return nil, time.Time{}, err
	}
	load1 := loadAverage()
	podEvents := obs.PodEvents()
	time.Sleep(opts.Settle)
	reasons, err := eventsByReason(ctx, env)
	if err != nil {
		return nil, time.Time{}, err
	}
	return &PhaseResult{
		SvclbPodEvents:      podEvents,
		EventsByReason:      reasons,
		LoadAverage:         [2]float64{load0, load1},
		ConvergenceSeconds:  round3(end.Sub(start).Seconds()),
		CreateSeconds:       round3(created.Sub(start).Seconds()),
		StatusLatency:       latency(obs.StatusLatencies()),
		ServerStatusLatency: latency(obs.ServerStatusLatencies()),
		Slowest:             obs.Slowest(10),
		ReadySpread:         latency(obs.ReadySpreads()),
		Convergence:         countRequests(proxy.Requests(), start, end.Add(opts.Settle), opts.Scale.Services),
		Curve:               curve(obs.Timeline(), start, 400),
	}, start, nil
}

// runOperator runs the scenario with the manager binary, then the steady
// period and a restart.
func runOperator(ctx context.Context, opts Options) (*PhaseResult, error) {
	logf := opts.Logf
	logf("operator phase: preparing a cluster with %d nodes and %d unrelated pods", opts.Scale.Nodes, opts.Scale.Pods)
	env, err := StartEnv(ctx, opts.Scale, filepath.Join(opts.Dir, "operator"), logf)
	if err != nil {
		return nil, err
	}
	defer env.Stop()
	proxy, err := StartProxy(env.Cluster.Config())
	if err != nil {
		return nil, err
	}
	defer proxy.Close()
	kubeconfig := filepath.Join(opts.Dir, "operator", "proxy.kubeconfig")
	if err := proxy.WriteKubeconfig(kubeconfig); err != nil {
		return nil, err
	}
	mopts := ManagerOptions{Binary: opts.ManagerBinary, Kubeconfig: kubeconfig, LogPath: filepath.Join(opts.Dir, "operator", "manager.log"), Metrics: true, Env: opts.ManagerEnv, Pprof: opts.ProfileDir != ""}
	mgr, err := StartManager(mopts)
	if err != nil {
		return nil, err
	}
	defer mgr.Stop(15 * time.Second)
	began := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sampler := &Sampler{}
	samplerCtx, stopSampler := context.WithCancel(ctx)
	defer stopSampler()
	// Sample times are relative to began until the first create; they are
	// shifted below.
	go sampler.Run(samplerCtx, mgr.PID(), mgr.MetricsURL, began, time.Second)
	if opts.ProfileDir != "" {
		if err := os.MkdirAll(opts.ProfileDir, 0o755); err != nil {
			return nil, fmt.Errorf("create the profile directory: %w", err)
		}
		go SaveProfiles(samplerCtx, mgr.PprofURL, opts.ProfileDir, 10*time.Second)
	}

	if err := env.ApplyClusterNetworking(ctx); err != nil {
		return nil, err
	}
	if err := env.WaitClusterNetworkingReady(ctx, 2*time.Minute); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, tail(mgr.LogPath, 20))
	}
	waitQuiet(ctx, proxy, 3*time.Second, time.Minute)
	if err := mgr.Exited(); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, tail(mgr.LogPath, 20))
	}
	cpuStart, _ := ReadProcStats(mgr.PID())
	ctrlStart := scrapeControllers(ctx, mgr.MetricsURL)
	if opts.ProfileDir != "" {
		go func() {
			secs := int(max(opts.CPUProfile, time.Second).Seconds())
			url := fmt.Sprintf("%sprofile?seconds=%d", mgr.PprofURL, secs)
			if err := fetchTo(samplerCtx, url, filepath.Join(opts.ProfileDir, "cpu.pb.gz")); err != nil {
				logf("cpu profile: %v", err)
			}
		}()
	}
	res, start, err := measureConvergence(ctx, env, proxy, opts, logf)
	if err != nil {
		return nil, fmt.Errorf("%w\n%s", err, tail(mgr.LogPath, 20))
	}
	cpuConv, _ := ReadProcStats(mgr.PID())
	ctrlConv := diffControllers(ctrlStart, scrapeControllers(ctx, mgr.MetricsURL), opts.Scale.Services)
	startup := countRequests(proxy.Requests(), began, start, 0)
	res.Startup = &startup
	logf("operator: converged in %.1fs, %.2f writes/Service (%.2f without Events), status latency p50 %.0f ms p99 %.0f ms",
		res.ConvergenceSeconds, res.Convergence.WritesPerService, res.Convergence.WritesPerServiceNoEvents, res.StatusLatency.P50Ms, res.StatusLatency.P99Ms)

	if opts.Steady > 0 {
		logf("steady period of %s (every Service reconciled again after 30s)", opts.Steady)
		steadyStart := time.Now()
		if err := sleepCtx(ctx, min(30*time.Second, opts.Steady/2)); err != nil {
			return nil, err
		}
		if err := touchNode(ctx, env); err != nil {
			return nil, err
		}
		if err := sleepCtx(ctx, time.Until(steadyStart.Add(opts.Steady))); err != nil {
			return nil, err
		}
		steady := countRequests(proxy.Requests(), steadyStart, time.Now(), opts.Scale.Services)
		res.Steady = &steady
		logf("steady: %d writes %v", steady.Writes, steady.WritesByResource)
	}
	cpuSteady, _ := ReadProcStats(mgr.PID())
	if err := mgr.Exited(); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, tail(mgr.LogPath, 20))
	}
	stopSampler()
	cost := &ManagerCost{
		PeakRSSMiB:            mib(max(sampler.PeakRSS(), cpuSteady.PeakRSS)),
		CPUSecondsStartup:     round3(cpuStart.CPUSeconds),
		CPUSecondsConvergence: round3(cpuConv.CPUSeconds - cpuStart.CPUSeconds),
		CPUSecondsSteady:      round3(cpuSteady.CPUSeconds - cpuConv.CPUSeconds),
		Controllers:           ctrlConv,
	}
	shift := start.Sub(began).Seconds()
	for _, s := range sampler.Samples() {
		s.T = round3(s.T - shift)
		cost.Samples = append(cost.Samples, s)
		cost.PeakHeapInuseMiB = max(cost.PeakHeapInuseMiB, mib(s.HeapInuse))
		cost.PeakAnonRSSMiB = max(cost.PeakAnonRSSMiB, mib(s.AnonBytes))
		cost.EndHeapInuseMiB = mib(s.HeapInuse)
	}
	cost.RSSAtFirstCreateMiB = mib(cpuStart.RSS)
	if pods := opts.Scale.SvclbPods(); pods > 0 {
		cost.RSSGrowthPer1000SvclbPodsMiB = round3((cost.PeakRSSMiB - cost.RSSAtFirstCreateMiB) * 1000 / float64(pods))
	}
	if res.SvclbPodEvents > 0 {
		cost.CPUSecondsPer1000PodEvents = round3(cost.CPUSecondsConvergence * 1000 / float64(res.SvclbPodEvents))
	}
	res.Manager = cost

	if !opts.SkipRestart {
		if err := restart(ctx, env, proxy, mgr, mopts, res, logf); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// restart stops the manager and starts it again with nothing to change,
// counting its requests until it falls quiet.
func restart(ctx context.Context, env *Env, proxy *Proxy, mgr *Manager, mopts ManagerOptions, res *PhaseResult, logf func(string, ...any)) error {
	logf("restarting the manager with %d converged Services", env.Scale.Services)
	if err := mgr.Stop(15 * time.Second); err != nil {
		return err
	}
	from := time.Now()
	again, err := StartManager(mopts)
	if err != nil {
		return err
	}
	defer again.Stop(15 * time.Second)
	sampler := &Sampler{}
	sctx, stop := context.WithCancel(ctx)
	go sampler.Run(sctx, again.PID(), again.MetricsURL, from, time.Second)
	// Let it start, list and reconcile; it is done when quiet.
	if err := sleepCtx(ctx, 5*time.Second); err != nil {
		stop()
		return err
	}
	waitQuiet(ctx, proxy, 10*time.Second, 5*time.Minute)
	st, _ := ReadProcStats(again.PID())
	stop()
	req := countRequests(proxy.Requests(), from, time.Now(), env.Scale.Services)
	res.Restart = &req
	res.Manager.RestartPeakRSSMiB = mib(max(st.PeakRSS, sampler.PeakRSS()))
	res.Manager.RestartCPUSeconds = round3(st.CPUSeconds)
	logf("restart: %d writes %v in %.0fs", req.Writes, req.WritesByResource, req.Seconds)
	return again.Exited()
}

// eventsByReason counts the Events on the scenario's Services by reason.
func eventsByReason(ctx context.Context, env *Env) (map[string]int, error) {
	out := map[string]int{}
	cont := ""
	for {
		list, err := env.Client.EventsV1().Events(ServiceNS).List(ctx, metav1.ListOptions{Limit: 500, Continue: cont})
		if err != nil {
			return nil, fmt.Errorf("list events: %w", err)
		}
		for i := range list.Items {
			if list.Items[i].Regarding.Kind == "Service" {
				out[list.Items[i].Reason]++
			}
		}
		if cont = list.Continue; cont == "" {
			return out, nil
		}
	}
}

// touchNode changes a label of one node that ServiceLB does not use: the
// manager then reconciles every LoadBalancer Service, as on a resync.
func touchNode(ctx context.Context, env *Env) error {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]string{"bench.wharf.dev/touched": fmt.Sprint(time.Now().Unix())}}})
	if _, err := env.Client.CoreV1().Nodes().Patch(ctx, env.Nodes[0].Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("label node %s: %w", env.Nodes[0].Name, err)
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "--- last lines of " + path + " ---\n" + strings.Join(lines, "\n")
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// loadAverage returns the 1-minute load average, or 0.
func loadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(fields[0], 64)
	return v
}
