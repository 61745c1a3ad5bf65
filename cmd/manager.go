package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/KimMachineGun/automemlimit/memlimit"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/wharf-dev/wharf/controllers"
	"github.com/wharf-dev/wharf/internal/lazylog"
)

// gcPercent is the manager's GOGC unless the environment sets one: the
// heap may grow by a quarter of the live objects before a collection,
// instead of Go's default of all of them. The live heap is mostly the cache
// and the garbage mostly decoded watch events, so collecting more often
// costs little CPU and keeps the peak close to the cache's size; at 2,000
// Services it trades 10 s of CPU during convergence for 57 MiB less peak
// RSS (docs/performance.md).
const gcPercent = 25

// softLimitRatio is the manager's soft memory limit as a share of its
// container's memory limit: the Go runtime collects harder as the heap
// nears it, and the tenth left over is for what the limit does not count
// (the executable's pages, memory outside the Go heap's accounting), so
// that the collector, not the kernel's OOM killer, acts first.
const softLimitRatio = 0.9

// setGCPercent sets GOGC to gcPercent unless the environment sets GOGC,
// and returns the GOGC in force.
func setGCPercent() int {
	if _, ok := os.LookupEnv("GOGC"); ok {
		// Read the runtime's value (from GOGC) by setting it and back.
		gogc := debug.SetGCPercent(-1)
		debug.SetGCPercent(gogc)
		return gogc
	}
	debug.SetGCPercent(gcPercent)
	return gcPercent
}

// setMemoryLimit sets the Go runtime's soft memory limit to softLimitRatio
// of the limit provider reports (the container's cgroup memory limit in
// the manager), and returns the soft limit in force in bytes
// (math.MaxInt64: none). GOMEMLIMIT in the environment wins, and so does
// AUTOMEMLIMIT (a ratio, or "off"), as github.com/KimMachineGun/automemlimit
// reads them; without a limit (outside a container) the runtime keeps
// none. The returned error says why no limit was read; the runtime then
// keeps its previous limit.
//
// The cgroup is read by that library rather than by wharf's own code: it
// knows cgroup v1 and v2 and nested hierarchies, and adds 49 KB to the
// manager binary (measured).
// config/manager/manager.yaml must not set GOMEMLIMIT, or the whole limit
// would replace the 90%.
func setMemoryLimit(provider memlimit.Provider) (int64, error) {
	_, err := memlimit.SetGoMemLimitWithOpts(memlimit.WithRatio(softLimitRatio), memlimit.WithProvider(provider))
	if err != nil {
		err = fmt.Errorf("set the soft memory limit from the container's limit: %w", err)
	}
	return debug.SetMemoryLimit(-1), err
}

type managerFlags struct {
	metricsAddr   string
	metricsSecure bool
	probeAddr     string
	leaderElect   bool
	leaderElectNS string
	enableHTTP2   bool
	pprofAddr     string
	version       bool
	zap           zap.Options
}

// parseManagerFlags parses the manager's flags. -h and --help print the
// usage to stdout; a wrong flag is returned as an error, once, without the
// usage (the flag package would print both).
func parseManagerFlags(args []string, stdout io.Writer) (*managerFlags, error) {
	f := &managerFlags{}
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	config.RegisterFlags(fs)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	usage := func() {
		fs.SetOutput(stdout)
		fmt.Fprintf(stdout, `Usage: manager [flags]
       manager render -f FILE
       manager --version

wharf manages CoreDNS, Traefik and ServiceLB from the ClusterNetworking
resource named "cluster". The cluster is reached through --kubeconfig, the
KUBECONFIG variable, or the in-cluster service account.

Flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&f.metricsAddr, "metrics-bind-address", "0",
		`Address the metrics endpoint binds to, such as ":8443" (HTTPS) or ":8080" (HTTP, with --metrics-secure=false). "0" turns metrics off.`)
	fs.BoolVar(&f.metricsSecure, "metrics-secure", true,
		"Serve metrics over HTTPS and require callers to be authenticated and authorized (TokenReview and SubjectAccessReview for GET /metrics).")
	fs.StringVar(&f.probeAddr, "health-probe-bind-address", ":8081",
		`Address the /healthz and /readyz probes bind to. "0" turns them off.`)
	fs.BoolVar(&f.leaderElect, "leader-elect", false,
		"Elect a leader with a Lease so that only one of several replicas reconciles at a time.")
	fs.StringVar(&f.leaderElectNS, "leader-election-namespace", "",
		"Namespace of the leader election Lease. Empty: the namespace the manager runs in.")
	fs.BoolVar(&f.enableHTTP2, "enable-http2", false,
		"Allow HTTP/2 on the metrics server. Off by default against HTTP/2 stream attacks (CVE-2023-44487).")
	fs.StringVar(&f.pprofAddr, "pprof-bind-address", "0",
		`Address a Go profiling endpoint (/debug/pprof/) binds to, unauthenticated: keep it on loopback, such as "127.0.0.1:6060". "0" turns it off.`)
	fs.BoolVar(&f.version, "version", false, "Print the version and exit.")
	f.zap.BindFlags(fs)
	err := fs.Parse(args)
	switch {
	case err == flag.ErrHelp:
		usage()
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("%w (manager --help lists the flags)", err)
	}
	return f, nil
}

func runManager(args []string, stdout io.Writer) error {
	f, err := parseManagerFlags(args, stdout)
	if err != nil {
		if err == flag.ErrHelp {
			return nil
		}
		return err
	}
	if f.version {
		fmt.Fprintln(stdout, version)
		return nil
	}
	// Values are encoded only for lines written (see internal/lazylog).
	ctrl.SetLogger(lazylog.Wrap(zap.New(zap.UseFlagOptions(&f.zap))))
	log := ctrl.Log.WithName("setup")
	gogc := setGCPercent()
	softLimit, err := setMemoryLimit(memlimit.FromCgroup)
	if err != nil {
		log.Error(err, "the Go runtime keeps its previous soft memory limit")
	}
	log.Info("garbage collector", "gcPercent", gogc, "softLimitBytes", softLimit)

	restConfig, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("find the cluster: %w", err)
	}
	mgr, err := ctrl.NewManager(controllers.RESTConfig(restConfig), controllers.ManagerOptions(controllers.ManagerConfig{
		MetricsAddr:             f.metricsAddr,
		MetricsSecure:           f.metricsSecure,
		EnableHTTP2:             f.enableHTTP2,
		PprofAddr:               f.pprofAddr,
		ProbeAddr:               f.probeAddr,
		LeaderElect:             f.leaderElect,
		LeaderElectionNamespace: f.leaderElectNS,
	}))
	if err != nil {
		return fmt.Errorf("create the manager: %w", err)
	}
	if err := controllers.SetupManager(mgr); err != nil {
		return err
	}
	log.Info("starting wharf", "version", version, "leaderElection", f.leaderElect)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		return fmt.Errorf("run the manager: %w", err)
	}
	return nil
}
