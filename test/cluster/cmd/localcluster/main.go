// Command localcluster runs the local test control plane of package cluster
// for demos:
//
//	localcluster up --dir DIR --nodes master01=10.0.0.51,master02=10.0.0.52
//	localcluster down --dir DIR
//
// up starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
// kwok with the given fake nodes, writes DIR/kubeconfig and stays in the
// foreground until SIGINT or SIGTERM, then stops everything. down stops a
// cluster that up runs in the background, through DIR/localcluster.pid.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wharf-dev/wharf/test/cluster"
)

const pidFile = "localcluster.pid"

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "up":
		err = up(os.Args[2:])
	case "down":
		err = down(os.Args[2:])
	case "-h", "-help", "--help", "help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "localcluster: unknown command %q\n", os.Args[1])
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "localcluster: %v\n", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  localcluster up --dir DIR [--nodes NAME=IP,...] [--bin-dir DIR] [--timeout 3m]
  localcluster down --dir DIR
`)
	os.Exit(2)
}

func up(args []string) error {
	fs := flag.NewFlagSet("up", flag.ExitOnError)
	dir := fs.String("dir", "", "directory for the cluster's files, logs and kubeconfig (required)")
	nodes := fs.String("nodes", "master01=10.0.0.51", "fake nodes, NAME=INTERNAL_IP[,NAME=INTERNAL_IP...]")
	binDir := fs.String("bin-dir", "", "directory of the binaries (default: $KUBEBUILDER_ASSETS or <repo>/bin/tools)")
	timeout := fs.Duration("timeout", 3*time.Minute, "time allowed for each start-up step")
	_ = fs.Parse(args)
	if *dir == "" {
		return errors.New("up: --dir is required")
	}
	nodeList, err := parseNodes(*nodes)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", *dir, err)
	}
	if pid, alive := runningPID(*dir); alive {
		return fmt.Errorf("a cluster already runs in %s (pid %d): run `localcluster down --dir %s` first", *dir, pid, *dir)
	}
	if err := removeStale(*dir); err != nil {
		return err
	}
	pidPath := filepath.Join(*dir, pidFile)
	if err := os.WriteFile(pidPath, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	defer os.Remove(pidPath)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := func(format string, args ...any) { fmt.Printf("localcluster: "+format+"\n", args...) }
	c, err := cluster.Start(ctx, cluster.Options{BinDir: *binDir, Dir: *dir, Nodes: nodeList, Timeout: *timeout, Logf: logf})
	if err != nil {
		return err
	}
	logf("up: export KUBECONFIG=%s", c.KubeconfigPath())
	logf("stop with Ctrl-C or `localcluster down --dir %s`", *dir)

	ticker := time.NewTicker(2 * time.Second)
	defer ticker.Stop()
	var failure error
	for failure == nil && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-ticker.C:
			failure = c.Healthy()
		}
	}
	logf("stopping")
	if err := c.Stop(); err != nil {
		return errors.Join(failure, err)
	}
	if failure != nil {
		return failure
	}
	logf("stopped")
	return nil
}

func down(args []string) error {
	fs := flag.NewFlagSet("down", flag.ExitOnError)
	dir := fs.String("dir", "", "directory given to `localcluster up` (required)")
	timeout := fs.Duration("timeout", time.Minute, "time allowed for the cluster to stop")
	_ = fs.Parse(args)
	if *dir == "" {
		return errors.New("down: --dir is required")
	}
	pid, alive := runningPID(*dir)
	if !alive {
		_ = os.Remove(filepath.Join(*dir, pidFile))
		fmt.Printf("localcluster: no cluster running in %s\n", *dir)
		return nil
	}
	fmt.Printf("localcluster: stopping pid %d\n", pid)
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("signal pid %d: %w", pid, err)
	}
	deadline := time.Now().Add(*timeout)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil {
			fmt.Println("localcluster: stopped")
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Its children die with it (parent-death signal).
	_ = syscall.Kill(pid, syscall.SIGKILL)
	_ = os.Remove(filepath.Join(*dir, pidFile))
	return fmt.Errorf("pid %d did not stop within %s and was killed", pid, *timeout)
}

// runningPID reads the pid file of dir and reports whether that process is a
// live localcluster.
func runningPID(dir string) (int, bool) {
	data, err := os.ReadFile(filepath.Join(dir, pidFile))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 || syscall.Kill(pid, 0) != nil {
		return pid, false
	}
	// Guard against a recycled pid where /proc tells.
	if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && !strings.Contains(string(cmdline), "localcluster") {
		return pid, false
	}
	return pid, true
}

// removeStale deletes what a previous, dead cluster left in dir.
func removeStale(dir string) error {
	names := []string{"etcd", "pki", "kwok", "kwok.yaml", "kube-apiserver", "kubeconfig",
		"controller-manager.kubeconfig", "scheduler.kubeconfig", pidFile}
	for _, b := range cluster.Binaries {
		names = append(names, b+".log")
	}
	for _, name := range names {
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("remove stale %s: %w", name, err)
		}
	}
	return nil
}

func parseNodes(spec string) ([]cluster.Node, error) {
	var nodes []cluster.Node
	for item := range strings.SplitSeq(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, ip, ok := strings.Cut(item, "=")
		if !ok || name == "" || ip == "" {
			return nil, fmt.Errorf("bad node %q: want NAME=IP", item)
		}
		nodes = append(nodes, cluster.Node{Name: name, InternalIP: ip})
	}
	return nodes, nil
}
