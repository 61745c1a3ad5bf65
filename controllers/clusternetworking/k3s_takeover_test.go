package clusternetworking_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	wapply "github.com/rancher/wrangler/v3/pkg/apply"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/internal/apply"
	"github.com/wharf-dev/wharf/internal/testenv"
)

// K3s's deploy controller applies each packaged manifest with wrangler's
// apply package, owned by an Addon of the manifest's name, and disables a
// component by applying an empty set for that Addon: every object the
// set's hash label selects is deleted. wrangler itself stands in for K3s
// here (a test-only dependency).

// k3sAddon is the Addon K3s tracks its CoreDNS manifest with.
func k3sAddon(name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("k3s.cattle.io/v1")
	u.SetKind("Addon")
	u.SetNamespace(kubeSystem)
	u.SetName(name)
	return u
}

// k3sDeploy returns what K3s's deploy controller applies with for addon.
func k3sDeploy(t *testing.T, cfg *rest.Config, addon string) wapply.Apply {
	t.Helper()
	a, err := wapply.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("wrangler apply: %v", err)
	}
	return a.WithDynamicLookup().WithOwner(k3sAddon(addon))
}

// k3sCoreDNS returns CoreDNS as K3s's manifest deploys it (the objects
// wharf adopts), and a ConfigMap wharf knows nothing of, as a witness
// that disabling really deletes what is still K3s's.
func k3sCoreDNS() []runtime.Object {
	dnsLabels := map[string]string{"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"}
	corefile := `.:53 {
    errors
    health
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
      pods insecure
      fallthrough in-addr.arpa ip6.arpa
    }
    hosts /etc/coredns/NodeHosts {
      ttl 60
      reload 15s
      fallthrough
    }
    prometheus :9153
    forward . /etc/resolv.conf
    cache 30
    loop
    reload
    loadbalance
    import /etc/coredns/custom/*.override
}
import /etc/coredns/custom/*.server
`
	return []runtime.Object{
		&corev1.ServiceAccount{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
			ObjectMeta: metav1.ObjectMeta{Name: "coredns", Namespace: kubeSystem},
		},
		&corev1.ConfigMap{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: metav1.ObjectMeta{Name: "coredns", Namespace: kubeSystem},
			Data:       map[string]string{"Corefile": corefile, "NodeHosts": "10.0.0.11 server-0\n"},
		},
		&appsv1.Deployment{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: metav1.ObjectMeta{Name: "coredns", Namespace: kubeSystem, Labels: dnsLabels},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}},
				Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
					RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: ptr.To(intstr.FromInt32(1))}},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"k8s-app": "kube-dns"}},
					Spec: corev1.PodSpec{
						ServiceAccountName: "coredns",
						PriorityClassName:  "system-cluster-critical",
						NodeSelector:       map[string]string{"kubernetes.io/os": "linux"},
						Containers: []corev1.Container{{
							Name:  "coredns",
							Image: "rancher/mirrored-coredns-coredns:1.12.0",
							Args:  []string{"-conf", "/etc/coredns/Corefile"},
							Ports: []corev1.ContainerPort{
								{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP},
								{Name: "dns-tcp", ContainerPort: 53, Protocol: corev1.ProtocolTCP},
								{Name: "metrics", ContainerPort: 9153, Protocol: corev1.ProtocolTCP},
							},
							VolumeMounts: []corev1.VolumeMount{
								{Name: "config-volume", MountPath: "/etc/coredns", ReadOnly: true},
								{Name: "custom-config-volume", MountPath: "/etc/coredns/custom", ReadOnly: true},
							},
						}},
						Volumes: []corev1.Volume{
							{Name: "config-volume", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
								LocalObjectReference: corev1.LocalObjectReference{Name: "coredns"},
								Items:                []corev1.KeyToPath{{Key: "Corefile", Path: "Corefile"}, {Key: "NodeHosts", Path: "NodeHosts"}},
							}}},
							{Name: "custom-config-volume", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
								LocalObjectReference: corev1.LocalObjectReference{Name: "coredns-custom"}, Optional: ptr.To(true),
							}}},
						},
					},
				},
			},
		},
		&corev1.Service{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
			ObjectMeta: metav1.ObjectMeta{Name: "kube-dns", Namespace: kubeSystem,
				Labels:      map[string]string{"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"},
				Annotations: map[string]string{"prometheus.io/port": "9153", "prometheus.io/scrape": "true"}},
			Spec: corev1.ServiceSpec{
				Selector:  map[string]string{"k8s-app": "kube-dns"},
				ClusterIP: "10.43.0.10",
				Ports: []corev1.ServicePort{
					{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(53)},
					{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(53)},
					{Name: "metrics", Port: 9153, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(9153)},
				},
			},
		},
		&corev1.ConfigMap{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: metav1.ObjectMeta{Name: "k3s-only-witness", Namespace: kubeSystem},
			Data:       map[string]string{"note": "applied by K3s, unknown to wharf"},
		},
	}
}

