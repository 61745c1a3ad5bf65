package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"

	"github.com/wharf-dev/wharf/api/v1alpha1"
)

// floorFieldManager is the field manager of the floor client.
const floorFieldManager = "wharf-floor"

// Floor is the least a ServiceLB can do for the scenario's Services: for
// each one, apply a svclb-like DaemonSet once and, when its pods are all
// Ready, patch the Service's status with the node IPs. Nothing else is
// written: no finalizer, no Events, no status of its own. It reacts to
// watches like a controller, with the same number of workers and the same
// client rate limits as the manager, so the manager's convergence time can
// be given as a ratio to it.
//
// With k3sWrites it also makes the writes K3s's ServiceLB makes and wharf
// must make too: the load-balancer-cleanup finalizer on the Service before
// its DaemonSet, and the AppliedDaemonSet and UpdatedLoadBalancer Events.
// That floor shows how much of wharf's time is those writes.
type Floor struct {
	cs        kubernetes.Interface
	workers   int
	k3sWrites bool
	queue     workqueue.TypedRateLimitingInterface[string]

	svcs  cache.SharedIndexInformer
	pods  cache.SharedIndexInformer
	nodes cache.SharedIndexInformer

	mu      sync.Mutex
	applied map[string]bool
}

// NewFloor returns a floor client that talks through cfg; k3sWrites adds
// the finalizer and the Events.
func NewFloor(cfg *rest.Config, workers int, k3sWrites bool) (*Floor, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("floor client: %w", err)
	}
	return &Floor{
		cs:        cs,
		workers:   workers,
		k3sWrites: k3sWrites,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "floor"}),
		applied: map[string]bool{},
	}, nil
}

// Start starts the watches and the workers; they stop when ctx ends.
func (f *Floor) Start(ctx context.Context) error {
	svcs := informers.NewSharedInformerFactoryWithOptions(f.cs, 0, informers.WithNamespace(ServiceNS))
	pods := informers.NewSharedInformerFactoryWithOptions(f.cs, 0, informers.WithNamespace(SvclbNS),
		informers.WithTweakListOptions(func(lo *metav1.ListOptions) { lo.LabelSelector = SvcNameLabel }))
	nodes := informers.NewSharedInformerFactory(f.cs, 0)
	f.svcs = svcs.Core().V1().Services().Informer()
	f.pods = pods.Core().V1().Pods().Informer()
	f.nodes = nodes.Core().V1().Nodes().Informer()
	enqueueSvc := func(obj any) {
		if svc, ok := obj.(*corev1.Service); ok && svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
			f.queue.Add(svc.Name)
		}
	}
	enqueuePod := func(obj any) {
		if pod, ok := obj.(*corev1.Pod); ok && pod.Labels[SvcNSLabel] == ServiceNS {
			f.queue.Add(pod.Labels[SvcNameLabel])
		}
	}
	if _, err := f.svcs.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: enqueueSvc, UpdateFunc: func(_, o any) { enqueueSvc(o) }}); err != nil {
		return fmt.Errorf("watch services: %w", err)
	}
	if _, err := f.pods.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: enqueuePod, UpdateFunc: func(_, o any) { enqueuePod(o) }}); err != nil {
		return fmt.Errorf("watch pods: %w", err)
	}
	if err := f.pods.AddIndexers(cache.Indexers{"svc": func(obj any) ([]string, error) {
		return []string{obj.(*corev1.Pod).Labels[SvcNameLabel]}, nil
	}}); err != nil {
		return fmt.Errorf("index pods: %w", err)
	}
	svcs.Start(ctx.Done())
	pods.Start(ctx.Done())
	nodes.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), f.svcs.HasSynced, f.pods.HasSynced, f.nodes.HasSynced) {
		return fmt.Errorf("the floor's watches did not sync")
	}
	for range f.workers {
		go func() {
			for f.next(ctx) {
			}
		}()
	}
	go func() {
		<-ctx.Done()
		f.queue.ShutDown()
	}()
	return nil
}

func (f *Floor) next(ctx context.Context) bool {
	key, quit := f.queue.Get()
	if quit {
		return false
	}
	defer f.queue.Done(key)
	if err := f.sync(ctx, key); err != nil {
		f.queue.AddRateLimited(key)
		return true
	}
	f.queue.Forget(key)
	return true
}

