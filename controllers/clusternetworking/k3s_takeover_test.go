package clusternetworking_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/internal/apply"
	"github.com/wharf-dev/wharf/internal/testenv"
	"github.com/wharf-dev/wharf/test/k3s"
)

// k3sWitness is a ConfigMap K3s's manifest holds and wharf knows nothing
// of: disabling really deletes what is still K3s's.
func k3sWitness() *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: "k3s-only-witness", Namespace: kubeSystem},
		Data:       map[string]string{"note": "applied by K3s, unknown to wharf"},
	}
}

// TestK3sDisableAfterTakeOverKeepsCoreDNS: wharf takes over the CoreDNS K3s
// deployed; K3s disabling CoreDNS afterwards (k3s --disable coredns) then
// deletes nothing wharf runs: the Deployment keeps its UID and kube-dns its
// IP.
func TestK3sDisableAfterTakeOverKeepsCoreDNS(t *testing.T) {
	env := testenv.Start(t)
	c := env.Client
	k3sDeploy, err := k3s.NewDeployer(env.Config, "coredns")
	if err != nil {
		t.Fatal(err)
	}
	if err := k3sDeploy.Apply(append(k3s.CoreDNS("10.43.0.10", "10.0.0.11 server-0\n"), k3sWitness())...); err != nil {
		t.Fatalf("K3s's deploy controller applies CoreDNS: %v", err)
	}
	before := &appsv1.Deployment{}
	if err := getObject(c, before, kubeSystem, "coredns"); err != nil {
		t.Fatal(err)
	}
	if !k3s.Marked(before.Labels) {
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
	if err := k3sDeploy.Disable(); err != nil {
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
