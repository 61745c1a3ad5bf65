package clusternetworking_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/internal/apply"
	"github.com/wharf-dev/wharf/internal/testenv"
)

// These tests run the real manager (every real component) against a real
// API server.

// The contract these tests check, spelled out so that they also build
// against code from before it.
const (
	kubeSystem       = "kube-system"
	reasonConflict   = "Conflict"
	originAnnotation = "networking.wharf.dev/origin"
)

func isWharfs(labels map[string]string) bool {
	return labels[apply.ManagedByLabel] == apply.ManagedByValue && labels[apply.ComponentLabel] != ""
}

// pathCounter counts the writes the manager sends to each path.
type pathCounter struct {
	counter *testenv.Counter
}

func (p pathCounter) writesTo(suffix string) int {
	n := 0
	for _, line := range strings.Split(p.counter.WritePaths(), "\n") {
		if strings.HasSuffix(line, suffix) {
			n++
		}
	}
	return n
}

func startRealManager(t *testing.T, cfg *rest.Config) pathCounter {
	t.Helper()
	counted, counter := testenv.Counting(cfg)
	testenv.StartManager(t, counted)
	return pathCounter{counter: counter}
}

func createSpec(t *testing.T, c client.Client, mutate func(*v1alpha1.ClusterNetworking)) {
	t.Helper()
	cn := &v1alpha1.ClusterNetworking{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.SingletonName}}
	if mutate != nil {
		mutate(cn)
	}
	if err := c.Create(context.Background(), cn); err != nil {
		t.Fatal(err)
	}
}

func updateSpec(t *testing.T, c client.Client, mutate func(*v1alpha1.ClusterNetworking)) {
	t.Helper()
	eventually(t, 10*time.Second, "update the spec", func() error {
		cn := getCN(t, c)
		mutate(cn)
		return c.Update(context.Background(), cn)
	})
}

func traefikValues(v string) *apiextensionsv1.JSON { return &apiextensionsv1.JSON{Raw: []byte(v)} }

func condition(cn *v1alpha1.ClusterNetworking, typ string) metav1.Condition {
	if c := meta.FindStatusCondition(cn.Status.Conditions, typ); c != nil {
		return *c
	}
	return metav1.Condition{}
}

// describedBy reports whether condition typ describes cn's generation.
func describedBy(cn *v1alpha1.ClusterNetworking, typ string) error {
	c := condition(cn, typ)
	if c.ObservedGeneration != cn.Generation {
		return fmt.Errorf("%s describes generation %d, not %d", typ, c.ObservedGeneration, cn.Generation)
	}
	return nil
}

func getObject(c client.Client, obj client.Object, ns, name string) error {
	return c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, obj)
}