// sync applies the DaemonSet of a Service once and writes its ingress when
// every pod of it is Ready.
func (f *Floor) sync(ctx context.Context, name string) error {
	obj, exists, err := f.svcs.GetIndexer().GetByKey(ServiceNS + "/" + name)
	if err != nil || !exists {
		return err
	}
	svc := obj.(*corev1.Service)
	f.mu.Lock()
	done := f.applied[name]
	f.mu.Unlock()
	if !done {
		if f.k3sWrites && !slices.Contains(svc.Finalizers, floorFinalizer) {
			patch := fmt.Sprintf(`{"metadata":{"finalizers":[%q],"resourceVersion":%q}}`, floorFinalizer, svc.ResourceVersion)
			if _, err := f.cs.CoreV1().Services(ServiceNS).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: floorFieldManager}); err != nil {
				return fmt.Errorf("add the finalizer to %s: %w", name, err)
			}
		}
		ds := floorDaemonSet(svc)
		if _, err := f.cs.AppsV1().DaemonSets(SvclbNS).Apply(ctx, ds, metav1.ApplyOptions{FieldManager: floorFieldManager, Force: true}); err != nil {
			return fmt.Errorf("apply the daemonset of %s: %w", name, err)
		}
		f.event(ctx, svc, "AppliedDaemonSet", "ApplyDaemonSet", "Applied LoadBalancer DaemonSet "+SvclbNS+"/"+*ds.Name)
		f.mu.Lock()
		f.applied[name] = true
		f.mu.Unlock()
	}
	ips, complete := f.readyIPs(svc)
	if !complete || sameIngress(svc, ips) {
		return nil
	}
	ingress := make([]map[string]string, 0, len(ips))
	for _, ip := range ips {
		ingress = append(ingress, map[string]string{"ip": ip})
	}
	body, err := json.Marshal(map[string]any{"status": map[string]any{"loadBalancer": map[string]any{"ingress": ingress}}})
	if err != nil {
		return err
	}
	_, err = f.cs.CoreV1().Services(ServiceNS).Patch(ctx, name, types.MergePatchType, body, metav1.PatchOptions{FieldManager: floorFieldManager}, "status")
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err == nil {
		f.event(ctx, svc, "UpdatedLoadBalancer", "UpdateLoadBalancer", fmt.Sprintf("Updated LoadBalancer with new IPs: [] -> %v", ips))
	}
	return err
}

// floorFinalizer is the finalizer K3s's ServiceLB and wharf put on a
// served Service.
const floorFinalizer = "service.kubernetes.io/load-balancer-cleanup"

// event records an Event on svc with the Events API, once, as a recorder
// without a series would; only a floor with k3sWrites records any.
func (f *Floor) event(ctx context.Context, svc *corev1.Service, reason, action, note string) {
	if !f.k3sWrites {
		return
	}
	now := metav1.NowMicro()
	ev := &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{GenerateName: svc.Name + ".", Namespace: svc.Namespace},
		EventTime:           now,
		ReportingController: "wharf-floor",
		ReportingInstance:   "wharf-floor",
		Action:              action,
		Reason:              reason,
		Regarding:           corev1.ObjectReference{Kind: "Service", APIVersion: "v1", Namespace: svc.Namespace, Name: svc.Name, UID: svc.UID},
		Note:                note,
		Type:                corev1.EventTypeNormal,
	}
	_, _ = f.cs.EventsV1().Events(svc.Namespace).Create(ctx, ev, metav1.CreateOptions{})
}

// readyIPs returns the IPs of the nodes with a Ready pod of svc, and
// whether every eligible node (of the Service's pool) has one.
func (f *Floor) readyIPs(svc *corev1.Service) ([]string, bool) {
	pool := svc.Labels[LBPoolLabel]
	ipOf := map[string]string{}
	eligible := 0
	for _, obj := range f.nodes.GetIndexer().List() {
		n := obj.(*corev1.Node)
		if n.Labels[LBPoolLabel] != pool {
			continue
		}
		eligible++
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				ipOf[n.Name] = a.Address
			}
		}
	}
	objs, _ := f.pods.GetIndexer().ByIndex("svc", svc.Name)
	var ips []string
	for _, obj := range objs {
		pod := obj.(*corev1.Pod)
		if pod.Labels[SvcNSLabel] == ServiceNS && podReady(pod) && ipOf[pod.Spec.NodeName] != "" {
			ips = append(ips, ipOf[pod.Spec.NodeName])
		}
	}
	slices.Sort(ips)
	ips = slices.Compact(ips)
	return ips, eligible > 0 && len(ips) == eligible
}

