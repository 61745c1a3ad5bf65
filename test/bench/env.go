package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers"
	"github.com/wharf-dev/wharf/test/cluster"
)

// Labels and namespaces of the scenario. The pool label is ServiceLB's
// lbpool label: a Service with it is served by the nodes of that pool only.
const (
	LBPoolLabel    = "svccontroller.k3s.cattle.io/lbpool"
	SvcNameLabel   = "svccontroller.k3s.cattle.io/svcname"
	SvcNSLabel     = "svccontroller.k3s.cattle.io/svcnamespace"
	EnableLBLabel  = "svccontroller.k3s.cattle.io/enablelb"
	ServiceNS      = "bench"
	NoiseNS        = "bench-noise"
	SvclbNS        = "kube-system"
	firstPort      = 10000
	setupQPS       = 400
	setupBurst     = 800
	setupWorkers   = 16
	settleInterval = 2 * time.Second
)

// Scale is the size of a scenario.
type Scale struct {
	// Services is N, the LoadBalancer Services created.
	Services int `json:"services"`
	// Nodes is M, the kwok nodes.
	Nodes int `json:"nodes"`
	// Pods is the number of unrelated pods bound to the nodes.
	Pods int `json:"unrelatedPods"`
	// PoolSize is how many nodes serve each Service: nodes are grouped in
	// lbpools of this size and Service i is put in pool i mod pools. With
	// PoolSize == Nodes (POOL=all) every node serves every Service, K3s's
	// default: no node or Service carries a ServiceLB label.
	PoolSize int `json:"nodesPerService"`
}

// EveryNode reports whether every node serves every Service (POOL=all).
func (s Scale) EveryNode() bool { return s.PoolSize >= s.Nodes }

// SvclbPods is how many svclb pods the scenario runs: N × PoolSize.
func (s Scale) SvclbPods() int { return s.Services * min(s.PoolSize, s.Nodes) }

// Pools returns how many lbpools the nodes form.
func (s Scale) Pools() int { return (s.Nodes + s.PoolSize - 1) / s.PoolSize }

// NodeInfo is one fake node of the scenario.
type NodeInfo struct {
	Name, IP, Pool string
}

// Env is a running cluster prepared for a scenario: nodes, unrelated pods,
// the ClusterNetworking CRD and the Service namespace.
type Env struct {
	Scale   Scale
	Cluster *cluster.Cluster
	// Config is an admin configuration for setup and observation, not
	// rate limited for the measured clients' sake.
	Config *rest.Config
	Client kubernetes.Interface
	// CR is an admin controller-runtime client that knows wharf's types.
	CR    client.Client
	Nodes []NodeInfo
	logf  func(string, ...any)
}

// StartEnv starts a cluster and prepares it for scale: M nodes in pools,
// the unrelated pods Running, the CRD installed and the namespaces made.
func StartEnv(ctx context.Context, scale Scale, dir string, logf func(string, ...any)) (*Env, error) {
	began := time.Now()
	c, err := cluster.Start(ctx, cluster.Options{Dir: dir, Timeout: 3 * time.Minute})
	if err != nil {
		return nil, err
	}
	env := &Env{Scale: scale, Cluster: c, logf: logf}
	ok := false
	defer func() {
		if !ok {
			_ = c.Stop()
		}
	}()
	env.Config = c.Config()
	env.Config.QPS, env.Config.Burst = setupQPS, setupBurst
	if env.Client, err = kubernetes.NewForConfig(env.Config); err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	if env.CR, err = client.New(env.Config, client.Options{Scheme: controllers.NewScheme()}); err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	logf("control plane up in %s", time.Since(began).Round(time.Second))
	if err := env.addNodes(ctx); err != nil {
		return nil, err
	}
	logf("%d nodes ready after %s", scale.Nodes, time.Since(began).Round(time.Second))
	for _, ns := range []string{ServiceNS, NoiseNS} {
		if err := env.createNamespace(ctx, ns); err != nil {
			return nil, err
		}
	}
	if err := env.createNoisePods(ctx); err != nil {
		return nil, err
	}
	logf("%d unrelated pods Running after %s", scale.Pods, time.Since(began).Round(time.Second))
	root, err := cluster.RepoRoot()
	if err != nil {
		return nil, err
	}
	if _, err := envtest.InstallCRDs(c.Config(), envtest.CRDInstallOptions{
		Paths:              []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfPathMissing: true,
	}); err != nil {
		return nil, fmt.Errorf("install the CRD: %w", err)
	}
	ok = true
	return env, nil
}

// Stop stops the cluster.
func (e *Env) Stop() error { return e.Cluster.Stop() }

// addNodes adds the M nodes, a few at a time.
func (e *Env) addNodes(ctx context.Context) error {
	for i := 0; i < e.Scale.Nodes; i++ {
		e.Nodes = append(e.Nodes, NodeInfo{
			Name: fmt.Sprintf("node-%03d", i),
			IP:   fmt.Sprintf("10.10.%d.%d", i/200, i%200+1),
			Pool: fmt.Sprintf("pool-%03d", i/e.Scale.PoolSize),
		})
	}
	return parallel(ctx, len(e.Nodes), 10, func(ctx context.Context, i int) error {
		n := e.Nodes[i]
		return e.Cluster.AddNode(ctx, cluster.Node{Name: n.Name, InternalIP: n.IP, Labels: e.nodeLabels(n)})
	})
}

// nodeLabels are the ServiceLB labels of node n. With pools, every node
// carries enablelb=true and its pool: under K3s's enablelb rule, a Service
// with the lbpool label is served by the nodes of that pool only (k3s-io/k3s
// pkg/cloudprovider/servicelb.go). Every node serving carries none.
func (e *Env) nodeLabels(n NodeInfo) map[string]string {
	if e.Scale.EveryNode() {
		return nil
	}
	return map[string]string{EnableLBLabel: "true", LBPoolLabel: n.Pool}
}

