package faults

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
)

// enableAll turns CoreDNS and Traefik on in the ServiceLB-only resource
// startEnv creates, before any manager runs.
func (e *env) enableAll(ctx context.Context) {
	e.t.Helper()
	cn := &v1alpha1.ClusterNetworking{}
	if err := e.cl.Get(ctx, client.ObjectKey{Name: v1alpha1.SingletonName}, cn); err != nil {
		e.t.Fatal(err)
	}
	cn.Spec.CoreDNS.Enabled = nil
	cn.Spec.Traefik.Enabled = nil
	if err := e.cl.Update(ctx, cn); err != nil {
		e.t.Fatal(err)
	}
}

// waitObject waits until obj ns/name exists and returns it.
func (e *env) waitObject(ctx context.Context, obj client.Object, ns, name string, timeout time.Duration) {
	e.t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		last = e.cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)
		return last == nil, nil
	})
	if err != nil {
		e.t.Fatalf("%T %s/%s not there within %s: %v (%v)", obj, ns, name, timeout, last, err)
	}
}

// waitGone waits until obj ns/name no longer exists.
func (e *env) waitGone(ctx context.Context, obj client.Object, ns, name string, timeout time.Duration) {
	e.t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		return apierrors.IsNotFound(e.cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)), nil
	})
	if err != nil {
		e.t.Fatalf("%T %s/%s still there after %s", obj, ns, name, timeout)
	}
}

// TestSafetyUninstall follows the README's Uninstall steps on a control
// plane with kube-controller-manager (so with the garbage collector):
// delete the ClusterNetworking, then what dist/install.yaml installed (the
// manager and the CRD). CoreDNS, kube-dns on its IP, Traefik and the svclb
// DaemonSets keep running, and the Services can be deleted without wharf.
// The coredns Deployment carries an owner reference to the resource as an
// earlier version of wharf set it, which the deletion must remove.
func TestSafetyUninstall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	e := startEnv(ctx, t, 2)
	e.enableAll(ctx)
	m := e.startManager("manager", e.cluster.KubeconfigPath())
	const services = 3
	if err := e.createServices(ctx, 0, services); err != nil {
		t.Fatal(err)
	}
	e.waitConverged(ctx, services, 2*time.Minute, m.Exited)
	dns := &corev1.Service{}
	e.waitObject(ctx, dns, "kube-system", "kube-dns", time.Minute)
	e.waitObject(ctx, &appsv1.Deployment{}, "kube-system", "traefik", time.Minute)
	ip := dns.Spec.ClusterIP

	// An owner reference as wharf set them before it stopped setting any.
	cn := &v1alpha1.ClusterNetworking{}
	if err := e.cl.Get(ctx, client.ObjectKey{Name: v1alpha1.SingletonName}, cn); err != nil {
		t.Fatal(err)
	}
	deploy := &appsv1.Deployment{}
	e.waitObject(ctx, deploy, "kube-system", "coredns", time.Minute)
	deploy.OwnerReferences = append(deploy.OwnerReferences, metav1.OwnerReference{
		APIVersion: v1alpha1.GroupVersion.String(), Kind: "ClusterNetworking", Name: cn.Name, UID: cn.UID,
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
	})
	if err := e.cl.Update(ctx, deploy); err != nil {
		t.Fatal(err)
	}

	// 1. kubectl delete clusternetworking cluster
	if err := e.cl.Delete(ctx, cn); err != nil {
		t.Fatal(err)
	}
	e.waitGone(ctx, &v1alpha1.ClusterNetworking{}, "", v1alpha1.SingletonName, time.Minute)
	// 2. kubectl delete -f dist/install.yaml: the manager and the CRD go.
	if err := m.Stop(10 * time.Second); err != nil {
		t.Logf("stop the manager: %v", err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: "clusternetworkings.networking.wharf.dev"}}
	if err := e.cl.Delete(ctx, crd); err != nil {
		t.Fatal(err)
	}
	e.waitGone(ctx, &apiextensionsv1.CustomResourceDefinition{}, "", crd.Name, time.Minute)
	// The garbage collector acts within seconds on a deleted owner.
	time.Sleep(10 * time.Second)

	if err := e.cl.Get(ctx, client.ObjectKey{Namespace: "kube-system", Name: "coredns"}, deploy); err != nil {
		t.Errorf("the coredns Deployment after uninstalling: %v", err)
	} else if len(deploy.OwnerReferences) > 0 {
		t.Errorf("the coredns Deployment keeps owner references %v", deploy.OwnerReferences)
	}
	if err := e.cl.Get(ctx, client.ObjectKey{Namespace: "kube-system", Name: "kube-dns"}, dns); err != nil {
		t.Errorf("kube-dns after uninstalling: %v", err)
	} else if dns.Spec.ClusterIP != ip {
		t.Errorf("kube-dns has cluster IP %s, had %s", dns.Spec.ClusterIP, ip)
	}
	for _, name := range []string{"coredns", "traefik"} {
		if err := e.cl.Get(ctx, client.ObjectKey{Namespace: "kube-system", Name: name}, &appsv1.Deployment{}); err != nil {
			t.Errorf("Deployment %s after uninstalling: %v", name, err)
		}
	}
	svcs := &corev1.ServiceList{}
	if err := e.cl.List(ctx, svcs, client.InNamespace(testNS)); err != nil {
		t.Fatal(err)
	}
	for i := range svcs.Items {
		svc := &svcs.Items[i]
		if err := e.cl.Get(ctx, client.ObjectKey{Namespace: svclbNS, Name: daemonSetName(svc)}, &appsv1.DaemonSet{}); err != nil {
			t.Errorf("the svclb DaemonSet of %s after uninstalling: %v", svc.Name, err)
		}
		if got := ingressIPs(svc); !slices.Equal(got, e.nodeIPs) {
			t.Errorf("%s lost its ingress: %v", svc.Name, got)
		}
	}
	// 3. Services are deleted as usual, without wharf.
	if err := e.deleteServices(ctx); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		list := &corev1.ServiceList{}
		if err := e.cl.List(ctx, list, client.InNamespace(testNS)); err != nil {
			return false, nil
		}
		return len(list.Items) == 0, nil
	})
	if err != nil {
		t.Errorf("the Services cannot be deleted after uninstalling: %v", err)
	}
}

