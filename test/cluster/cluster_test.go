package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

var testNodes = []Node{
	{Name: "master01", InternalIP: "10.0.0.51"},
	{Name: "master02", InternalIP: "10.0.0.52"},
}

func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a local cluster; skipped with -short")
	}
	binDir, err := DefaultBinDir()
	if err == nil {
		err = CheckBinDir(binDir, append(slices.Clone(Binaries), "coredns")...)
	}
	if err != nil {
		t.Fatalf("the test cluster binaries are missing (run `make envtest` or `bash hack/tools.sh`): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	began := time.Now()
	c, err := Start(ctx, Options{BinDir: binDir, Dir: t.TempDir(), Nodes: testNodes, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("process logs:\n%s", c.LogTail(40))
		}
		if !stopped {
			_ = c.Stop()
		}
	})
	t.Logf("started in %s", time.Since(began).Round(time.Millisecond))
	if !strings.HasPrefix(c.ServerVersion(), "v1.37.") {
		t.Errorf("server version = %q, want v1.37.x (hack/tools.sh sets it with -ldflags)", c.ServerVersion())
	}
	client := kubernetes.NewForConfigOrDie(c.Config())

	step(t, "DaemonSet with hostPort 8888 runs on both nodes", func() {
		createHostPortDaemonSet(ctx, t, client, "hostport-a")
		nodeIPs := map[string]string{}
		for _, n := range testNodes {
			nodeIPs[n.Name] = n.InternalIP
		}
		pollPods(ctx, t, client, "app=hostport-a", func(pods []corev1.Pod) error {
			if len(pods) != len(testNodes) {
				return fmt.Errorf("%d pods, want %d", len(pods), len(testNodes))
			}
			seen := map[string]bool{}
			for _, p := range pods {
				if !podReady(&p) {
					return fmt.Errorf("pod %s not ready (phase %s)", p.Name, p.Status.Phase)
				}
				if want := nodeIPs[p.Spec.NodeName]; p.Status.HostIP != want {
					return fmt.Errorf("pod %s on %q has hostIP %q, want %q", p.Name, p.Spec.NodeName, p.Status.HostIP, want)
				}
				seen[p.Spec.NodeName] = true
			}
			if len(seen) != len(testNodes) {
				return fmt.Errorf("pods on %v, want one per node", seen)
			}
			return nil
		})
	})

	step(t, "second DaemonSet with the same hostPort stays Pending", func() {
		createHostPortDaemonSet(ctx, t, client, "hostport-b")
		check := func(pods []corev1.Pod) error {
			if len(pods) != len(testNodes) {
				return fmt.Errorf("%d pods, want %d", len(pods), len(testNodes))
			}
			for _, p := range pods {
				if p.Spec.NodeName != "" || p.Status.Phase != corev1.PodPending {
					return fmt.Errorf("pod %s was scheduled to %q (phase %s)", p.Name, p.Spec.NodeName, p.Status.Phase)
				}
				cond := podCondition(&p, corev1.PodScheduled)
				if cond == nil || cond.Status != corev1.ConditionFalse || cond.Reason != corev1.PodReasonUnschedulable {
					return fmt.Errorf("pod %s not marked unschedulable yet: %+v", p.Name, cond)
				}
				if !strings.Contains(cond.Message, "free ports") {
					return fmt.Errorf("pod %s unschedulable for another reason: %s", p.Name, cond.Message)
				}
			}
			return nil
		}
		pods := pollPods(ctx, t, client, "app=hostport-b", check)
		t.Logf("scheduler says: %s", podCondition(&pods[0], corev1.PodScheduled).Message)
		time.Sleep(3 * time.Second)
		if err := check(listPods(ctx, t, client, "app=hostport-b")); err != nil {
			t.Fatalf("later: %v", err)
		}
	})

	step(t, "API server restarts and clients reconnect", func() {
		began := time.Now()
		if err := c.RestartAPIServer(ctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("kube-apiserver restarted in %s", time.Since(began).Round(time.Millisecond))
		nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatalf("list nodes after restart: %v", err)
		}
		if len(nodes.Items) != len(testNodes) {
			t.Fatalf("%d nodes after restart, want %d", len(nodes.Items), len(testNodes))
		}
		// The controllers, the scheduler and kwok reconnected too.
		replicas := int32(3)
		labels := map[string]string{"app": "web"}
		_, err = client.AppsV1().Deployments("default").Create(ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "web"},
			Spec: appsv1.DeploymentSpec{
				Replicas: &replicas,
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}},
				},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pollPods(ctx, t, client, "app=web", func(pods []corev1.Pod) error {
			ready := 0
			for _, p := range pods {
				if podReady(&p) && strings.HasPrefix(p.Status.PodIP, "10.42.") {
					ready++
				}
			}
			if ready != int(replicas) {
				return fmt.Errorf("%d of %d pods ready with a pod IP", ready, replicas)
			}
			return nil
		})
	})

	step(t, "coredns serves a Corefile", func() {
		port, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		corefile := fmt.Sprintf(`.:%d {
    bind 127.0.0.1
    hosts {
        10.0.0.51 k3s.test.org
        fallthrough
    }
    kubernetes %s {
        kubeconfig %s
    }
}
`, port, ClusterDomain, c.KubeconfigPath())
		dns, err := StartCoreDNS(ctx, c.BinDir(), filepath.Join(c.Dir(), "coredns"), corefile)
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := dns.Stop(); err != nil {
				t.Error(err)
			}
		}()
		resolver := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", port))
		}}
		for name, want := range map[string]string{
			"k3s.test.org":                         "10.0.0.51",
			"kubernetes.default.svc.cluster.local": KubernetesServiceIP,
		} {
			addrs, err := resolver.LookupHost(ctx, name)
			if err != nil || !slices.Contains(addrs, want) {
				t.Errorf("lookup %s = %v, %v; want %s\n%s", name, addrs, err, want, dns.Log(20))
			}
		}
	})

	step(t, "stop leaves no process behind", func() {
		var pids []int
		for _, p := range c.processes() {
			pids = append(pids, p.pid())
		}
		stopped = true
		if err := c.Stop(); err != nil {
			t.Fatal(err)
		}
		for _, pid := range pids {
			if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("process %d still exists after Stop (kill -0: %v)", pid, err)
			}
		}
	})
	t.Logf("total %s", time.Since(began).Round(time.Millisecond))
}

