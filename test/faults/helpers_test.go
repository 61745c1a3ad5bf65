package faults

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers"
	"github.com/wharf-dev/wharf/test/bench"
	"github.com/wharf-dev/wharf/test/cluster"
)

// Names the fault tests rely on; they are part of wharf's contract
// (DESIGN.md), so the tests spell them out rather than import them.
const (
	svcNameLabel = "svccontroller.k3s.cattle.io/svcname"
	svcNSLabel   = "svccontroller.k3s.cattle.io/svcnamespace"
	finalizer    = "service.kubernetes.io/load-balancer-cleanup"
	svclbNS      = "kube-system"
	testNS       = "faults"
	leaseName    = "wharf.networking.wharf.dev"
	firstPort    = 20000
)

// managerBinary is the manager built by TestMain from the working tree.
var managerBinary string

// TestMain builds the manager binary once for every test, so that the
// tests run the code under test and not a stale bin/manager.
func TestMain(m *testing.M) {
	flag.Parse()
	// envtest (which installs the CRD) logs through controller-runtime.
	ctrllog.SetLogger(logr.Discard())
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "wharf-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		os.Exit(1)
	}
	managerBinary, err = buildManager(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// buildManager builds ./cmd into dir with `go build`.
func buildManager(dir string) (string, error) {
	root, err := cluster.RepoRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "manager")
	cmd := exec.Command("go", "build", "-o", out, "./cmd")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the manager (go build ./cmd, as `make build` does): %w\n%s", err, b)
	}
	return out, nil
}

// env is a running cluster with wharf's CRD, a ServiceLB-only
// ClusterNetworking and a namespace for the tests' Services.
type env struct {
	t       *testing.T
	cluster *cluster.Cluster
	cl      client.Client
	nodeIPs []string // sorted: the ingress every Service must end with
	dir     string
}

// startEnv starts a cluster with nodes kwok nodes, stopped when t ends.
func startEnv(ctx context.Context, t *testing.T, nodes int) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir()}
	var ns []cluster.Node
	for i := range nodes {
		ip := fmt.Sprintf("10.20.0.%d", i+1)
		ns = append(ns, cluster.Node{Name: fmt.Sprintf("node-%d", i), InternalIP: ip})
		e.nodeIPs = append(e.nodeIPs, ip)
	}
	slices.Sort(e.nodeIPs)
	e.cluster = cluster.StartForTest(ctx, t, cluster.Options{Dir: e.dir, Nodes: ns})
	if _, err := envtest.InstallCRDs(e.cluster.Config(), envtest.CRDInstallOptions{
		Paths:              []string{filepath.Join(mustRepoRoot(t), "config", "crd", "bases")},
		ErrorIfPathMissing: true,
	}); err != nil {
		t.Fatalf("install the CRD: %v", err)
	}
	cfg := e.cluster.Config()
	cfg.QPS, cfg.Burst = 200, 400
	var err error
	if e.cl, err = client.New(cfg, client.Options{Scheme: controllers.NewScheme()}); err != nil {
		t.Fatal(err)
	}
	if err := e.cl.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testNS}}); err != nil {
		t.Fatal(err)
	}
	cn := &v1alpha1.ClusterNetworking{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.SingletonName}}
	cn.Spec.CoreDNS.Enabled = ptr.To(false)
	cn.Spec.Traefik.Enabled = ptr.To(false)
	if err := e.cl.Create(ctx, cn); err != nil {
		t.Fatalf("create the ClusterNetworking: %v", err)
	}
	return e
}

func mustRepoRoot(t *testing.T) string {
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// startManager runs the manager binary with kubeconfig and extra flags,
// logging to name.log in the test's directory. It is killed when t ends.
func (e *env) startManager(name, kubeconfig string, args ...string) *bench.Manager {
	e.t.Helper()
	m, err := bench.StartManager(bench.ManagerOptions{
		Binary:     managerBinary,
		Kubeconfig: kubeconfig,
		LogPath:    filepath.Join(e.dir, name+".log"),
		Args:       args,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		if e.t.Failed() {
			e.t.Logf("last lines of %s:\n%s", m.LogPath, tailFile(m.LogPath, 30))
		}
		_ = m.Stop(10 * time.Second)
	})
	return m
}

// serviceName names Service i of a test.
func serviceName(i int) string { return fmt.Sprintf("svc-%03d", i) }

// createServices creates LoadBalancer Services from..to-1, each on a port
// of its own.
func (e *env) createServices(ctx context.Context, from, to int) error {
	errs := make(chan error, to-from)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := from; i < to; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			svc := &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Name: serviceName(i), Namespace: testNS},
				Spec: corev1.ServiceSpec{
					Type:                          corev1.ServiceTypeLoadBalancer,
					AllocateLoadBalancerNodePorts: ptr.To(false),
					Selector:                      map[string]string{"app": serviceName(i)},
					Ports:                         []corev1.ServicePort{{Name: "web", Protocol: corev1.ProtocolTCP, Port: int32(firstPort + i)}},
				},
			}
			if err := e.cl.Create(ctx, svc); err != nil && !apierrors.IsAlreadyExists(err) {
				errs <- fmt.Errorf("create service %s: %w", svc.Name, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// converged returns how many of the test's Services have every node IP
// as their ingress.
func (e *env) converged(ctx context.Context) (int, error) {
	list := &corev1.ServiceList{}
	if err := e.cl.List(ctx, list, client.InNamespace(testNS)); err != nil {
		return 0, err
	}
	n := 0
	for i := range list.Items {
		if slices.Equal(ingressIPs(&list.Items[i]), e.nodeIPs) {
			n++
		}
	}
	return n, nil
}

// waitConverged waits until want Services converged; alive, when set,
// fails the wait early if it returns an error (a manager that exited).
func (e *env) waitConverged(ctx context.Context, want int, timeout time.Duration, alive func() error) {
	e.t.Helper()
	var got int
	var last error
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if alive != nil {
			if err := alive(); err != nil {
				return false, err
			}
		}
		got, last = e.converged(ctx)
		return got >= want, nil
	})
	if err != nil {
		e.t.Fatalf("%d of %d Services have their ingress after %s (last error: %v): %v", got, want, timeout, last, err)
	}
}

