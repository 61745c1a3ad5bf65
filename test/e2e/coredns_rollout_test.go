package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers"
	"github.com/wharf-dev/wharf/controllers/coredns"
	"github.com/wharf-dev/wharf/internal/testenv"
	"github.com/wharf-dev/wharf/test/cluster"
	"github.com/wharf-dev/wharf/test/dnslocal"
)

// dnsNode is the node the CoreDNS pods of TestCoreDNSBadCorefile run on.
// kwok does not run it: the test is its kubelet (see corednsKubelet), so
// that each CoreDNS pod is a real coredns process on the Corefile the pod
// would mount, and a pod whose coredns exits is reported as the kubelet
// reports it.
const dnsNode = "dns01"

// TestCoreDNSBadCorefile: a Corefile that passes wharf's checks but makes
// the real CoreDNS exit (a property of the log plugin CoreDNS refuses when
// it sets the plugin up) never
// takes the serving CoreDNS down. The new pod crashes, the old pod keeps
// answering, CoreDNSReady turns False quoting CoreDNS's own error, and
// removing the bad snippet brings Ready back.
func TestCoreDNSBadCorefile(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	c := startCluster(ctx, t)
	cl, err := client.New(c.Config(), client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	kubelet := startCoreDNSKubelet(ctx, t, c, cl)
	testenv.StartManager(t, c.Config())
	cn := &v1alpha1.ClusterNetworking{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.SingletonName}}
	cn.Spec.CoreDNS.ExtraHosts = []v1alpha1.HostEntry{{IP: "10.0.0.51", Hostnames: []v1alpha1.Hostname{"k3s.test.org"}}}
	cn.Spec.CoreDNS.NodePlacement.NodeSelector = map[string]string{corev1.LabelHostname: dnsNode}
	cn.Spec.Traefik.Enabled = ptr.To(false)
	cn.Spec.ServiceLB.Enabled = ptr.To(false)
	if err := cl.Create(ctx, cn); err != nil {
		t.Fatal(err)
	}

	var first string
	corednsStep(t, "CoreDNS runs and is Ready", func() {
		waitClusterNetworking(ctx, t, cl, 2*time.Minute, func(cn *v1alpha1.ClusterNetworking) error {
			return conditionIs(cn, v1alpha1.ConditionCoreDNSReady, metav1.ConditionTrue, v1alpha1.ReasonReady)
		})
		pods := kubelet.running()
		if len(pods) != 1 {
			t.Fatalf("running CoreDNS pods %v, want one", pods)
		}
		first = pods[0]
		pollCoreDNS(ctx, t, 10*time.Second, "the pod answers", func() error { return kubelet.expect(first, "k3s.test.org", "10.0.0.51") })
	})

	corednsStep(t, "a Corefile CoreDNS refuses leaves the old pod serving and says why", func() {
		editCoreDNS(ctx, t, cl, func(s *v1alpha1.CoreDNSSpec) { s.Snippets.ServerBlock = "log {\n  frobnicate\n}" })
		cn := waitClusterNetworking(ctx, t, cl, 2*time.Minute, func(cn *v1alpha1.ClusterNetworking) error {
			return conditionIs(cn, v1alpha1.ConditionCoreDNSReady, metav1.ConditionFalse, coredns.ReasonRolloutFailed)
		})
		msg := meta.FindStatusCondition(cn.Status.Conditions, v1alpha1.ConditionCoreDNSReady).Message
		t.Logf("CoreDNSReady: %s", msg)
		if !strings.Contains(msg, "unknown property 'frobnicate'") {
			t.Errorf("the condition does not quote CoreDNS's error: %s", msg)
		}
		if err := conditionIs(cn, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonProgressing); err != nil {
			t.Error(err)
		}
		if crashed := kubelet.crashed(); len(crashed) == 0 {
			t.Errorf("no CoreDNS pod crashed")
		}
		time.Sleep(3 * time.Second) // give a wrong scale-down the time to happen
		if running := kubelet.running(); len(running) != 1 || running[0] != first {
			t.Fatalf("running CoreDNS pods %v, want the first one, %s", running, first)
		}
		pollCoreDNS(ctx, t, 5*time.Second, "the old pod answers", func() error { return kubelet.expect(first, "k3s.test.org", "10.0.0.51") })
	})

	corednsStep(t, "removing the snippet brings Ready back", func() {
		editCoreDNS(ctx, t, cl, func(s *v1alpha1.CoreDNSSpec) { s.Snippets.ServerBlock = "" })
		waitClusterNetworking(ctx, t, cl, 2*time.Minute, func(cn *v1alpha1.ClusterNetworking) error {
			return conditionIs(cn, v1alpha1.ConditionCoreDNSReady, metav1.ConditionTrue, v1alpha1.ReasonReady)
		})
		pollCoreDNS(ctx, t, 30*time.Second, "the crashed pod is gone", func() error {
			if crashed := kubelet.crashed(); len(crashed) > 0 {
				return fmt.Errorf("crashed pods %v", crashed)
			}
			return nil
		})
		pollCoreDNS(ctx, t, 5*time.Second, "the old pod answers", func() error { return kubelet.expect(first, "k3s.test.org", "10.0.0.51") })
	})
}

