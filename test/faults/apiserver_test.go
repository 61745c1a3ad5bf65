package faults

import (
	"context"
	"testing"
	"time"
)

// apiServerServices converge across the API server restart; more are
// created after it, which only a manager whose watches reconnected serves.
const (
	apiServerServices = 100
	afterRestart      = 20
)

// TestAPIServerRestart restarts kube-apiserver while Services converge. The
// manager must reconnect by itself, without exiting, and serve every
// Service, including those created after the restart.
func TestAPIServerRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	e := startEnv(ctx, t, 2)
	m := e.startManager("manager", e.cluster.KubeconfigPath())
	pid := m.PID()
	if err := e.createServices(ctx, 0, apiServerServices); err != nil {
		t.Fatal(err)
	}
	// Restart once the manager is well into the work, not before it began.
	e.waitConverged(ctx, 10, time.Minute, m.Exited)
	n, _ := e.converged(ctx)
	began := time.Now()
	if err := e.cluster.RestartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("kube-apiserver restarted in %s with %d/%d Services converged", time.Since(began).Round(time.Millisecond), n, apiServerServices)
	if n == apiServerServices {
		t.Log("note: every Service had converged before the restart")
	}
	if err := e.createServices(ctx, apiServerServices, apiServerServices+afterRestart); err != nil {
		t.Fatal(err)
	}
	e.waitConverged(ctx, apiServerServices+afterRestart, 2*time.Minute, m.Exited)
	e.checkServed(ctx, apiServerServices+afterRestart)
	if err := m.Exited(); err != nil || m.PID() != pid {
		t.Fatalf("the manager did not survive the API server restart: %v", err)
	}
}
