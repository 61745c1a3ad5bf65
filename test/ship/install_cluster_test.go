package ship

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers"
	"github.com/wharf-dev/wharf/internal/testenv"
	"github.com/wharf-dev/wharf/test/cluster"
)

// TestInstallOnCluster installs dist/install.yaml into a local cluster
// (real API server, controller manager and scheduler, kwok nodes) the way
// a user does, waits for the manager's pods to be Ready, then runs the
// manager in this process with exactly the install's permissions (a token
// of its ServiceAccount) through the seeds' scenario, and fails on any
// request the API server refuses.
func TestInstallOnCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	logs := &syncBuffer{}
	ctrl.SetLogger(zap.New(zap.WriteTo(logs), zap.UseDevMode(true)))
	c := cluster.StartForTest(ctx, t, cluster.Options{
		Nodes: []cluster.Node{
			{Name: "master01", InternalIP: "10.0.0.51"},
			{Name: "master02", InternalIP: "10.0.0.52"},
		},
	}, "kubectl")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("manager log (last lines):\n%s", logs.tail(60))
		}
	})
	kubectlBin := kubectl(t)
	admin := kubernetes.NewForConfigOrDie(c.Config())
	adminClient, err := client.New(c.Config(), client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	kc := "--kubeconfig=" + c.KubeconfigPath()

	t.Log("kubectl apply --server-side -f dist/install.yaml")
	run(t, nil, kubectlBin, kc, "apply", "--server-side", "-f", installPath)

	t.Run("manager pods become Ready", func(t *testing.T) {
		waitDeploymentReady(ctx, t, admin, systemNamespace, managerName, 2)
	})
	if t.Failed() {
		t.FailNow()
	}

	// The manager's identity: a token of its ServiceAccount, as the pod
	// gets it, and nothing of the admin's credentials.
	token, err := admin.CoreV1().ServiceAccounts(systemNamespace).CreateToken(ctx, serviceAccount,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("request a token for %s/%s: %v", systemNamespace, serviceAccount, err)
	}
	saConfig, denied := recordDenials(tokenConfig(c.Config(), token.Status.Token))

	metricsPort, err := cluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	probePort, err := cluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	_, stop := runManager(t, saConfig, managerOptions(fmt.Sprintf("127.0.0.1:%d", metricsPort), fmt.Sprintf("127.0.0.1:%d", probePort), systemNamespace), logs)

	t.Log("kubectl apply --server-side -f config/samples/clusternetworking.yaml, and a LoadBalancer Service")
	run(t, nil, kubectlBin, kc, "apply", "--server-side", "-f", samplePath)
	createLoadBalancer(ctx, t, admin)

	t.Run("leader election", func(t *testing.T) {
		poll(ctx, t, 90*time.Second, func() error {
			lease, err := admin.CoordinationV1().Leases(systemNamespace).Get(ctx, leaderElectionID, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if ptr.Deref(lease.Spec.HolderIdentity, "") == "" {
				return fmt.Errorf("lease %s has no holder", leaderElectionID)
			}
			return nil
		})
	})

	t.Run("every component reports", func(t *testing.T) {
		began := time.Now()
		poll(ctx, t, 3*time.Minute, func() error {
			// Refused watches are retried forever; do not wait for them.
			if list := denied.all(); len(list) > 0 && time.Since(began) > 20*time.Second {
				return stopPolling{fmt.Errorf("the API server refuses the manager's requests (listed below)")}
			}
			cn := &v1alpha1.ClusterNetworking{}
			if err := adminClient.Get(ctx, client.ObjectKey{Name: v1alpha1.SingletonName}, cn); err != nil {
				return err
			}
			if cn.Status.ObservedGeneration != cn.Generation {
				return fmt.Errorf("observedGeneration %d, generation %d", cn.Status.ObservedGeneration, cn.Generation)
			}
			for _, typ := range []string{v1alpha1.ConditionReady, v1alpha1.ConditionReconciling, v1alpha1.ConditionStalled,
				v1alpha1.ConditionCoreDNSReady, v1alpha1.ConditionTraefikReady, v1alpha1.ConditionServiceLBReady} {
				c := meta.FindStatusCondition(cn.Status.Conditions, typ)
				if c == nil {
					return fmt.Errorf("no %s condition yet", typ)
				}
				if c.ObservedGeneration != cn.Generation {
					return fmt.Errorf("%s describes generation %d, not %d", typ, c.ObservedGeneration, cn.Generation)
				}
			}
			return nil
		})
	})

	t.Run("health and readiness probes", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz"} {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", probePort, path))
			if err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s: %s", path, resp.Status)
			}
		}
	})

	t.Run("metrics for a reader of wharf-metrics-reader only", func(t *testing.T) {
		url := fmt.Sprintf("https://127.0.0.1:%d/metrics", metricsPort)
		reader := testenv.ServiceAccountToken(ctx, t, admin, "scraper", "wharf-metrics-reader")
		stranger := testenv.ServiceAccountToken(ctx, t, admin, "stranger", "")
		poll(ctx, t, 30*time.Second, func() error { return getMetrics(url, reader, http.StatusOK) })
		if err := getMetrics(url, stranger, http.StatusForbidden); err != nil {
			t.Error(err)
		}
	})

	// Let the reconcilers run on (watches, requeues, status writes, the
	// LoadBalancer's ingress) until wharf reports Ready, or a while, before
	// judging; the components' own tests judge their results.
	_ = wait.PollUntilContextTimeout(ctx, 2*time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
		cn := &v1alpha1.ClusterNetworking{}
		if err := adminClient.Get(ctx, client.ObjectKey{Name: v1alpha1.SingletonName}, cn); err != nil {
			return false, nil
		}
		return meta.IsStatusConditionTrue(cn.Status.Conditions, v1alpha1.ConditionReady), nil
	})
	logConditions(ctx, t, adminClient)

	// A second replica, as the Deployment runs: it waits while the first
	// holds the lease, and takes over when the first stops (and releases
	// the lease, as on a rollout).
	standby, stopStandby := runManager(t, saConfig, managerOptions("0", "0", systemNamespace), logs)
	holder := leaseHolder(ctx, t, admin)
	t.Run("a second replica waits for the lease", func(t *testing.T) {
		select {
		case <-standby.Elected():
			t.Fatal("the second replica was elected while the first holds the lease")
		case <-time.After(5 * time.Second):
		}
		if now := leaseHolder(ctx, t, admin); now != holder {
			t.Errorf("lease holder changed from %s to %s", holder, now)
		}
	})
	stop()
	t.Run("the second replica takes over", func(t *testing.T) {
		select {
		case <-standby.Elected():
		case <-time.After(30 * time.Second):
			t.Fatal("the second replica was not elected within 30s of the first stopping")
		}
		if now := leaseHolder(ctx, t, admin); now == holder {
			t.Errorf("lease still held by %s", holder)
		}
	})
	time.Sleep(5 * time.Second) // it reconciles what the first left
	// Deleting the resource (the Orphan policy) releases what wharf holds
	// in every namespace, tenants' Service finalizers included: under the
	// install's RBAC and admission policies too.
	t.Run("deleting the ClusterNetworking finishes", func(t *testing.T) {
		cn := &v1alpha1.ClusterNetworking{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.SingletonName}}
		if err := adminClient.Delete(ctx, cn); err != nil {
			t.Fatal(err)
		}
		poll(ctx, t, time.Minute, func() error {
			err := adminClient.Get(ctx, client.ObjectKeyFromObject(cn), cn)
			if err == nil {
				return fmt.Errorf("still there, finalizers %v", cn.Finalizers)
			}
			return client.IgnoreNotFound(err)
		})
		web, err := admin.CoreV1().Services(metav1.NamespaceDefault).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(web.Finalizers) != 0 {
			t.Errorf("the tenant's Service default/web keeps finalizers %v", web.Finalizers)
		}
	})
	stopStandby()
	if list := denied.all(); len(list) > 0 {
		t.Errorf("the API server refused requests of the manager running as %s/%s with the install's RBAC; "+
			"add +kubebuilder:rbac markers and run `make manifests build-installer`:\n%s",
			systemNamespace, serviceAccount, strings.Join(list, "\n"))
	}
}

