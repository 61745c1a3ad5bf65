// Command wharfbench measures wharf's ServiceLB at scale on the local
// control plane (see package bench) and writes a JSON report and a PNG plot.
//
//	wharfbench [-n 500] [-m 50] [-pods 5000] [-pool 2|all] [-out test/bench/results/latest.json]
//	wharfbench -scenario hostile-index [-out test/bench/results/hostile-index.json]
//
// The environment variables N, M, PODS and POOL override the defaults of
// -n, -m, -pods and -pool. POOL=all (every node serves every Service, as
// in K3s by default) writes test/bench/results/every-node.json. The
// manager binary (bin/manager, from `make build`) and the control-plane
// binaries (bin/tools, from `make envtest`) must exist.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/wharf-dev/wharf/test/bench"
	"github.com/wharf-dev/wharf/test/cluster"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "wharfbench:", err)
		os.Exit(1)
	}
}

func run() error {
	// envtest (which installs the CRD) logs through controller-runtime.
	ctrllog.SetLogger(logr.Discard())
	root, err := cluster.RepoRoot()
	if err != nil {
		return err
	}
	var opts bench.Options
	fs := flag.NewFlagSet("wharfbench", flag.ExitOnError)
	fs.IntVar(&opts.Scale.Services, "n", envInt("N", 500), "LoadBalancer Services to create (env N)")
	fs.IntVar(&opts.Scale.Nodes, "m", envInt("M", 50), "kwok nodes (env M)")
	fs.IntVar(&opts.Scale.Pods, "pods", envInt("PODS", 5000), "unrelated pods bound to the nodes (env PODS)")
	pool := fs.String("pool", envString("POOL", "2"), `nodes serving each Service (an lbpool per this many nodes), or "all": every node serves every Service, K3s's default (env POOL)`)
	fs.IntVar(&opts.FloorWorkers, "floor-workers", 8, "concurrent workers of the floor clients (the manager's Service controller runs 8)")
	fs.DurationVar(&opts.Steady, "steady", 2*time.Minute, "length of the steady period after convergence (0: skip)")
	fs.DurationVar(&opts.Timeout, "timeout", 30*time.Minute, "time allowed for each phase to converge")
	fs.BoolVar(&opts.SkipFloor, "skip-floor", false, "do not run the floor phases")
	fs.BoolVar(&opts.FloorK3s, "floor-k3s", true, "also run the floor with the finalizer and Events K3s writes")
	fs.BoolVar(&opts.SkipRestart, "skip-restart", false, "do not measure a manager restart after the steady period")
	fs.Func("manager-env", "KEY=VALUE added to the manager's environment (repeatable), e.g. GOMEMLIMIT=80MiB", func(v string) error {
		if !strings.Contains(v, "=") {
			return fmt.Errorf("want KEY=VALUE, got %q", v)
		}
		opts.ManagerEnv = append(opts.ManagerEnv, v)
		return nil
	})
	fs.StringVar(&opts.ProfileDir, "profile-dir", "", "save the manager's heap profile here every 10s of the operator phase, and a CPU profile of convergence, cpu.pb.gz (go tool pprof)")
	fs.DurationVar(&opts.CPUProfile, "cpu-profile", time.Minute, "length of the CPU profile taken from the first create (with -profile-dir)")
	scenario := fs.String("scenario", "", `"" for ServiceLB at scale; "hostile-index": the manager fetches a 30 MiB chart index.yaml and its peak RSS growth must stay under a bound`)
	manager := fs.String("manager", filepath.Join(root, "bin", "manager"), "the manager binary (make build)")
	out := fs.String("out", filepath.Join(root, "test", "bench", "results", "latest.json"), "JSON report path; the PNG goes next to it with the .png extension")
	dir := fs.String("dir", "", "working directory for the clusters' files and logs (default: a temporary one, removed on success)")
	_ = fs.Parse(os.Args[1:])
	everyNode := *pool == "all"
	if everyNode {
		opts.Scale.PoolSize = opts.Scale.Nodes
		if !isSet(fs, "out") {
			*out = filepath.Join(root, "test", "bench", "results", "every-node.json")
		}
		if !isSet(fs, "floor-k3s") {
			// The floor shows the cluster's pace; K3s's writes add little to it.
			opts.FloorK3s = false
		}
	} else if opts.Scale.PoolSize, err = strconv.Atoi(*pool); err != nil {
		return fmt.Errorf(`-pool (POOL) must be a number of nodes or "all", not %q`, *pool)
	}
	if opts.Scale.Services < 1 || opts.Scale.Nodes < 1 || opts.Scale.Pods < 0 || opts.Scale.PoolSize < 1 || opts.Scale.PoolSize > opts.Scale.Nodes {
		return fmt.Errorf("need n >= 1, m >= 1, pods >= 0 and 1 <= pool <= m")
	}
	if opts.Scale.Nodes > 200*200 || opts.Scale.Services > 50000 {
		return fmt.Errorf("m must stay below 40000 and n below 50000 (ports and node IPs run out)")
	}
	if _, err := os.Stat(*manager); err != nil {
		return fmt.Errorf("the manager binary %s is missing: run `make build` first", *manager)
	}
	binDir, err := cluster.DefaultBinDir()
	if err == nil {
		err = cluster.CheckBinDir(binDir, cluster.Binaries...)
	}
	if err != nil {
		return err
	}
	opts.ManagerBinary = *manager
	opts.Logf = func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	ownDir := *dir == ""
	if ownDir {
		if *dir, err = os.MkdirTemp("", "wharfbench-"); err != nil {
			return fmt.Errorf("create the working directory: %w", err)
		}
	}
	opts.Dir = *dir
	if *scenario == "" {
		opts.Logf("working directory %s; N=%d M=%d PODS=%d POOL=%d", *dir, opts.Scale.Services, opts.Scale.Nodes, opts.Scale.Pods, opts.Scale.PoolSize)
	} else {
		opts.Logf("working directory %s; scenario %s", *dir, *scenario)
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	switch *scenario {
	case "":
	case "hostile-index":
		if !isSet(fs, "out") {
			*out = filepath.Join(root, "test", "bench", "results", "hostile-index.json")
		}
		return runHostileIndex(ctx, opts, *out, *dir, ownDir)
	default:
		return fmt.Errorf("unknown scenario %q", *scenario)
	}
	report, err := bench.Run(ctx, opts)
	if err != nil {
		return fmt.Errorf("%w (logs kept in %s)", err, *dir)
	}
	data, err := report.JSON()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(*out), err)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	png := strings.TrimSuffix(*out, filepath.Ext(*out)) + ".png"
	if err := bench.WritePlot(report, png); err != nil {
		return err
	}
	fmt.Printf("%s\nreport: %s\nplot:   %s\n", report.Table(), *out, png)
	if ownDir {
		_ = os.RemoveAll(*dir)
	}
	return nil
}

// runHostileIndex runs the hostile-index scenario, writes its report to
// out and fails when the bound is not met.
func runHostileIndex(ctx context.Context, opts bench.Options, out, dir string, ownDir bool) error {
	res, err := bench.RunHostileIndex(ctx, opts)
	if err != nil {
		return fmt.Errorf("%w (logs kept in %s)", err, dir)
	}
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	fmt.Printf("%s\nreport: %s\n", res.Table(), out)
	if !res.Met {
		return fmt.Errorf("the manager's peak RSS grew by %d bytes fetching the hostile index, over the bound of %d (logs kept in %s)",
			res.GrowthBytes, res.MaxGrowthBytes, dir)
	}
	if ownDir {
		_ = os.RemoveAll(dir)
	}
	return nil
}

// isSet reports whether the flag name was given.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// envString returns the environment variable name, or def when unset.
func envString(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// envInt returns the integer in the environment variable name, or def.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}
