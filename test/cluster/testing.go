package cluster

import (
	"context"
	"testing"
)

// StartForTest starts a cluster for the test t and stops it when t ends,
// with the tail of its logs when t failed. Under -short (make test-unit) it
// skips t: only `go test -short` leaves the cluster out; a missing binary,
// among Binaries or extraBinaries, fails t with the command that builds it.
// Empty Dir and Logf default to t.TempDir() and t.Logf.
func StartForTest(ctx context.Context, t testing.TB, opts Options, extraBinaries ...string) *Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a local cluster; skipped with -short")
	}
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	if len(extraBinaries) > 0 {
		dir := opts.BinDir
		if dir == "" {
			var err error
			if dir, err = DefaultBinDir(); err != nil {
				t.Fatal(err)
			}
		}
		if err := CheckBinDir(dir, extraBinaries...); err != nil {
			t.Fatal(err)
		}
	}
	c, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("cluster logs:\n%s", c.LogTail(30))
		}
		if err := c.Stop(); err != nil {
			t.Errorf("stop the cluster: %v", err)
		}
	})
	return c
}