// TestSafetyComponentsNeverFight: Traefik values that make the chart
// render CoreDNS's ServiceAccount (fullnameOverride: coredns) must not make
// the two components overwrite each other, and reverting them must not
// make Traefik's prune delete CoreDNS's ServiceAccount.
func TestSafetyComponentsNeverFight(t *testing.T) {
	env := testenv.Start(t)
	c := env.Client
	writes := startRealManager(t, env.Config)
	createSpec(t, c, func(cn *v1alpha1.ClusterNetworking) { cn.Spec.ServiceLB.Enabled = ptr.To(false) })
	eventually(t, 60*time.Second, "CoreDNS and Traefik applied", func() error {
		cn := getCN(t, c)
		for _, typ := range []string{v1alpha1.ConditionCoreDNSReady, v1alpha1.ConditionTraefikReady} {
			if err := describedBy(cn, typ); err != nil {
				return err
			}
		}
		return getObject(c, &appsv1.Deployment{}, kubeSystem, "traefik")
	})

	updateSpec(t, c, func(cn *v1alpha1.ClusterNetworking) {
		cn.Spec.Traefik.Values = traefikValues(`{"fullnameOverride":"coredns"}`)
	})
	eventually(t, 60*time.Second, "Traefik stalled on the conflict", func() error {
		cn := getCN(t, c)
		tr := condition(cn, v1alpha1.ConditionTraefikReady)
		st := condition(cn, v1alpha1.ConditionStalled)
		if tr.ObservedGeneration != cn.Generation || tr.Status != metav1.ConditionFalse || tr.Reason != reasonConflict {
			return fmt.Errorf("TraefikReady %s %s: %s", tr.Status, tr.Reason, tr.Message)
		}
		if st.Status != metav1.ConditionTrue {
			return fmt.Errorf("Stalled %s: %s", st.Status, st.Message)
		}
		for _, want := range []string{"ServiceAccount kube-system/coredns", "traefik", "coredns component"} {
			if !strings.Contains(st.Message, want) {
				return fmt.Errorf("Stalled does not name %q: %s", want, st.Message)
			}
		}
		return nil
	})
	// Neither component writes the object any more.
	writes.counter.Reset()
	time.Sleep(5 * time.Second)
	for _, path := range []string{"/serviceaccounts/coredns", "/deployments/coredns"} {
		if n := writes.writesTo(path); n > 0 {
			t.Errorf("%d writes to %s in 5s while two components claim it:\n%s", n, path, writes.counter.WritePaths())
		}
	}
	sa := &corev1.ServiceAccount{}
	if err := getObject(c, sa, kubeSystem, "coredns"); err != nil {
		t.Fatal(err)
	}
	if sa.Labels[apply.ComponentLabel] != "coredns" {
		t.Errorf("the coredns ServiceAccount is labelled for %q", sa.Labels[apply.ComponentLabel])
	}

	// Reverting the values: Traefik applies again and prunes nothing of CoreDNS.
	updateSpec(t, c, func(cn *v1alpha1.ClusterNetworking) { cn.Spec.Traefik.Values = nil })
	eventually(t, 60*time.Second, "Traefik applied again", func() error {
		cn := getCN(t, c)
		tr := condition(cn, v1alpha1.ConditionTraefikReady)
		if tr.ObservedGeneration != cn.Generation || tr.Reason == reasonConflict || tr.Reason == "ApplyFailed" {
			return fmt.Errorf("TraefikReady %s %s: %s", tr.Status, tr.Reason, tr.Message)
		}
		if st := condition(cn, v1alpha1.ConditionStalled); st.Status != metav1.ConditionFalse {
			return fmt.Errorf("Stalled %s: %s", st.Status, st.Message)
		}
		return nil
	})
	time.Sleep(2 * time.Second)
	for _, obj := range []client.Object{&corev1.ServiceAccount{}, &appsv1.Deployment{}} {
		if err := getObject(c, obj, kubeSystem, "coredns"); err != nil {
			t.Errorf("CoreDNS's %T after reverting Traefik's values: %v", obj, err)
		}
	}
}