// step runs one named part of the test, logging its duration, and stops the
// test on failure.
func step(t *testing.T, name string, fn func()) {
	t.Helper()
	began := time.Now()
	fn()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("ok: %s (%s)", name, time.Since(began).Round(time.Millisecond))
}

func createHostPortDaemonSet(ctx context.Context, t *testing.T, client kubernetes.Interface, name string) {
	t.Helper()
	labels := map[string]string{"app": name}
	_, err := client.AppsV1().DaemonSets("default").Create(ctx, &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name:  "lb",
					Image: "rancher/klipper-lb:v0.4.13",
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8888, HostPort: 8888, Protocol: corev1.ProtocolTCP}},
				}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create daemonset %s: %v", name, err)
	}
}

func listPods(ctx context.Context, t *testing.T, client kubernetes.Interface, selector string) []corev1.Pod {
	t.Helper()
	pods, err := client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatalf("list pods %s: %v", selector, err)
	}
	return pods.Items
}

// pollPods waits up to a minute for the pods matching selector to pass check.
func pollPods(ctx context.Context, t *testing.T, client kubernetes.Interface, selector string, check func([]corev1.Pod) error) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	var last error
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			last = err
			return false, nil
		}
		pods = list.Items
		last = check(pods)
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("pods %s: %v (last: %v)", selector, err, last)
	}
	return pods
}

func podReady(p *corev1.Pod) bool {
	c := podCondition(p, corev1.PodReady)
	return p.Status.Phase == corev1.PodRunning && c != nil && c.Status == corev1.ConditionTrue
}

func podCondition(p *corev1.Pod, typ corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == typ {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}