func sameIngress(svc *corev1.Service, ips []string) bool {
	in := svc.Status.LoadBalancer.Ingress
	if len(in) != len(ips) {
		return false
	}
	for i := range in {
		if in[i].IP != ips[i] {
			return false
		}
	}
	return true
}

// floorDaemonSet is a svclb DaemonSet as ServiceLB builds it for the
// scenario's Services (one TCP port, Cluster traffic policy, a pool or
// every node): same
// pod template size and scheduling constraints, so the cluster does the
// same work for the floor as for the manager.
func floorDaemonSet(svc *corev1.Service) *appsv1ac.DaemonSetApplyConfiguration {
	name := "svclb-" + svc.Name + "-" + string(svc.UID)[:8]
	svcLabels := map[string]string{SvcNameLabel: svc.Name, SvcNSLabel: svc.Namespace}
	ps := corev1ac.PodSpec().
		WithPriorityClassName("system-node-critical").
		WithServiceAccountName("svclb").
		WithAutomountServiceAccountToken(false).
		WithSecurityContext(corev1ac.PodSecurityContext().WithSysctls(corev1ac.Sysctl().WithName("net.ipv4.ip_forward").WithValue("1"))).
		WithTolerations(
			corev1ac.Toleration().WithKey("node-role.kubernetes.io/master").WithOperator(corev1.TolerationOpExists).WithEffect(corev1.TaintEffectNoSchedule),
			corev1ac.Toleration().WithKey("node-role.kubernetes.io/control-plane").WithOperator(corev1.TolerationOpExists).WithEffect(corev1.TaintEffectNoSchedule),
			corev1ac.Toleration().WithKey("CriticalAddonsOnly").WithOperator(corev1.TolerationOpExists))
	if pool := svc.Labels[LBPoolLabel]; pool != "" {
		// K3s's enablelb rule with the Service's pool, as wharf places it.
		ps.WithNodeSelector(map[string]string{EnableLBLabel: "true", LBPoolLabel: pool})
	}
	for _, p := range svc.Spec.Ports {
		port := strconv.Itoa(int(p.Port))
		cname := "lb-tcp-" + port
		ps.WithContainers(corev1ac.Container().
			WithName(cname).
			WithImage(v1alpha1.DefaultServiceLBImage).
			WithImagePullPolicy(corev1.PullIfNotPresent).
			WithPorts(corev1ac.ContainerPort().WithName(cname).WithContainerPort(p.Port).WithHostPort(p.Port).WithProtocol(corev1.ProtocolTCP)).
			WithEnv(
				corev1ac.EnvVar().WithName("SRC_PORT").WithValue(port),
				corev1ac.EnvVar().WithName("SRC_RANGES").WithValue("0.0.0.0/0"),
				corev1ac.EnvVar().WithName("DEST_PROTO").WithValue("TCP"),
				corev1ac.EnvVar().WithName("DEST_PORT").WithValue(port),
				corev1ac.EnvVar().WithName("DEST_IPS").WithValue(svc.Spec.ClusterIP)).
			WithSecurityContext(corev1ac.SecurityContext().WithCapabilities(corev1ac.Capabilities().WithAdd("NET_ADMIN"))))
	}
	return appsv1ac.DaemonSet(name, SvclbNS).
		WithLabels(svcLabels).
		WithSpec(appsv1ac.DaemonSetSpec().
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{"app": name})).
			WithTemplate(corev1ac.PodTemplateSpec().
				WithLabels(map[string]string{"app": name}).
				WithLabels(svcLabels).
				WithSpec(ps)))
}

// CreateSvclbServiceAccount creates the svclb ServiceAccount the floor's
// pods run as (the manager creates its own).
func (e *Env) CreateSvclbServiceAccount(ctx context.Context) error {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "svclb", Namespace: SvclbNS}, AutomountServiceAccountToken: ptr.To(false)}
	if _, err := e.Client.CoreV1().ServiceAccounts(SvclbNS).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create the svclb ServiceAccount: %w", err)
	}
	return nil
}

// waitQuiet waits until no request went through p for quiet, or timeout.
func waitQuiet(ctx context.Context, p *Proxy, quiet, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		reqs := p.Requests()
		if len(reqs) == 0 || time.Since(reqs[len(reqs)-1].At) >= quiet {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}