// faultServices converge while the fault test deletes wharf's objects.
const faultServices = 50

// TestSafetyDeletedObjectsComeBack deletes kube-dns, the coredns ConfigMap,
// the Traefik Deployment and a svclb DaemonSet at once while 50 Services
// converge: every object comes back, kube-dns on its IP, and no Service
// loses its ingress for longer than its DaemonSet's recreation takes.
func TestSafetyDeletedObjectsComeBack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	e := startEnv(ctx, t, 2)
	e.enableAll(ctx)
	m := e.startManager("manager", e.cluster.KubeconfigPath())
	dns := &corev1.Service{}
	e.waitObject(ctx, dns, "kube-system", "kube-dns", time.Minute)
	e.waitObject(ctx, &appsv1.Deployment{}, "kube-system", "traefik", time.Minute)
	ip := dns.Spec.ClusterIP
	// A first Service converges, so that its DaemonSet can be deleted.
	if err := e.createServices(ctx, 0, 1); err != nil {
		t.Fatal(err)
	}
	e.waitConverged(ctx, 1, time.Minute, m.Exited)

	// Watch every Service's ingress: when one it had is lost, and for how long.
	watchCtx, stopWatch := context.WithCancel(ctx)
	losses := &ingressLosses{since: map[string]time.Time{}, longest: map[string]time.Duration{}}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); losses.watch(watchCtx, e) }()

	created := make(chan error, 1)
	go func() { created <- e.createServices(ctx, 1, faultServices) }()
	time.Sleep(time.Second)

	first := &corev1.Service{}
	if err := e.cl.Get(ctx, client.ObjectKey{Namespace: testNS, Name: serviceName(0)}, first); err != nil {
		t.Fatal(err)
	}
	victims := []client.Object{
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-dns"}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "coredns"}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "traefik"}},
		&appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: svclbNS, Name: daemonSetName(first)}},
	}
	deleted := time.Now()
	var dwg sync.WaitGroup
	for _, v := range victims {
		dwg.Add(1)
		go func() {
			defer dwg.Done()
			if err := e.cl.Delete(ctx, v, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil {
				t.Errorf("delete %T %s: %v", v, v.GetName(), err)
			}
		}()
	}
	dwg.Wait()
	if err := <-created; err != nil {
		t.Fatal(err)
	}

	// The svclb DaemonSet is back: how long its recreation took.
	var recreated time.Duration
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		ds := &appsv1.DaemonSet{}
		if err := e.cl.Get(ctx, client.ObjectKeyFromObject(victims[3]), ds); err != nil || ds.CreationTimestamp.Time.Before(deleted.Add(-time.Second)) {
			return false, nil
		}
		recreated = time.Since(deleted)
		return true, nil
	})
	if err != nil {
		t.Fatalf("the deleted svclb DaemonSet did not come back: %v", err)
	}
	e.waitConverged(ctx, faultServices, 2*time.Minute, m.Exited)
	stopWatch()
	wg.Wait()

	for _, v := range victims {
		obj := v.DeepCopyObject().(client.Object)
		e.waitObject(ctx, obj, v.GetNamespace(), v.GetName(), time.Minute)
	}
	if err := e.cl.Get(ctx, client.ObjectKey{Namespace: "kube-system", Name: "kube-dns"}, dns); err != nil {
		t.Fatal(err)
	}
	if dns.Spec.ClusterIP != ip {
		t.Errorf("kube-dns came back on %s, not on its IP %s: pods resolve through %s", dns.Spec.ClusterIP, ip, ip)
	}
	// Every Service is served by its own DaemonSet (checkServed would also
	// count Traefik's LoadBalancer Service, outside the test's namespace).
	svcs := &corev1.ServiceList{}
	if err := e.cl.List(ctx, svcs, client.InNamespace(testNS)); err != nil {
		t.Fatal(err)
	}
	for i := range svcs.Items {
		svc := &svcs.Items[i]
		if !slices.Contains(svc.Finalizers, finalizer) {
			t.Errorf("%s has no finalizer", svc.Name)
		}
		if err := e.cl.Get(ctx, client.ObjectKey{Namespace: svclbNS, Name: daemonSetName(svc)}, &appsv1.DaemonSet{}); err != nil {
			t.Errorf("the svclb DaemonSet of %s: %v", svc.Name, err)
		}
	}
	t.Logf("the svclb DaemonSet came back after %s; longest ingress losses: %v", recreated.Round(time.Millisecond), losses.longest)
	for name, d := range losses.longest {
		if name != serviceName(0) {
			t.Errorf("%s lost its ingress for %s, though none of its objects was deleted", name, d.Round(time.Millisecond))
		} else if d > recreated+10*time.Second {
			t.Errorf("%s lost its ingress for %s; its DaemonSet came back after %s", name, d.Round(time.Millisecond), recreated.Round(time.Millisecond))
		}
	}
}

// ingressLosses records, per Service, how long it went without the ingress
// of every node once it had it.
type ingressLosses struct {
	mu      sync.Mutex
	had     map[string]bool
	since   map[string]time.Time
	longest map[string]time.Duration
}

func (l *ingressLosses) watch(ctx context.Context, e *env) {
	l.had = map[string]bool{}
	for ctx.Err() == nil {
		list := &corev1.ServiceList{}
		if err := e.cl.List(ctx, list, client.InNamespace(testNS)); err == nil {
			now := time.Now()
			l.mu.Lock()
			for i := range list.Items {
				name := list.Items[i].Name
				full := slices.Equal(ingressIPs(&list.Items[i]), e.nodeIPs)
				switch {
				case full:
					l.had[name] = true
					if start, ok := l.since[name]; ok {
						l.longest[name] = max(l.longest[name], now.Sub(start))
						delete(l.since, name)
					}
				case l.had[name]:
					if _, ok := l.since[name]; !ok {
						l.since[name] = now
					}
				}
			}
			for name, start := range l.since {
				l.longest[name] = max(l.longest[name], now.Sub(start))
			}
			l.mu.Unlock()
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}
