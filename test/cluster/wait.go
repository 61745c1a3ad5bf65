package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

const pollInterval = 200 * time.Millisecond

// waitFor polls check until it succeeds. It fails early, with the end of the
// process log, when one of the watched processes exits, and fails after
// timeout or when ctx ends with the last error check returned.
func waitFor(ctx context.Context, timeout time.Duration, what string, watched []*process, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	var last error
	for {
		for _, p := range watched {
			if err := p.exited(); err != nil {
				return fmt.Errorf("wait for %s: %w\n--- last lines of %s ---\n%s", what, err, p.logPath, p.tail(30))
			}
		}
		if last = check(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("wait for %s: %v (last error: %v)", what, ctx.Err(), last)
			for _, p := range watched {
				msg += fmt.Sprintf("\n--- last lines of %s ---\n%s", p.logPath, p.tail(30))
			}
			return errors.New(msg)
		case <-ticker.C:
		}
	}
}

// httpGetOK succeeds when url answers 200 with a body containing want.
func httpGetOK(ctx context.Context, client *http.Client, url, want string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// httpsClient trusts ca and, when client is set, presents it.
func httpsClient(ca, client *keyPair) *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if client != nil {
		cfg.Certificates = []tls.Certificate{{Certificate: [][]byte{client.cert.Raw}, PrivateKey: client.key, Leaf: client.cert}}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}, Timeout: 5 * time.Second}
}
