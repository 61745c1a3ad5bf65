package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat; it
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

// Manager is the wharf manager binary running as a child process.
type Manager struct {
	// MetricsURL serves Prometheus metrics over plain HTTP.
	MetricsURL string
	// PprofURL is the manager's /debug/pprof/ when ManagerOptions.Pprof is set.
	PprofURL string
	// LogPath receives the manager's output.
	LogPath string

	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// ManagerOptions say how to run the manager.
type ManagerOptions struct {
	// Binary is the manager executable.
	Binary string
	// Kubeconfig is the cluster to manage.
	Kubeconfig string
	// LogPath receives stdout and stderr (appended).
	LogPath string
	// Metrics serves metrics on a free loopback port when set.
	Metrics bool
	// Pprof serves Go profiles on a free loopback port when set.
	Pprof bool
	// Args are added to the command line.
	Args []string
	// Env is added to the environment.
	Env []string
}

// StartManager starts the manager binary.
func StartManager(opts ManagerOptions) (*Manager, error) {
	args := []string{"--kubeconfig", opts.Kubeconfig, "--health-probe-bind-address=0"}
	m := &Manager{LogPath: opts.LogPath, done: make(chan struct{})}
	if opts.Metrics {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		args = append(args, "--metrics-bind-address="+addr, "--metrics-secure=false")
		m.MetricsURL = "http://" + addr + "/metrics"
	} else {
		args = append(args, "--metrics-bind-address=0")
	}
	if opts.Pprof {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		args = append(args, "--pprof-bind-address="+addr)
		m.PprofURL = "http://" + addr + "/debug/pprof/"
	}
	args = append(args, opts.Args...)
	log, err := os.OpenFile(opts.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open the manager log: %w", err)
	}
	fmt.Fprintf(log, "=== %s starting: %s %s\n", time.Now().Format(time.RFC3339Nano), opts.Binary, strings.Join(args, " "))
	m.cmd = exec.Command(opts.Binary, args...)
	m.cmd.Stdout, m.cmd.Stderr = log, log
	m.cmd.Env = append(os.Environ(), opts.Env...)
	// Die with the parent: a crashed bench or test leaves no manager behind.
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := m.cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", opts.Binary, err)
	}
	go func() {
		m.err = m.cmd.Wait()
		fmt.Fprintf(log, "=== %s exited: %v\n", time.Now().Format(time.RFC3339Nano), m.err)
		log.Close()
		close(m.done)
	}()
	return m, nil
}

// PID returns the process id.
func (m *Manager) PID() int { return m.cmd.Process.Pid }

// Exited returns a non-nil error once the process has exited.
func (m *Manager) Exited() error {
	select {
	case <-m.done:
		if m.err == nil {
			return errors.New("the manager exited with status 0")
		}
		return fmt.Errorf("the manager exited: %w", m.err)
	default:
		return nil
	}
}

// Done is closed when the process has exited.
func (m *Manager) Done() <-chan struct{} { return m.done }

// Kill sends SIGKILL and waits for the exit.
func (m *Manager) Kill() {
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	<-m.done
}

// Stop sends SIGTERM and waits up to timeout, then kills.
func (m *Manager) Stop(timeout time.Duration) error {
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
		return nil
	case <-time.After(timeout):
		m.Kill()
		return fmt.Errorf("the manager ignored SIGTERM for %s and was killed", timeout)
	}
}

// ProcStats is what /proc says about a process.
type ProcStats struct {
	// RSS and PeakRSS (VmHWM) in bytes; AnonRSS is the part of RSS that
	// is not file-backed (the executable's mapped pages are).
	RSS, PeakRSS, AnonRSS int64
	// CPUSeconds is user plus system time.
	CPUSeconds float64
}