// corednsKubelet is the kubelet of dnsNode: it keeps the node Ready, runs
// each pod bound to it as a real coredns process on the coredns
// ConfigMap's Corefile (as mounted when the pod starts) and reports the pod
// Running and Ready, or, when coredns exits, CrashLoopBackOff with the end
// of its log as termination message (terminationMessagePolicy
// FallbackToLogsOnError). Pods being deleted are stopped and removed.
type corednsKubelet struct {
	t       *testing.T
	c       *cluster.Cluster
	cl      client.Client
	mu      sync.Mutex
	pods    map[string]*kubeletPod // by pod name
	nextIP  int
	baseDir string
}

type kubeletPod struct {
	uid    string
	ip     string // the pod IP reported in its status
	addr   string // DNS address when running
	server *cluster.CoreDNS
	failed bool
}

func startCoreDNSKubelet(ctx context.Context, t *testing.T, c *cluster.Cluster, cl client.Client) *corednsKubelet {
	t.Helper()
	k := &corednsKubelet{t: t, c: c, cl: cl, pods: map[string]*kubeletPod{}, nextIP: 10, baseDir: t.TempDir()}
	if err := k.registerNode(ctx); err != nil {
		t.Fatal(err)
	}
	loopCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { k.loop(loopCtx) })
	t.Cleanup(func() {
		stop()
		wg.Wait()
		k.mu.Lock()
		defer k.mu.Unlock()
		for name, p := range k.pods {
			if p.server != nil {
				if t.Failed() {
					t.Logf("coredns of pod %s:\n%s", name, p.server.Log(20))
				}
				_ = p.server.Stop()
			}
		}
	})
	return k
}

func (k *corednsKubelet) registerNode(ctx context.Context) error {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: dnsNode, Labels: map[string]string{
		corev1.LabelHostname: dnsNode, corev1.LabelOSStable: "linux", corev1.LabelArchStable: "amd64",
	}}}
	if err := k.cl.Create(ctx, node); err != nil {
		return fmt.Errorf("create node %s: %w", dnsNode, err)
	}
	if err := k.heartbeat(ctx); err != nil {
		return err
	}
	var last error
	for range 240 {
		n := &corev1.Node{}
		if last = k.cl.Get(ctx, client.ObjectKey{Name: dnsNode}, n); last == nil {
			last = nil
			for _, taint := range n.Spec.Taints {
				if taint.Key == corev1.TaintNodeNotReady || taint.Key == corev1.TaintNodeUnreachable {
					last = fmt.Errorf("taint %s", taint.Key)
				}
			}
			if last == nil {
				return nil
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("node %s not usable: %w", dnsNode, last)
}

// heartbeat reports the node Ready, with its address and room for pods,
// retrying while the node controller updates the same Node.
func (k *corednsKubelet) heartbeat(ctx context.Context) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error { return k.beat(ctx) })
}

func (k *corednsKubelet) beat(ctx context.Context) error {
	n := &corev1.Node{}
	if err := k.cl.Get(ctx, client.ObjectKey{Name: dnsNode}, n); err != nil {
		return err
	}
	now := metav1.Now()
	room := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8"), corev1.ResourceMemory: resource.MustParse("16Gi"), corev1.ResourcePods: resource.MustParse("110")}
	n.Status.Capacity, n.Status.Allocatable = room, room
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.60"}, {Type: corev1.NodeHostName, Address: dnsNode}}
	n.Status.Phase = corev1.NodeRunning
	ready := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: now, LastTransitionTime: now}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
			ready.LastTransitionTime = c.LastTransitionTime
		}
	}
	n.Status.Conditions = []corev1.NodeCondition{ready}
	return k.cl.Status().Update(ctx, n)
}

func (k *corednsKubelet) loop(ctx context.Context) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	lastBeat := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if time.Since(lastBeat) > 5*time.Second {
			if err := k.heartbeat(ctx); err == nil {
				lastBeat = time.Now()
			}
		}
		pods := &corev1.PodList{}
		if err := k.cl.List(ctx, pods, client.InNamespace(corednsNamespace), client.MatchingLabels{coredns.AppLabel: coredns.AppLabelValue}); err != nil {
			continue
		}
		for i := range pods.Items {
			p := &pods.Items[i]
			if p.Spec.NodeName != dnsNode {
				continue
			}
			if err := k.sync(ctx, p); err != nil && ctx.Err() == nil {
				k.t.Logf("kubelet: pod %s: %v", p.Name, err)
			}
		}
	}
}

