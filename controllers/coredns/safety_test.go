package coredns_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/clusternetworking"
	"github.com/wharf-dev/wharf/controllers/component"
	"github.com/wharf-dev/wharf/controllers/coredns"
	"github.com/wharf-dev/wharf/internal/apply"
	"github.com/wharf-dev/wharf/internal/testenv"
)

// TestKubeDNSKeepsItsIP runs the manager against a real API server: an
// adopted kube-dns on 10.43.0.53 that anyone deletes comes back on
// 10.43.0.53, never on the default 10.43.0.10; while another Service holds
// that IP, CoreDNSReady is False with reason ClusterIPUnavailable naming
// it, and nothing is created elsewhere. It also checks that the replica
// count is left to `kubectl scale` unless the spec sets it.
func TestKubeDNSKeepsItsIP(t *testing.T) {
	env := testenv.Start(t)
	c := env.Client
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	createForeignKubeDNS(ctx, t, c, "10.43.0.53")
	createNode(ctx, t, c, "master01", "10.0.0.51")
	stop := testenv.StartManager(t, env.Config)
	must(t, c.Create(ctx, seedsCR()))
	waitCR(ctx, t, c, "kube-dns recorded", func(cn *v1alpha1.ClusterNetworking) error {
		if st := cn.Status.CoreDNS; st == nil || st.ClusterIP != "10.43.0.53" || strings.Join(st.ClusterIPs, ",") != "10.43.0.53" {
			return fmt.Errorf("status.coredns = %+v", st)
		}
		return nil
	})

	outer := t
	t.Run("a deleted kube-dns comes back on its IP", func(t *testing.T) {
		old := getKubeDNS(ctx, t, c)
		must(t, c.Delete(ctx, old))
		svc := waitKubeDNS(ctx, t, c, func(svc *corev1.Service) error {
			if svc.UID == old.UID {
				return fmt.Errorf("not deleted yet")
			}
			return nil
		})
		if svc.Spec.ClusterIP != "10.43.0.53" {
			t.Fatalf("kube-dns came back on %s, want 10.43.0.53", svc.Spec.ClusterIP)
		}
		if svc.Spec.IPFamilyPolicy == nil || *svc.Spec.IPFamilyPolicy != corev1.IPFamilyPolicySingleStack {
			t.Errorf("ipFamilyPolicy %v, want SingleStack", svc.Spec.IPFamilyPolicy)
		}
		// The record is kept, whatever the cache showed meanwhile.
		cn := &v1alpha1.ClusterNetworking{}
		must(t, c.Get(ctx, client.ObjectKey{Name: v1alpha1.SingletonName}, cn))
		if st := cn.Status.CoreDNS; st == nil || st.ClusterIP != "10.43.0.53" {
			t.Errorf("status.coredns = %+v", st)
		}
	})

	t.Run("an IP held by another Service is reported, not replaced", func(t *testing.T) {
		stop() // no reconcile between the deletion and the squatter
		must(t, c.Delete(ctx, getKubeDNS(ctx, t, c)))
		waitFor(ctx, t, "kube-dns gone", func() error {
			svc := &corev1.Service{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: coredns.ServiceName}, svc); err == nil {
				return fmt.Errorf("still there")
			}
			return nil
		})
		squatter := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "squatter", Namespace: "default"},
			Spec:       corev1.ServiceSpec{ClusterIP: "10.43.0.53", Ports: []corev1.ServicePort{{Port: 80}}},
		}
		must(t, c.Create(ctx, squatter))
		testenv.StartManager(outer, env.Config) // runs on after this subtest
		cn := waitCR(ctx, t, c, "ClusterIPUnavailable", func(cn *v1alpha1.ClusterNetworking) error {
			return wantCondition(cn, v1alpha1.ConditionCoreDNSReady, metav1.ConditionFalse, coredns.ReasonClusterIPUnavailable)
		})
		msg := meta.FindStatusCondition(cn.Status.Conditions, v1alpha1.ConditionCoreDNSReady).Message
		for _, want := range []string{"10.43.0.53", "default/squatter"} {
			if !strings.Contains(msg, want) {
				t.Errorf("the condition does not name %s: %s", want, msg)
			}
		}
		if err := wantCondition(cn, v1alpha1.ConditionReady, metav1.ConditionFalse, ""); err != nil {
			t.Error(err)
		}
		if st := cn.Status.CoreDNS; st == nil || st.ClusterIP != "10.43.0.53" {
			t.Errorf("the record changed: status.coredns = %+v", st)
		}
		svc := &corev1.Service{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: coredns.ServiceName}, svc); err == nil {
			t.Fatalf("kube-dns was created on %s", svc.Spec.ClusterIP)
		}

		// No event reaches wharf: its retries, backing off, find the IP free.
		must(t, c.Delete(ctx, squatter))
		waitForWithin(ctx, t, "kube-dns back", 2*time.Minute, func() error {
			return c.Get(ctx, client.ObjectKey{Namespace: ns, Name: coredns.ServiceName}, svc)
		})
		if svc.Spec.ClusterIP != "10.43.0.53" {
			t.Fatalf("kube-dns came back on %s, want 10.43.0.53", svc.Spec.ClusterIP)
		}
	})

	t.Run("replicas are left to kubectl scale unless set", func(t *testing.T) {
		d := &appsv1.Deployment{}
		must(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: coredns.DeploymentName}, d))
		// As `kubectl scale` does, under a field manager of its own.
		must(t, c.Patch(ctx, d, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"replicas":3}}`)), client.FieldOwner("kubectl")))
		updateCR(ctx, t, c, func(cn *v1alpha1.ClusterNetworking) {
			cn.Spec.CoreDNS.ExtraHosts = append(cn.Spec.CoreDNS.ExtraHosts, v1alpha1.HostEntry{IP: "10.0.0.52", Hostnames: []v1alpha1.Hostname{"b.test.org"}})
		})
		waitConfigMap(ctx, t, c, func(cm *corev1.ConfigMap) error {
			if !strings.Contains(cm.Data[coredns.CorefileKey], "b.test.org") {
				return fmt.Errorf("not reconciled yet")
			}
			return nil
		})
		waitCR(ctx, t, c, "reconciled", func(*v1alpha1.ClusterNetworking) error { return nil })
		must(t, c.Get(ctx, client.ObjectKeyFromObject(d), d))
		if got := ptr.Deref(d.Spec.Replicas, 0); got != 3 {
			t.Fatalf("replicas %d after a reconcile, want the 3 kubectl scale set", got)
		}
		updateCR(ctx, t, c, func(cn *v1alpha1.ClusterNetworking) { cn.Spec.CoreDNS.Replicas = ptr.To[int32](2) })
		waitFor(ctx, t, "replicas 2 from the spec", func() error {
			must(t, c.Get(ctx, client.ObjectKeyFromObject(d), d))
			if got := ptr.Deref(d.Spec.Replicas, 0); got != 2 {
				return fmt.Errorf("replicas %d", got)
			}
			return nil
		})
		if d.Spec.Strategy.RollingUpdate == nil || d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue() != 0 ||
			d.Spec.Strategy.RollingUpdate.MaxSurge.IntValue() != 1 {
			t.Errorf("strategy %+v, want maxUnavailable 0 and maxSurge 1", d.Spec.Strategy.RollingUpdate)
		}
		crb := &rbacv1.ClusterRoleBinding{}
		must(t, c.Get(ctx, client.ObjectKey{Name: coredns.ClusterRoleName}, crb))
		if crb.Annotations["rbac.authorization.kubernetes.io/autoupdate"] != "true" {
			t.Errorf("ClusterRoleBinding annotations %v", crb.Annotations)
		}
	})
}

func getKubeDNS(ctx context.Context, t *testing.T, c client.Client) *corev1.Service {
	t.Helper()
	svc := &corev1.Service{}
	must(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: coredns.ServiceName}, svc))
	return svc
}

func waitKubeDNS(ctx context.Context, t *testing.T, c client.Client, check func(*corev1.Service) error) *corev1.Service {
	t.Helper()
	svc := &corev1.Service{}
	waitFor(ctx, t, "kube-dns", func() error {
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: coredns.ServiceName}, svc); err != nil {
			return err
		}
		return check(svc)
	})
	return svc
}

// TestKubeDNSRecordOutlivesALaggingCache: the manager's cache can still
// show the ClusterNetworking as it was before the reconciler's own last
// status write (the watch event is on its way) when the next reconcile
// starts. kube-dns deleted at that moment must come back on the IP that
// write recorded, and the record must stay: a reconcile that took the
// cached resource, with no record yet, re-created kube-dns on the default
// 10.43.0.10 and recorded that.
func TestKubeDNSRecordOutlivesALaggingCache(t *testing.T) {
	env := testenv.Start(t)
	c := env.Client
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	createForeignKubeDNS(ctx, t, c, "10.43.0.53")
	createNode(ctx, t, c, "master01", "10.0.0.51")
	created := seedsCR()
	created.Finalizers = []string{clusternetworking.Finalizer}
	must(t, c.Create(ctx, created))

	// The cache as it lags: it keeps showing the resource as created.
	cache := &laggingCache{Client: c, cn: created.DeepCopy()}
	deps := component.Deps{Client: cache, Reader: c, Applier: apply.New(cache, c, component.FieldManager)}
	r := &clusternetworking.Reconciler{Client: cache, Reader: c, Applier: deps.Applier, Components: []component.Component{coredns.New(deps)}}
	reconcile := func() {
		t.Helper()
		_, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: types.NamespacedName{Name: v1alpha1.SingletonName}})
		must(t, err)
	}

	reconcile()
	recorded := func(when string) {
		t.Helper()
		cn := &v1alpha1.ClusterNetworking{}
		must(t, c.Get(ctx, client.ObjectKey{Name: v1alpha1.SingletonName}, cn))
		if st := cn.Status.CoreDNS; st == nil || strings.Join(st.ClusterIPs, ",") != "10.43.0.53" {
			t.Fatalf("%s: status.coredns = %+v, want 10.43.0.53 recorded", when, st)
		}
	}
	recorded("after the first reconcile")

	must(t, c.Delete(ctx, getKubeDNS(ctx, t, c)))
	reconcile()
	if svc := getKubeDNS(ctx, t, c); svc.Spec.ClusterIP != "10.43.0.53" {
		t.Fatalf("kube-dns came back on %s, want 10.43.0.53", svc.Spec.ClusterIP)
	}
	recorded("after kube-dns came back")
}

// laggingCache serves the ClusterNetworking as it was when the cache last
// caught up, and everything else as it is.
type laggingCache struct {
	client.Client
	cn *v1alpha1.ClusterNetworking
}

func (l *laggingCache) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if cn, ok := obj.(*v1alpha1.ClusterNetworking); ok {
		l.cn.DeepCopyInto(cn)
		return nil
	}
	return l.Client.Get(ctx, key, obj, opts...)
}