// TestSafetyForeignObjectNotTakenOver: values that make Traefik render the
// manager's own ServiceAccount must not take it over, and reverting them
// must not delete it.
func TestSafetyForeignObjectNotTakenOver(t *testing.T) {
	env := testenv.Start(t)
	c := env.Client
	ctx := context.Background()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "wharf-system"}}); err != nil {
		t.Fatal(err)
	}
	installed := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "wharf-manager", Namespace: "wharf-system",
		Labels: map[string]string{"app.kubernetes.io/name": "wharf", "app.kubernetes.io/part-of": "wharf"}}}
	if err := c.Create(ctx, installed); err != nil {
		t.Fatal(err)
	}
	writes := startRealManager(t, env.Config)
	createSpec(t, c, func(cn *v1alpha1.ClusterNetworking) {
		cn.Spec.CoreDNS.Enabled = ptr.To(false)
		cn.Spec.ServiceLB.Enabled = ptr.To(false)
		cn.Spec.Traefik.Values = traefikValues(`{"fullnameOverride":"wharf-manager","namespaceOverride":"wharf-system"}`)
	})
	eventually(t, 60*time.Second, "Traefik stalled on the manager's ServiceAccount", func() error {
		cn := getCN(t, c)
		tr := condition(cn, v1alpha1.ConditionTraefikReady)
		if tr.ObservedGeneration != cn.Generation || tr.Status != metav1.ConditionFalse || tr.Reason != reasonConflict {
			return fmt.Errorf("TraefikReady %s %s: %s", tr.Status, tr.Reason, tr.Message)
		}
		if st := condition(cn, v1alpha1.ConditionStalled); st.Status != metav1.ConditionTrue ||
			!strings.Contains(st.Message, "ServiceAccount wharf-system/wharf-manager") || !strings.Contains(st.Message, "did not create") {
			return fmt.Errorf("Stalled %s: %s", st.Status, st.Message)
		}
		return nil
	})
	if n := writes.writesTo("/namespaces/wharf-system/serviceaccounts/wharf-manager"); n > 0 {
		t.Errorf("%d writes to the manager's ServiceAccount", n)
	}
	if err := getObject(c, &appsv1.Deployment{}, "wharf-system", "wharf-manager"); !apierrors.IsNotFound(err) {
		t.Errorf("a conflicting component applied some of its objects: Deployment wharf-manager: %v", err)
	}

	updateSpec(t, c, func(cn *v1alpha1.ClusterNetworking) { cn.Spec.Traefik.Values = nil })
	eventually(t, 60*time.Second, "Traefik applied to kube-system", func() error {
		return getObject(c, &appsv1.Deployment{}, kubeSystem, "traefik")
	})
	time.Sleep(2 * time.Second)
	sa := &corev1.ServiceAccount{}
	if err := getObject(c, sa, "wharf-system", "wharf-manager"); err != nil {
		t.Fatalf("the manager's ServiceAccount after reverting the values: %v", err)
	}
	if isWharfs(sa.Labels) || sa.Annotations[apply.AppliedHashAnnotation] != "" {
		t.Errorf("the manager's ServiceAccount carries wharf's marks: %v %v", sa.Labels, sa.Annotations)
	}
}

// kubeadmDNS creates the kube-dns Service and coredns ConfigMap as kubeadm
// or K3s would, before wharf runs.
func kubeadmDNS(t *testing.T, c client.Client) {
	t.Helper()
	ctx := context.Background()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-dns", Namespace: kubeSystem, Labels: map[string]string{"k8s-app": "kube-dns"}},
		Spec: corev1.ServiceSpec{
			ClusterIP: "10.43.0.10",
			Selector:  map[string]string{"k8s-app": "kube-dns"},
			Ports:     []corev1.ServicePort{{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(53)}},
		},
	}
	if err := c.Create(ctx, svc, client.FieldOwner("kubeadm")); err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "coredns", Namespace: kubeSystem},
		Data: map[string]string{"Corefile": ".:53 {\n    forward . /etc/resolv.conf\n}\n"}}
	if err := c.Create(ctx, cm, client.FieldOwner("kubeadm")); err != nil {
		t.Fatal(err)
	}
}