// leaseHolder returns the holder of the leader election Lease.
func leaseHolder(ctx context.Context, t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	lease, err := cs.CoordinationV1().Leases(systemNamespace).Get(ctx, leaderElectionID, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get the leader election Lease: %v", err)
	}
	return ptr.Deref(lease.Spec.HolderIdentity, "")
}

// logConditions logs the ClusterNetworking's conditions.
func logConditions(ctx context.Context, t *testing.T, c client.Client) {
	t.Helper()
	cn := &v1alpha1.ClusterNetworking{}
	if err := c.Get(ctx, client.ObjectKey{Name: v1alpha1.SingletonName}, cn); err != nil {
		t.Logf("get the ClusterNetworking: %v", err)
		return
	}
	var lines []string
	for _, c := range cn.Status.Conditions {
		lines = append(lines, fmt.Sprintf("  %s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message))
	}
	t.Logf("ClusterNetworking conditions:\n%s", strings.Join(lines, "\n"))
}

// tokenConfig returns a config for the API server of admin that
// authenticates with token alone.
func tokenConfig(admin *rest.Config, token string) *rest.Config {
	return &rest.Config{
		Host:            admin.Host,
		TLSClientConfig: rest.TLSClientConfig{CAData: admin.CAData, CAFile: admin.CAFile, ServerName: admin.ServerName},
		BearerToken:     token,
		QPS:             50,
		Burst:           100,
	}
}

func waitDeploymentReady(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns, name string, replicas int32) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		return d.Status.ObservedGeneration == d.Generation && d.Status.ReadyReplicas == replicas && d.Status.UpdatedReplicas == replicas, nil
	})
	if err == nil {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=wharf,app.kubernetes.io/component=manager"})
		if err != nil {
			t.Fatal(err)
		}
		nodes := map[string]bool{}
		for _, p := range pods.Items {
			nodes[p.Spec.NodeName] = true
		}
		t.Logf("%d manager pods Ready on nodes %v", len(pods.Items), nodes)
		return
	}
	// Say why: PodSecurity refusals and scheduling failures are events of
	// the ReplicaSet and the pods.
	var why []string
	if d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
		why = append(why, fmt.Sprintf("deployment status: %+v", d.Status))
	}
	if events, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, e := range events.Items {
			why = append(why, fmt.Sprintf("%s %s/%s: %s", e.Reason, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Message))
		}
	}
	t.Fatalf("Deployment %s/%s did not get %d Ready replicas: %v\n%s", ns, name, replicas, err, strings.Join(why, "\n"))
}