// TestK3sDisableAfterTakeOverKeepsCoreDNS: wharf takes over the CoreDNS K3s
// deployed; K3s disabling CoreDNS afterwards (k3s --disable coredns) then
// deletes nothing wharf runs: the Deployment keeps its UID and kube-dns its
// IP.
func TestK3sDisableAfterTakeOverKeepsCoreDNS(t *testing.T) {
	env := testenv.Start(t)
	c := env.Client
	k3s := k3sDeploy(t, env.Config, "coredns")
	objs := k3sCoreDNS()
	gvks := map[schema.GroupVersionKind]bool{}
	for _, o := range objs {
		gvks[o.GetObjectKind().GroupVersionKind()] = true
	}
	if err := k3s.ApplyObjects(objs...); err != nil {
		t.Fatalf("K3s's deploy controller applies CoreDNS: %v", err)
	}
	before := &appsv1.Deployment{}
	if err := getObject(c, before, kubeSystem, "coredns"); err != nil {
		t.Fatal(err)
	}
	if before.Labels[wapply.LabelHash] == "" {
		t.Fatalf("wrangler did not mark the Deployment: labels %v", before.Labels)
	}

	startRealManager(t, env.Config)
	createSpec(t, c, func(cn *v1alpha1.ClusterNetworking) {
		cn.Spec.Traefik.Enabled = ptr.To(false)
		cn.Spec.ServiceLB.Enabled = ptr.To(false)
	})
	adopted := []struct {
		obj  client.Object
		name string
	}{{&corev1.ServiceAccount{}, "coredns"}, {&corev1.ConfigMap{}, "coredns"}, {&appsv1.Deployment{}, "coredns"}, {&corev1.Service{}, "kube-dns"}}
	eventually(t, 90*time.Second, "CoreDNS taken over", func() error {
		if err := describedBy(getCN(t, c), v1alpha1.ConditionCoreDNSReady); err != nil {
			return err
		}
		for _, o := range adopted {
			if err := getObject(c, o.obj, kubeSystem, o.name); err != nil {
				return err
			}
			if o.obj.GetLabels()[apply.ComponentLabel] != "coredns" || o.obj.GetAnnotations()[originAnnotation] != "adopted" {
				return fmt.Errorf("%T %s not adopted yet: labels %v annotations %v", o.obj, o.name, o.obj.GetLabels(), o.obj.GetAnnotations())
			}
			if m := objectSetMarkers(o.obj); len(m) > 0 {
				return fmt.Errorf("%T %s still carries K3s's markers %v", o.obj, o.name, m)
			}
		}
		return nil
	})

	uids := map[string]types.UID{}
	for _, o := range adopted {
		uids[fmt.Sprintf("%T/%s", o.obj, o.name)] = o.obj.GetUID()
	}

	// k3s --disable coredns: an empty set for the same Addon, over the
	// kinds its manifest held.
	var kinds []schema.GroupVersionKind
	for gvk := range gvks {
		kinds = append(kinds, gvk)
	}
	if err := k3s.WithGVK(kinds...).ApplyObjects(); err != nil {
		t.Fatalf("K3s disables CoreDNS: %v", err)
	}
	if err := getObject(c, &corev1.ConfigMap{}, kubeSystem, "k3s-only-witness"); !apierrors.IsNotFound(err) {
		t.Fatalf("the stand-in for k3s --disable did not delete what is still K3s's (err %v): the test proves nothing", err)
	}

	// Nothing wharf runs was deleted, not even for a moment: each object
	// is the one adopted (wharf would recreate a deleted one under a new
	// UID), now and a little later.
	for _, wait := range []time.Duration{0, 2 * time.Second} {
		time.Sleep(wait)
		for _, o := range adopted {
			if err := getObject(c, o.obj, kubeSystem, o.name); err != nil {
				t.Errorf("%T %s after k3s --disable: %v", o.obj, o.name, err)
				continue
			}
			if o.obj.GetDeletionTimestamp() != nil {
				t.Errorf("%T %s is being deleted", o.obj, o.name)
			}
			if id := fmt.Sprintf("%T/%s", o.obj, o.name); o.obj.GetUID() != uids[id] {
				t.Errorf("%s was deleted and created again: UID %s, was %s", id, o.obj.GetUID(), uids[id])
			}
		}
	}
	after := &appsv1.Deployment{}
	if err := getObject(c, after, kubeSystem, "coredns"); err == nil && after.UID != before.UID {
		t.Errorf("the coredns Deployment was replaced: UID %s, was %s", after.UID, before.UID)
	}
	svc := &corev1.Service{}
	if err := getObject(c, svc, kubeSystem, "kube-dns"); err == nil && svc.Spec.ClusterIP != "10.43.0.10" {
		t.Errorf("kube-dns moved to %s", svc.Spec.ClusterIP)
	}
	cn := getCN(t, c)
	if cn.Status.Inventory == nil {
		t.Errorf("the inventory is empty after k3s --disable")
	}
}

// objectSetMarkers lists the objectset labels and annotations on obj.
func objectSetMarkers(obj client.Object) []string {
	var out []string
	for k := range obj.GetLabels() {
		if strings.HasPrefix(k, "objectset.rio.cattle.io/") {
			out = append(out, k)
		}
	}
	for k := range obj.GetAnnotations() {
		if strings.HasPrefix(k, "objectset.rio.cattle.io/") {
			out = append(out, k)
		}
	}
	return out
}