// checkServed checks that each of the n Services has its finalizer, the
// ingress of every node and exactly one svclb DaemonSet, named as K3s
// names it, and that no other svclb DaemonSet exists.
func (e *env) checkServed(ctx context.Context, n int) {
	e.t.Helper()
	svcs := &corev1.ServiceList{}
	if err := e.cl.List(ctx, svcs, client.InNamespace(testNS)); err != nil {
		e.t.Fatal(err)
	}
	if len(svcs.Items) != n {
		e.t.Errorf("%d Services exist, want %d", len(svcs.Items), n)
	}
	dss := &appsv1.DaemonSetList{}
	if err := e.cl.List(ctx, dss, client.InNamespace(svclbNS), client.HasLabels{svcNameLabel}); err != nil {
		e.t.Fatal(err)
	}
	byService := map[string][]string{}
	for _, ds := range dss.Items {
		key := ds.Labels[svcNSLabel] + "/" + ds.Labels[svcNameLabel]
		byService[key] = append(byService[key], ds.Name)
	}
	var problems []string
	for i := range svcs.Items {
		svc := &svcs.Items[i]
		key := svc.Namespace + "/" + svc.Name
		if !slices.Contains(svc.Finalizers, finalizer) {
			problems = append(problems, key+": no finalizer "+finalizer)
		}
		if got := ingressIPs(svc); !slices.Equal(got, e.nodeIPs) {
			problems = append(problems, fmt.Sprintf("%s: ingress %v, want %v", key, got, e.nodeIPs))
		}
		want := daemonSetName(svc)
		if got := byService[key]; len(got) != 1 || got[0] != want {
			problems = append(problems, fmt.Sprintf("%s: DaemonSets %v, want exactly [%s]", key, got, want))
		}
		delete(byService, key)
	}
	for key, names := range byService {
		problems = append(problems, fmt.Sprintf("DaemonSets %v serve %s, which does not exist", names, key))
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		e.t.Errorf("%d problems:\n%s", len(problems), strings.Join(problems[:min(len(problems), 30)], "\n"))
	}
}

// deleteServices deletes the test's Services.
func (e *env) deleteServices(ctx context.Context) error {
	return e.cl.DeleteAllOf(ctx, &corev1.Service{}, client.InNamespace(testNS))
}

// waitReleased waits until every Service is gone (its finalizer released)
// and no svclb DaemonSet is left.
func (e *env) waitReleased(ctx context.Context, timeout time.Duration, alive func() error) {
	e.t.Helper()
	var svcs, dss int
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if alive != nil {
			if err := alive(); err != nil {
				return false, err
			}
		}
		sl := &corev1.ServiceList{}
		if err := e.cl.List(ctx, sl, client.InNamespace(testNS)); err != nil {
			return false, nil
		}
		dl := &appsv1.DaemonSetList{}
		if err := e.cl.List(ctx, dl, client.InNamespace(svclbNS), client.HasLabels{svcNameLabel}); err != nil {
			return false, nil
		}
		svcs, dss = len(sl.Items), len(dl.Items)
		return svcs == 0 && dss == 0, nil
	})
	if err != nil {
		e.t.Fatalf("after deleting the Services, %d Services and %d svclb DaemonSets are left after %s: %v", svcs, dss, timeout, err)
	}
}

// daemonSetName is the svclb DaemonSet name DESIGN.md fixes.
func daemonSetName(svc *corev1.Service) string {
	name := svc.Name
	if len(name) > 48 {
		name = strings.TrimRight(name[:48], "-")
	}
	return "svclb-" + name + "-" + string(svc.UID)[:8]
}

func ingressIPs(svc *corev1.Service) []string {
	var ips []string
	for _, in := range svc.Status.LoadBalancer.Ingress {
		ips = append(ips, in.IP)
	}
	slices.Sort(ips)
	return ips
}

// newRand returns a random source seeded from WHARF_FAULT_SEED or the
// clock, and logs the seed so that a failure can be replayed.
func newRand(t *testing.T) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("WHARF_FAULT_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("WHARF_FAULT_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("random seed %d (replay with WHARF_FAULT_SEED=%d)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// randDuration returns a duration in [lo, hi).
func randDuration(r *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(r.Int64N(int64(hi-lo)))
}

func tailFile(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