// TestSafetyPruneReleasesAdopted: CoreDNS adopts the kube-dns Service and
// coredns ConfigMap kubeadm created; disabling CoreDNS deletes only what
// wharf created and releases the adopted objects, kube-dns on its IP.
func TestSafetyPruneReleasesAdopted(t *testing.T) {
	env := testenv.Start(t)
	c := env.Client
	kubeadmDNS(t, c)
	startRealManager(t, env.Config)
	createSpec(t, c, func(cn *v1alpha1.ClusterNetworking) {
		cn.Spec.Traefik.Enabled = ptr.To(false)
		cn.Spec.ServiceLB.Enabled = ptr.To(false)
	})
	origins := map[string]string{}
	eventually(t, 60*time.Second, "CoreDNS applied", func() error {
		for _, o := range []struct {
			obj  client.Object
			name string
		}{{&corev1.Service{}, "kube-dns"}, {&corev1.ConfigMap{}, "coredns"}, {&appsv1.Deployment{}, "coredns"}, {&corev1.ServiceAccount{}, "coredns"}} {
			if err := getObject(c, o.obj, kubeSystem, o.name); err != nil {
				return err
			}
			if o.obj.GetLabels()[apply.ComponentLabel] != "coredns" {
				return fmt.Errorf("%T %s not applied yet", o.obj, o.name)
			}
			origins[fmt.Sprintf("%T/%s", o.obj, o.name)] = o.obj.GetAnnotations()[originAnnotation]
		}
		return nil
	})
	want := map[string]string{
		"*v1.Service/kube-dns": "adopted", "*v1.ConfigMap/coredns": "adopted",
		"*v1.Deployment/coredns": "created", "*v1.ServiceAccount/coredns": "created",
	}
	for k, v := range want {
		if origins[k] != v {
			t.Errorf("%s recorded as %q, want %q", k, origins[k], v)
		}
	}

	updateSpec(t, c, func(cn *v1alpha1.ClusterNetworking) { cn.Spec.CoreDNS.Enabled = ptr.To(false) })
	eventually(t, 60*time.Second, "CoreDNS pruned", func() error {
		if err := getObject(c, &appsv1.Deployment{}, kubeSystem, "coredns"); !apierrors.IsNotFound(err) {
			return fmt.Errorf("the coredns Deployment wharf created is still there (%v)", err)
		}
		return nil
	})
	svc := &corev1.Service{}
	if err := getObject(c, svc, kubeSystem, "kube-dns"); err != nil {
		t.Fatalf("kube-dns, which kubeadm created, was deleted: %v", err)
	}
	if svc.Spec.ClusterIP != "10.43.0.10" {
		t.Errorf("kube-dns has cluster IP %s", svc.Spec.ClusterIP)
	}
	cm := &corev1.ConfigMap{}
	if err := getObject(c, cm, kubeSystem, "coredns"); err != nil {
		t.Fatalf("the coredns ConfigMap, which kubeadm created, was deleted: %v", err)
	}
	// The prune deletes and releases one object after the other: the
	// Deployment may be gone before the adopted objects are released.
	eventually(t, 30*time.Second, "adopted objects released", func() error {
		for _, obj := range []client.Object{svc, cm} {
			if err := getObject(c, obj, kubeSystem, obj.GetName()); err != nil {
				return fmt.Errorf("%T %s, which kubeadm created: %w", obj, obj.GetName(), err)
			}
			if isWharfs(obj.GetLabels()) || obj.GetAnnotations()[originAnnotation] != "" || len(obj.GetOwnerReferences()) > 0 {
				return fmt.Errorf("%T %s was not released: labels %v annotations %v owners %v", obj, obj.GetName(), obj.GetLabels(), obj.GetAnnotations(), obj.GetOwnerReferences())
			}
		}
		return nil
	})
}

// TestSafetyRewritesBackOff: another writer that keeps changing an object
// wharf applies gets it reverted a few times, then ever more slowly: no
// loop writes more than a few times a minute to one object.
func TestSafetyRewritesBackOff(t *testing.T) {
	env := testenv.Start(t)
	c := env.Client
	writes := startRealManager(t, env.Config)
	createSpec(t, c, func(cn *v1alpha1.ClusterNetworking) {
		cn.Spec.Traefik.Enabled = ptr.To(false)
		cn.Spec.ServiceLB.Enabled = ptr.To(false)
	})
	eventually(t, 60*time.Second, "CoreDNS applied", func() error {
		return getObject(c, &corev1.ConfigMap{}, kubeSystem, "coredns")
	})
	time.Sleep(time.Second)
	writes.counter.Reset()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	edits := 0
	for ctx.Err() == nil {
		cm := &corev1.ConfigMap{}
		if err := getObject(c, cm, kubeSystem, "coredns"); err == nil {
			cm.Data["Corefile"] = fmt.Sprintf(".:53 {\n    errors\n}\n# edit %d\n", edits)
			if err := c.Update(ctx, cm, client.FieldOwner("fighter")); err == nil {
				edits++
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	n := writes.writesTo("/namespaces/kube-system/configmaps/coredns")
	t.Logf("another writer changed the ConfigMap %d times in 30s; wharf wrote it %d times", edits, n)
	if edits < 50 {
		t.Fatalf("only %d edits: the test proves nothing", edits)
	}
	if n > 6 {
		t.Errorf("wharf wrote the coredns ConfigMap %d times in 30s against another writer, want at most 6", n)
	}
	if n == 0 {
		t.Errorf("wharf never reverted the edits")
	}
	cn := getCN(t, c)
	if cd := condition(cn, v1alpha1.ConditionCoreDNSReady); cd.Status != metav1.ConditionFalse || cd.Reason != "Throttled" {
		t.Errorf("CoreDNSReady %s %s: %s, want False Throttled", cd.Status, cd.Reason, cd.Message)
	}
	if rd := condition(cn, v1alpha1.ConditionReady); rd.Status == metav1.ConditionTrue {
		t.Errorf("Ready is True while another writer fights over the coredns ConfigMap")
	}
}

// loadBalancer creates a LoadBalancer Service served by ServiceLB.
func loadBalancer(t *testing.T, c client.Client, name string) {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{Name: "web", Port: 8080, Protocol: corev1.ProtocolTCP}}},
	}
	if err := c.Create(context.Background(), svc); err != nil {
		t.Fatal(err)
	}
}