// sync starts a new pod or removes a deleted one.
func (k *corednsKubelet) sync(ctx context.Context, pod *corev1.Pod) error {
	k.mu.Lock()
	kp := k.pods[pod.Name]
	k.mu.Unlock()
	if pod.DeletionTimestamp != nil {
		if kp != nil && kp.server != nil {
			_ = kp.server.Stop()
		}
		k.mu.Lock()
		delete(k.pods, pod.Name)
		k.mu.Unlock()
		err := k.cl.Delete(ctx, pod, client.GracePeriodSeconds(0))
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	if kp != nil {
		return nil
	}
	ip := k.allocateIP()
	kp = &kubeletPod{uid: string(pod.UID), ip: ip}
	logTail, err := k.run(ctx, pod.Name, kp)
	k.mu.Lock()
	k.pods[pod.Name] = kp
	k.mu.Unlock()
	now := metav1.Now()
	pod.Status.Phase = corev1.PodRunning
	pod.Status.HostIP, pod.Status.HostIPs = "10.0.0.60", []corev1.HostIP{{IP: "10.0.0.60"}}
	pod.Status.PodIP, pod.Status.PodIPs = ip, []corev1.PodIP{{IP: ip}}
	pod.Status.StartTime = &now
	ready := corev1.ConditionTrue
	cs := corev1.ContainerStatus{Name: "coredns", Image: pod.Spec.Containers[0].Image, Ready: true, Started: ptr.To(true),
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}
	if err != nil {
		kp.failed = true
		ready = corev1.ConditionFalse
		cs = corev1.ContainerStatus{Name: "coredns", Image: pod.Spec.Containers[0].Image, RestartCount: 1, Started: ptr.To(false),
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
				Message: "back-off 10s restarting failed container=coredns pod=" + pod.Name}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 1, Reason: "Error", Message: logTail, StartedAt: now, FinishedAt: now}},
		}
	}
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{cs}
	pod.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.ContainersReady, Status: ready, LastTransitionTime: now},
		{Type: corev1.PodReady, Status: ready, LastTransitionTime: now},
	}
	return k.cl.Status().Update(ctx, pod)
}

// run starts coredns for a pod on the Corefile and NodeHosts the pod
// mounts now. On failure it returns the end of coredns's log, as the
// kubelet's FallbackToLogsOnError takes it.
func (k *corednsKubelet) run(ctx context.Context, name string, kp *kubeletPod) (string, error) {
	cm := &corev1.ConfigMap{}
	if err := k.cl.Get(ctx, client.ObjectKey{Namespace: corednsNamespace, Name: coredns.ConfigMapName}, cm); err != nil {
		return "", err
	}
	dir := filepath.Join(k.baseDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, coredns.NodeHostsKey), []byte(cm.Data[coredns.NodeHostsKey]), 0o644); err != nil {
		return "", err
	}
	ports, err := dnslocal.FreePorts()
	if err != nil {
		return "", err
	}
	corefile, err := dnslocal.Corefile(cm.Data[coredns.CorefileKey], dir, k.c.KubeconfigPath(), ports)
	if err != nil {
		return "", err
	}
	server, err := cluster.StartCoreDNS(ctx, k.c.BinDir(), dir, corefile)
	if err != nil {
		data, _ := os.ReadFile(filepath.Join(dir, "coredns.log"))
		tail := string(data)
		if len(tail) > 2048 {
			tail = tail[len(tail)-2048:]
		}
		if tail == "" {
			tail = err.Error()
		}
		return tail, errors.New("coredns exited")
	}
	kp.server, kp.addr = server, fmt.Sprintf("127.0.0.1:%d", ports.DNS)
	return "", nil
}

func (k *corednsKubelet) allocateIP() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.nextIP++
	return fmt.Sprintf("10.42.250.%d", k.nextIP)
}

// running returns the names of the pods whose coredns runs.
func (k *corednsKubelet) running() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []string
	for name, p := range k.pods {
		if p.server != nil {
			out = append(out, name)
		}
	}
	return out
}

// crashed returns the names of the pods whose coredns exited.
func (k *corednsKubelet) crashed() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []string
	for name, p := range k.pods {
		if p.failed {
			out = append(out, name)
		}
	}
	return out
}

// serverAt returns the DNS address of the running coredns of the pod with
// IP ip, or "" when no such pod runs: what a packet to ip:53 would reach.
func (k *corednsKubelet) serverAt(ip string) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, p := range k.pods {
		if p.ip == ip && p.server != nil {
			return p.addr
		}
	}
	return ""
}

// expect asks pod's coredns for name's A records.
func (k *corednsKubelet) expect(pod, name string, want string) error {
	k.mu.Lock()
	p := k.pods[pod]
	k.mu.Unlock()
	if p == nil || p.server == nil {
		return fmt.Errorf("pod %s has no running coredns", pod)
	}
	l := &localCoreDNS{addr: p.addr}
	return l.expect(name, want)
}
