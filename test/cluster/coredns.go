package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// CoreDNS is a running coredns process serving a Corefile.
type CoreDNS struct {
	proc     *process
	corefile string
}

// startupBanner is printed by coredns once all its servers listen.
var startupBanner = regexp.MustCompile(`(?m)^CoreDNS-\d`)

// serverPort matches a Corefile server block key with a port, e.g. ".:1053 {"
// or "dns://cluster.local:1053 {".
var serverPort = regexp.MustCompile(`(?m)^\s*(?:dns://)?[^\s{#]*:(\d+)[^{\n]*\{`)

// StartCoreDNS writes corefile to dir/Corefile and runs binDir/coredns on it
// (log in dir/coredns.log), then waits until the servers are up: coredns has
// printed its start-up banner and, for each port named in a server block key,
// answers TCP on 127.0.0.1. The Corefile should bind its servers to a free
// 127.0.0.1 port (see FreePort); relative paths in it (hosts or zone files)
// resolve from dir. binDir defaults as Options.BinDir does.
func StartCoreDNS(ctx context.Context, binDir, dir, corefile string) (*CoreDNS, error) {
	if binDir == "" {
		var err error
		if binDir, err = DefaultBinDir(); err != nil {
			return nil, err
		}
	}
	if err := CheckBinDir(binDir, "coredns"); err != nil {
		return nil, err
	}
	// coredns runs in dir: make the paths independent of it.
	var err error
	if binDir, err = filepath.Abs(binDir); err != nil {
		return nil, fmt.Errorf("resolve bin dir: %w", err)
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, fmt.Errorf("resolve coredns dir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create coredns dir: %w", err)
	}
	path := filepath.Join(dir, "Corefile")
	if err := os.WriteFile(path, []byte(corefile), 0o644); err != nil {
		return nil, fmt.Errorf("write corefile: %w", err)
	}
	d := &CoreDNS{
		corefile: path,
		proc: &process{
			name:    "coredns",
			path:    filepath.Join(binDir, "coredns"),
			args:    []string{"-conf", path},
			workDir: dir,
			logPath: filepath.Join(dir, "coredns.log"),
		},
	}
	if err := d.proc.start(); err != nil {
		return nil, err
	}
	var ports []string
	for _, m := range serverPort.FindAllStringSubmatch(corefile, -1) {
		ports = append(ports, m[1])
	}
	err = waitFor(ctx, time.Minute, "coredns", []*process{d.proc}, func(ctx context.Context) error {
		data, err := os.ReadFile(d.proc.logPath)
		if err != nil {
			return err
		}
		if !startupBanner.Match(data) {
			return errors.New("no start-up banner yet")
		}
		for _, port := range ports {
			conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", port))
			if err != nil {
				return err
			}
			_ = conn.Close()
		}
		return nil
	})
	if err != nil {
		_ = d.proc.stop()
		return nil, err
	}
	return d, nil
}

// CorefilePath returns the path of the Corefile coredns runs; coredns picks
// up changes to it when the Corefile uses the reload plugin.
func (d *CoreDNS) CorefilePath() string { return d.corefile }

// LogPath returns the path of the coredns log.
func (d *CoreDNS) LogPath() string { return d.proc.logPath }

// Log returns the last n lines of the coredns log.
func (d *CoreDNS) Log(n int) string { return d.proc.tail(n) }

// Stop stops coredns. It reports an exit that happened before Stop.
func (d *CoreDNS) Stop() error {
	if err := d.proc.exited(); err != nil {
		return fmt.Errorf("%w before Stop:\n%s", err, strings.TrimSpace(d.proc.tail(20)))
	}
	return d.proc.stop()
}
