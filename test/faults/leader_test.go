package faults

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/test/bench"
)

// Leader election timing of the manager (controller-runtime's defaults,
// which cmd/ keeps).
const (
	leaseDuration = 15 * time.Second
	renewDeadline = 10 * time.Second
	leaderSvcs    = 40
)

// replica is one of the two managers, behind a proxy of its own that
// records its every request.
type replica struct {
	name  string
	proxy *bench.Proxy
	mgr   *bench.Manager
}

// TestLeaderElection runs two managers with leader election, kills the
// leader with SIGKILL while Services converge, and checks that the other
// takes over within the lease duration plus the renew deadline, finishes
// the work, and that the two never wrote in the same period: the standby
// writes nothing (not even its Lease) before the leader is gone.
func TestLeaderElection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	e := startEnv(ctx, t, 2)
	var reps []*replica
	for _, name := range []string{"a", "b"} {
		p, err := bench.StartProxy(e.cluster.Config())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Close() })
		kubeconfig := filepath.Join(e.dir, name+".kubeconfig")
		if err := p.WriteKubeconfig(kubeconfig); err != nil {
			t.Fatal(err)
		}
		m := e.startManager("manager-"+name, kubeconfig, "--leader-elect", "--leader-election-namespace", svclbNS)
		reps = append(reps, &replica{name: name, proxy: p, mgr: m})
	}

	leader := waitLeader(ctx, t, reps)
	standby := reps[0]
	if standby == leader {
		standby = reps[1]
	}
	t.Logf("manager %s leads, %s stands by", leader.name, standby.name)
	holder := leaseHolder(ctx, t, e.cl)

	if err := e.createServices(ctx, 0, leaderSvcs); err != nil {
		t.Fatal(err)
	}
	e.waitConverged(ctx, 5, time.Minute, leader.mgr.Exited)
	n, _ := e.converged(ctx)
	// Kill returns once the process is gone: nothing it sends can arrive
	// at its proxy after that.
	leader.mgr.Kill()
	killed := time.Now()
	t.Logf("killed leader %s with %d/%d Services converged", leader.name, n, leaderSvcs)

	// The standby acquires the Lease once it expired.
	var newHolder string
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, leaseDuration+renewDeadline+10*time.Second, true, func(ctx context.Context) (bool, error) {
		newHolder = leaseHolder(ctx, t, e.cl)
		return newHolder != "" && newHolder != holder, nil
	})
	takeover := time.Since(killed)
	if err != nil {
		t.Fatalf("no new Lease holder %s after the kill (holder %q)", takeover, newHolder)
	}
	t.Logf("%s took over %s after the kill (lease duration %s)", standby.name, takeover.Round(time.Millisecond), leaseDuration)
	if takeover > leaseDuration+renewDeadline {
		t.Errorf("take-over took %s, more than the lease duration plus the renew deadline (%s)", takeover, leaseDuration+renewDeadline)
	}
	if err := e.createServices(ctx, leaderSvcs, leaderSvcs+10); err != nil {
		t.Fatal(err)
	}
	e.waitConverged(ctx, leaderSvcs+10, 2*time.Minute, standby.mgr.Exited)
	e.checkServed(ctx, leaderSvcs+10)
	checkOneWriter(t, leader, standby, killed)
}

// waitLeader waits until one replica has renewed the Lease, and returns it.
func waitLeader(ctx context.Context, t *testing.T, reps []*replica) *replica {
	t.Helper()
	var leader *replica
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		for _, r := range reps {
			if len(leaseWrites(r.proxy.Requests())) > 0 {
				leader = r
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no manager acquired the Lease within a minute: %v", err)
	}
	return leader
}

// leaseHolder returns the Lease's holderIdentity, or "".
func leaseHolder(ctx context.Context, t *testing.T, cl client.Client) string {
	lease := &coordinationv1.Lease{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: svclbNS, Name: leaseName}, lease); err != nil {
		return ""
	}
	if lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *lease.Spec.HolderIdentity
}

// leaseWrites returns the successful writes of the leader election Lease.
func leaseWrites(reqs []bench.Request) []bench.Request {
	var out []bench.Request
	for _, r := range reqs {
		if r.IsWrite() && r.Code < 300 && r.Resource == "coordination.k8s.io/leases" {
			out = append(out, r)
		}
	}
	return out
}

// checkOneWriter checks, from what each replica's proxy recorded, that the
// two never wrote in the same period: every write of the old leader (its
// Lease included) precedes the kill, and the new leader wrote nothing at
// all (not even its Lease) before the kill.
func checkOneWriter(t *testing.T, old, standby *replica, killed time.Time) {
	t.Helper()
	var lastOld time.Time
	for _, r := range old.proxy.Requests() {
		if r.IsWrite() && r.At.After(lastOld) {
			lastOld = r.At
		}
	}
	if lastOld.After(killed) {
		t.Errorf("the killed leader wrote at %s, after the kill at %s", lastOld, killed)
	}
	var early []string
	var first time.Time
	for _, r := range standby.proxy.Requests() {
		if !r.IsWrite() || r.Code >= 300 {
			continue
		}
		if first.IsZero() || r.At.Before(first) {
			first = r.At
		}
		if r.At.Before(killed) {
			early = append(early, fmt.Sprintf("%s %s %s/%s", r.Verb, r.Resource, r.Namespace, r.Name))
		}
	}
	if len(early) > 0 {
		slices.Sort(early)
		t.Errorf("the standby wrote %d times while the leader lived:\n%s", len(early), strings.Join(early, "\n"))
	}
	if first.IsZero() {
		t.Errorf("the new leader never wrote")
		return
	}
	t.Logf("last write of the old leader %s before the kill; first write of the new leader %s after it",
		killed.Sub(lastOld).Round(time.Millisecond), first.Sub(killed).Round(time.Millisecond))
}