// ReadProcStats reads /proc/PID/status and /proc/PID/stat.
func ReadProcStats(pid int) (ProcStats, error) {
	var st ProcStats
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st, fmt.Errorf("read process status: %w", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "VmRSS:":
			st.RSS = kb << 10
		case "VmHWM:":
			st.PeakRSS = kb << 10
		case "RssAnon:":
			st.AnonRSS = kb << 10
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return st, fmt.Errorf("read process stat: %w", err)
	}
	// The command name is in parentheses and may hold spaces: fields
	// start after the last ')'. utime and stime are fields 14 and 15.
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return st, fmt.Errorf("parse process stat %q", s)
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	st.CPUSeconds = float64(utime+stime) / clockTicks
	return st, nil
}

// Sample is one reading of the manager's cost.
type Sample struct {
	// T is seconds since the scenario's start.
	T          float64 `json:"t"`
	RSSBytes   int64   `json:"rssBytes"`
	AnonBytes  int64   `json:"anonRSSBytes"`
	HeapInuse  int64   `json:"heapInuseBytes"`
	CPUSeconds float64 `json:"cpuSeconds"`
}

// Sampler reads the manager's RSS, heap and CPU every interval.
type Sampler struct {
	mu      sync.Mutex
	samples []Sample
	peak    int64
}

// heapEvery is how many samples apart the heap in use is read from the
// manager's metrics; RSS and CPU come from /proc at every sample. Read at
// every second, the scrapes were 6% of the manager's CPU with every node
// serving.
const heapEvery = 10

// Run samples until ctx ends, reading pid and metricsURL.
func (s *Sampler) Run(ctx context.Context, pid int, metricsURL string, start time.Time, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var heap float64
	for i := 0; ; i++ {
		st, err := ReadProcStats(pid)
		if err == nil {
			if i%heapEvery == 0 {
				// A scrape costs the manager CPU (it renders every
				// metric): the heap is read less often than /proc.
				heap, _ = ScrapeGauge(ctx, metricsURL, "go_memstats_heap_inuse_bytes")
			}
			s.mu.Lock()
			s.samples = append(s.samples, Sample{T: time.Since(start).Seconds(), RSSBytes: st.RSS, AnonBytes: st.AnonRSS, HeapInuse: int64(heap), CPUSeconds: st.CPUSeconds})
			s.peak = max(s.peak, st.PeakRSS)
			s.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Samples returns the samples so far.
func (s *Sampler) Samples() []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sample(nil), s.samples...)
}

// PeakRSS returns the largest VmHWM read.
func (s *Sampler) PeakRSS() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// ScrapeGauge reads one unlabelled sample from a Prometheus text endpoint.
func ScrapeGauge(ctx context.Context, url, name string) (float64, error) {
	vals, err := Scrape(ctx, url, name)
	if err != nil {
		return 0, err
	}
	return vals[""], nil
}

// Scrape reads the samples of one metric from a Prometheus text endpoint,
// keyed by their label set as written ("" for none).
func Scrape(ctx context.Context, url, name string) (map[string]float64, error) {
	if url == "" {
		return nil, errors.New("no metrics endpoint")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	// Uncompressed: gzip would cost the measured manager CPU.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	return parseMetric(resp.Body, name)
}

func parseMetric(r io.Reader, name string) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		labels := ""
		switch {
		case strings.HasPrefix(rest, "{"):
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				continue
			}
			labels, rest = rest[1:end], rest[end+1:]
		case strings.HasPrefix(rest, " "):
		default:
			continue // a longer metric name
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		out[labels] = v
	}
	return out, sc.Err()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// SaveProfiles writes the manager's heap profile (after a collection, so
// live objects only) and its goroutines to dir every period until ctx ends,
// as heap-<seconds since start>.pb.gz, for `go tool pprof`.
func SaveProfiles(ctx context.Context, pprofURL, dir string, period time.Duration) {
	start := time.Now()
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		name := fmt.Sprintf("heap-%04d.pb.gz", int(time.Since(start).Seconds()))
		_ = fetchTo(ctx, pprofURL+"heap?gc=1", filepath.Join(dir, name))
		_ = fetchTo(ctx, pprofURL+"goroutine?debug=1", filepath.Join(dir, strings.Replace(name, "heap", "goroutine", 1)+".txt"))
	}
}

func fetchTo(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}