func (e *Env) createNamespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := e.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	// Pods are refused until the namespace has its default ServiceAccount.
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := e.Client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
}

// createNoisePods creates the unrelated pods, bound to the nodes round
// robin (no scheduler involved), and waits until kwok runs them all.
func (e *Env) createNoisePods(ctx context.Context) error {
	if e.Scale.Pods == 0 {
		return nil
	}
	err := parallel(ctx, e.Scale.Pods, setupWorkers, func(ctx context.Context, i int) error {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("noise-%05d", i), Labels: map[string]string{"app": "noise"}},
			Spec: corev1.PodSpec{
				NodeName:                     e.Nodes[i%len(e.Nodes)].Name,
				AutomountServiceAccountToken: ptr.To(false),
				Containers:                   []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}},
			},
		}
		_, err := e.Client.CoreV1().Pods(NoiseNS).Create(ctx, pod, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create the unrelated pods: %w", err)
	}
	return wait.PollUntilContextTimeout(ctx, settleInterval, 10*time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := e.Client.CoreV1().Pods(NoiseNS).List(ctx, metav1.ListOptions{FieldSelector: "status.phase!=Running", Limit: 1})
		if err != nil {
			return false, nil
		}
		return len(list.Items) == 0, nil
	})
}

// kubeletPort is the kubelet's port, one of ServiceLB's default
// spec.serviceLB.reservedPorts: a Service asking for it is refused.
const kubeletPort = 10250

// ServicePort is the port of Service i: its own, from firstPort up,
// skipping the kubelet's port.
func ServicePort(i int) int32 {
	p := firstPort + i
	if p >= kubeletPort {
		p++
	}
	return int32(p)
}

// ServiceName names Service i of the scenario.
func ServiceName(i int) string { return fmt.Sprintf("lb-%05d", i) }

// PoolOf returns the lbpool of Service i.
func (e *Env) PoolOf(i int) string { return fmt.Sprintf("pool-%03d", i%e.Scale.Pools()) }

// ExpectedIPs returns, per Service name, the sorted IPs of the nodes of
// its pool: the ingress it must end with.
func (e *Env) ExpectedIPs() map[string][]string {
	byPool := map[string][]string{}
	for _, n := range e.Nodes {
		byPool[n.Pool] = append(byPool[n.Pool], n.IP)
	}
	for _, ips := range byPool {
		sortIPs(ips)
	}
	out := make(map[string][]string, e.Scale.Services)
	for i := 0; i < e.Scale.Services; i++ {
		out[ServiceName(i)] = byPool[e.PoolOf(i)]
	}
	return out
}

// NewService returns LoadBalancer Service i: one TCP port of its own (so
// that no two svclb pods compete for a host port) and its pool label unless
// every node serves; no
// NodePorts are allocated (ServiceLB does not need them with the Cluster
// traffic policy, and they would cap N at 2,768).
func (e *Env) NewService(i int) *corev1.Service {
	var labels map[string]string
	if !e.Scale.EveryNode() {
		labels = map[string]string{LBPoolLabel: e.PoolOf(i)}
	}
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: ServiceName(i), Namespace: ServiceNS, Labels: labels},
		Spec: corev1.ServiceSpec{
			Type:                          corev1.ServiceTypeLoadBalancer,
			AllocateLoadBalancerNodePorts: ptr.To(false),
			Selector:                      map[string]string{"app": ServiceName(i)},
			Ports:                         []corev1.ServicePort{{Name: "web", Protocol: corev1.ProtocolTCP, Port: ServicePort(i)}},
		},
	}
}

// CreateServices creates the N Services with a few parallel workers and
// returns when the last create returned.
func (e *Env) CreateServices(ctx context.Context) error {
	return parallel(ctx, e.Scale.Services, setupWorkers, func(ctx context.Context, i int) error {
		_, err := e.Client.CoreV1().Services(ServiceNS).Create(ctx, e.NewService(i), metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create service %s: %w", ServiceName(i), err)
		}
		return nil
	})
}

// ApplyClusterNetworking creates the ClusterNetworking with only ServiceLB
// enabled: CoreDNS and Traefik are off, to measure ServiceLB alone.
func (e *Env) ApplyClusterNetworking(ctx context.Context) error {
	cn := &v1alpha1.ClusterNetworking{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.SingletonName}}
	cn.Spec.CoreDNS.Enabled = ptr.To(false)
	cn.Spec.Traefik.Enabled = ptr.To(false)
	cn.Spec.ServiceLB.Enabled = ptr.To(true)
	if err := e.CR.Create(ctx, cn); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create the ClusterNetworking: %w", err)
	}
	return nil
}

// WaitClusterNetworkingReady waits until the ClusterNetworking is Ready.
func (e *Env) WaitClusterNetworkingReady(ctx context.Context, timeout time.Duration) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		cn := &v1alpha1.ClusterNetworking{}
		if err := e.CR.Get(ctx, client.ObjectKey{Name: v1alpha1.SingletonName}, cn); err != nil {
			last = err.Error()
			return false, nil
		}
		for _, c := range cn.Status.Conditions {
			if c.Type == v1alpha1.ConditionReady {
				last = string(c.Status) + " " + c.Reason + ": " + c.Message
				return c.Status == metav1.ConditionTrue && c.ObservedGeneration == cn.Generation, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("wait for ClusterNetworking %s Ready (last: %s): %w", v1alpha1.SingletonName, last, err)
	}
	return nil
}

// parallel runs fn(i) for i in [0, n) on workers goroutines and returns the
// first error.
func parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for w := 0; w < min(workers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}