// createLoadBalancer creates a Service of type LoadBalancer, which
// ServiceLB serves.
func createLoadBalancer(ctx context.Context, t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: metav1.NamespaceDefault},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 8080, TargetPort: intstr.FromInt32(80), Protocol: corev1.ProtocolTCP}},
		},
	}
	if _, err := cs.CoreV1().Services(svc.Namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create Service web: %v", err)
	}
}

// getMetrics GETs the metrics endpoint (its certificate is self-signed)
// with a bearer token and checks the status code.
func getMetrics(url, token string, want int) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != want {
		return fmt.Errorf("GET %s: %s, want %d: %s", url, resp.Status, want, body)
	}
	if want == http.StatusOK && !strings.Contains(string(body), "# HELP") {
		return fmt.Errorf("GET %s: no metrics in %q", url, body)
	}
	return nil
}

// poll calls check every second until it succeeds, or fails the test with
// its last error after timeout, or at once when check returns stopPolling.
func poll(ctx context.Context, t *testing.T, timeout time.Duration, check func() error) {
	t.Helper()
	var last error
	began := time.Now()
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(context.Context) (bool, error) {
		last = check()
		if stop, ok := last.(stopPolling); ok {
			return false, stop.error
		}
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("after %s: %v", time.Since(began).Round(time.Second), last)
	}
}

// stopPolling makes poll give up at once.
type stopPolling struct{ error }