// svclbDaemonSets lists the svclb DaemonSets of the Service default/web.
func svclbDaemonSets(t *testing.T, c client.Client) []appsv1.DaemonSet {
	t.Helper()
	list := &appsv1.DaemonSetList{}
	if err := c.List(context.Background(), list, client.InNamespace(kubeSystem), client.MatchingLabels{
		"svccontroller.k3s.cattle.io/svcname": "web", "svccontroller.k3s.cattle.io/svcnamespace": "default",
	}); err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// deployed starts the manager, creates a ClusterNetworking with every
// component and a LoadBalancer Service, and waits until all were applied.
func deployed(t *testing.T, c client.Client, policy v1alpha1.DeletionPolicy) {
	t.Helper()
	loadBalancer(t, c, "web")
	createSpec(t, c, func(cn *v1alpha1.ClusterNetworking) { cn.Spec.DeletionPolicy = policy })
	eventually(t, 90*time.Second, "every component applied", func() error {
		cn := getCN(t, c)
		if !slices.Contains(cn.Finalizers, "networking.wharf.dev/cleanup") {
			return fmt.Errorf("finalizers %v", cn.Finalizers)
		}
		for _, o := range []struct {
			obj      client.Object
			ns, name string
		}{{&appsv1.Deployment{}, kubeSystem, "coredns"}, {&corev1.Service{}, kubeSystem, "kube-dns"}, {&appsv1.Deployment{}, kubeSystem, "traefik"}} {
			if err := getObject(c, o.obj, o.ns, o.name); err != nil {
				return err
			}
		}
		if len(svclbDaemonSets(t, c)) != 1 {
			return fmt.Errorf("no svclb DaemonSet yet")
		}
		svc := &corev1.Service{}
		if err := getObject(c, svc, "default", "web"); err != nil {
			return err
		}
		if !slices.Contains(svc.Finalizers, "service.kubernetes.io/load-balancer-cleanup") {
			return fmt.Errorf("the Service has no finalizer yet")
		}
		return nil
	})
}

func waitGone(t *testing.T, c client.Client, what string, obj client.Object, ns, name string) {
	t.Helper()
	eventually(t, 60*time.Second, what+" gone", func() error {
		if err := getObject(c, obj, ns, name); !apierrors.IsNotFound(err) {
			return fmt.Errorf("still there (%v)", err)
		}
		return nil
	})
}

// TestSafetyDeleteOrphans: deleting the ClusterNetworking with the default
// policy leaves CoreDNS, kube-dns, Traefik and the svclb DaemonSets
// running, without owner references, and releases the Services'
// finalizers so that they can be deleted without wharf.
func TestSafetyDeleteOrphans(t *testing.T) {
	env := testenv.Start(t)
	c := env.Client
	startRealManager(t, env.Config)
	deployed(t, c, "")
	if err := c.Delete(context.Background(), getCN(t, c)); err != nil {
		t.Fatal(err)
	}
	waitGone(t, c, "the ClusterNetworking", &v1alpha1.ClusterNetworking{}, "", v1alpha1.SingletonName)
	time.Sleep(3 * time.Second)
	for _, o := range []struct {
		obj      client.Object
		ns, name string
	}{{&appsv1.Deployment{}, kubeSystem, "coredns"}, {&corev1.Service{}, kubeSystem, "kube-dns"}, {&corev1.ConfigMap{}, kubeSystem, "coredns"}, {&appsv1.Deployment{}, kubeSystem, "traefik"}} {
		if err := getObject(c, o.obj, o.ns, o.name); err != nil {
			t.Errorf("%T %s/%s after deleting the ClusterNetworking: %v", o.obj, o.ns, o.name, err)
			continue
		}
		if len(o.obj.GetOwnerReferences()) > 0 {
			t.Errorf("%T %s/%s has owner references %v", o.obj, o.ns, o.name, o.obj.GetOwnerReferences())
		}
	}
	if n := len(svclbDaemonSets(t, c)); n != 1 {
		t.Errorf("%d svclb DaemonSets after deleting the ClusterNetworking, want the 1 left serving", n)
	}
	if err := c.Delete(context.Background(), &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, c, "the Service", &corev1.Service{}, "default", "web")
}

// TestSafetyDeletePolicyDelete: with deletionPolicy Delete, deleting the
// ClusterNetworking deletes what wharf created and releases what it
// adopted (kube-dns, created by kubeadm, stays on its IP).
func TestSafetyDeletePolicyDelete(t *testing.T) {
	env := testenv.Start(t)
	c := env.Client
	kubeadmDNS(t, c)
	startRealManager(t, env.Config)
	deployed(t, c, v1alpha1.DeletionPolicyDelete)
	if err := c.Delete(context.Background(), getCN(t, c)); err != nil {
		t.Fatal(err)
	}
	waitGone(t, c, "the ClusterNetworking", &v1alpha1.ClusterNetworking{}, "", v1alpha1.SingletonName)
	for _, o := range []struct {
		obj      client.Object
		ns, name string
	}{{&appsv1.Deployment{}, kubeSystem, "coredns"}, {&appsv1.Deployment{}, kubeSystem, "traefik"}, {&corev1.ServiceAccount{}, kubeSystem, "coredns"}} {
		if err := getObject(c, o.obj, o.ns, o.name); !apierrors.IsNotFound(err) {
			t.Errorf("%T %s/%s, which wharf created, is still there (%v)", o.obj, o.ns, o.name, err)
		}
	}
	if n := len(svclbDaemonSets(t, c)); n != 0 {
		t.Errorf("%d svclb DaemonSets left", n)
	}
	svc := &corev1.Service{}
	if err := getObject(c, svc, kubeSystem, "kube-dns"); err != nil {
		t.Fatalf("kube-dns, which kubeadm created, was deleted: %v", err)
	}
	if svc.Spec.ClusterIP != "10.43.0.10" || isWharfs(svc.Labels) {
		t.Errorf("kube-dns: cluster IP %s, labels %v", svc.Spec.ClusterIP, svc.Labels)
	}
	if err := c.Delete(context.Background(), &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, c, "the Service", &corev1.Service{}, "default", "web")
}

// TestSafetyCRDDeletionOrphans: deleting the CustomResourceDefinition with
// the manager running deletes the resource, which goes as with the
// default policy.
func TestSafetyCRDDeletionOrphans(t *testing.T) {
	env := testenv.Start(t)
	c := env.Client
	startRealManager(t, env.Config)
	deployed(t, c, "")
	crd := &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: "clusternetworkings.networking.wharf.dev"}}
	if err := c.Delete(context.Background(), crd); err != nil {
		t.Fatal(err)
	}
	waitGone(t, c, "the CRD", &apiextensionsv1.CustomResourceDefinition{}, "", crd.Name)
	for _, o := range []struct {
		obj      client.Object
		ns, name string
	}{{&appsv1.Deployment{}, kubeSystem, "coredns"}, {&corev1.Service{}, kubeSystem, "kube-dns"}, {&appsv1.Deployment{}, kubeSystem, "traefik"}} {
		if err := getObject(c, o.obj, o.ns, o.name); err != nil {
			t.Errorf("%T %s/%s after deleting the CRD: %v", o.obj, o.ns, o.name, err)
		}
	}
	if n := len(svclbDaemonSets(t, c)); n != 1 {
		t.Errorf("%d svclb DaemonSets after deleting the CRD, want 1", n)
	}
	svc := &corev1.Service{}
	if err := getObject(c, svc, "default", "web"); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(svc.Finalizers, "service.kubernetes.io/load-balancer-cleanup") {
		t.Errorf("the Service keeps ServiceLB's finalizer after the CRD was deleted")
	}
}
