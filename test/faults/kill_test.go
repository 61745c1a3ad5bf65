package faults

import (
	"context"
	"testing"
	"time"

	"github.com/wharf-dev/wharf/test/bench"
)

// killServices is how many Services converge while the manager is killed.
const killServices = 200

// TestManagerSIGKILL kills the manager with SIGKILL at random points while
// 200 Services converge, and again while they are deleted, restarting it
// each time. Every Service must end with exactly one DaemonSet, the ingress
// of every node and its finalizer; once the Services are deleted, no
// Service and no svclb DaemonSet may be left.
func TestManagerSIGKILL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	rnd := newRand(t)
	e := startEnv(ctx, t, 2)
	kubeconfig := e.cluster.KubeconfigPath()
	run := 0
	start := func() *bench.Manager {
		run++
		return e.startManager("manager", kubeconfig)
	}
	m := start()

	created := make(chan error, 1)
	go func() { created <- e.createServices(ctx, 0, killServices) }()

	// Kill at random points until the Services converged (at most 8 times),
	// restarting at once or after a short pause.
	kills := 0
	for kills < 8 {
		if err := sleepCtx(ctx, randDuration(rnd, 300*time.Millisecond, 4*time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := m.Exited(); err != nil {
			t.Fatalf("the manager died by itself: %v\n%s", err, tailFile(m.LogPath, 30))
		}
		n, _ := e.converged(ctx)
		if n == killServices {
			break
		}
		m.Kill()
		kills++
		t.Logf("kill %d: SIGKILL with %d/%d Services converged", kills, n, killServices)
		if err := sleepCtx(ctx, randDuration(rnd, 0, time.Second)); err != nil {
			t.Fatal(err)
		}
		m = start()
	}
	if err := <-created; err != nil {
		t.Fatal(err)
	}
	if kills == 0 {
		t.Fatal("the Services converged before the first kill: nothing was tested")
	}
	e.waitConverged(ctx, killServices, 2*time.Minute, m.Exited)
	e.checkServed(ctx, killServices)
	if t.Failed() {
		return
	}
	t.Logf("all %d Services served after %d kills", killServices, kills)

	// Delete them all and kill twice more while the finalizers are released.
	if err := e.deleteServices(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := sleepCtx(ctx, randDuration(rnd, 200*time.Millisecond, 2*time.Second)); err != nil {
			t.Fatal(err)
		}
		m.Kill()
		t.Logf("kill during deletion %d", i+1)
		m = start()
	}
	e.waitReleased(ctx, 90*time.Second, m.Exited)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
