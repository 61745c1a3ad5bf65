package servicelb_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/servicelb"
	"github.com/wharf-dev/wharf/internal/testenv"
)

const portsMessage = "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports."

// TestServiceReconciler runs the manager against a real API server. envtest
// has no DaemonSet controller, scheduler or kubelet: the test creates the
// svclb pods and sets their status itself.
func TestServiceReconciler(t *testing.T) {
	env := testenv.Start(t)
	c := env.Client
	// Both nodes opt in with enablelb, so that the lbpool label narrows
	// placement (as in K3s, only under the enablelb rule).
	enableLB := map[string]string{servicelb.EnableLBLabel: "true"}
	createNode(t, c, "master01", "10.0.0.51", enableLB)
	createNode(t, c, "master02", "10.0.0.52", enableLB)
	createClusterNetworking(t, c)
	cfg, counter := testenv.Counting(env.Config)
	stop := testenv.StartManager(t, cfg)

	nginx := createService(t, c, lbService("nginx", 8888, nil))
	ds := waitDaemonSet(t, c, nginx)
	t.Run("daemonset and finalizer", func(t *testing.T) {
		checkNginxDaemonSet(t, c, ds)
		waitFinalizer(t, c, "nginx", true)
	})
	t.Run("ingress from ready svclb pods", func(t *testing.T) {
		counter.Reset()
		svclbPod(t, c, ds, "master02", "")
		waitIngress(t, c, "nginx", "10.0.0.52")
		// The condition comes in the ingress's own write.
		wantCondition(t, c, "nginx", metav1.ConditionTrue, servicelb.ReasonServing, "10.0.0.52")
		if n := writesTo(counter, "/services/nginx/status"); n != 1 {
			t.Errorf("%d status writes for the first ingress, want 1 (ingress and condition in one):\n%s", n, counter.WritePaths())
		}
		svclbPod(t, c, ds, "master01", "")
		waitIngress(t, c, "nginx", "10.0.0.51", "10.0.0.52")
		wantCondition(t, c, "nginx", metav1.ConditionTrue, servicelb.ReasonServing, "10.0.0.51, 10.0.0.52")
		waitEvent(t, c, "nginx", servicelb.ReasonUpdatedLoadBalancer, "10.0.0.51 10.0.0.52")
		waitStatus(t, c, "1 service ready", func(cn *v1alpha1.ClusterNetworking) error {
			return wantSummary(cn, 1, 1, 0, "1 service served (1 with ingress), 0 pending")
		})
	})
	t.Run("nothing to change sends no write", func(t *testing.T) {
		counter.Reset()
		annotate(t, c, "nginx", "touched", "1")
		time.Sleep(2 * time.Second)
		if n := counter.Writes(); n != 0 {
			t.Errorf("%d writes after a change that needs none:\n%s", n, counter.WritePaths())
		}
	})
	t.Run("a hand edit of the daemonset is reverted", func(t *testing.T) {
		live := waitDaemonSet(t, c, nginx)
		want := live.Spec.Template.Spec.Containers[0].Image
		live.Spec.Template.Spec.Containers[0].Image = "example.com/edited:1"
		if err := c.Update(context.Background(), live, client.FieldOwner("kubectl-edit")); err != nil {
			t.Fatal(err)
		}
		eventually(t, "image "+want+" back", func(ctx context.Context) error {
			ds := &appsv1.DaemonSet{}
			if err := c.Get(ctx, client.ObjectKeyFromObject(live), ds); err != nil {
				return err
			}
			if got := ds.Spec.Template.Spec.Containers[0].Image; got != want {
				return fmt.Errorf("image %s", got)
			}
			return nil
		})
	})
	t.Run("a deleted daemonset comes back", func(t *testing.T) {
		live := waitDaemonSet(t, c, nginx)
		if err := c.Delete(context.Background(), live); err != nil {
			t.Fatal(err)
		}
		eventually(t, "a new daemonset", func(ctx context.Context) error {
			ds := &appsv1.DaemonSet{}
			if err := c.Get(ctx, client.ObjectKeyFromObject(live), ds); err != nil {
				return err
			}
			if ds.UID == live.UID {
				return fmt.Errorf("not deleted yet")
			}
			return nil
		})
	})
	t.Run("port taken on every eligible node", func(t *testing.T) {
		web2 := createService(t, c, lbService("web2", 8888, nil))
		ds2 := waitDaemonSet(t, c, web2)
		svclbPod(t, c, ds2, "master01", portsMessage)
		svclbPod(t, c, ds2, "master02", portsMessage)
		want := "port 8888/TCP is already in use on every eligible node (master01, master02), held by the svclb pods of default/nginx"
		waitStatus(t, c, "web2 pending", func(cn *v1alpha1.ClusterNetworking) error {
			return wantPending(cn, "web2", want)
		})
		// The tenant reads why on the Service itself.
		wantCondition(t, c, "web2", metav1.ConditionFalse, servicelb.ReasonPending, want)
		// The Events API keeps the first note of a series: an earlier reason
		// (one pod not marked yet) may be what the Event says.
		waitEvent(t, c, "web2", servicelb.ReasonUnAvailableLoadBalancer, "port 8888/TCP is already in use on every eligible node")
	})
	t.Run("no eligible node", func(t *testing.T) {
		createService(t, c, lbService("web3", 9000, map[string]string{servicelb.LBPoolLabel: "nowhere"}))
		want := "no node is eligible: no node has svccontroller.k3s.cattle.io/enablelb=true,svccontroller.k3s.cattle.io/lbpool=nowhere"
		waitStatus(t, c, "web3 pending", func(cn *v1alpha1.ClusterNetworking) error {
			if err := wantPending(cn, "web3", want); err != nil {
				return err
			}
			return wantSummary(cn, 3, 1, 2, "3 services served (1 with ingress), 2 pending")
		})
		waitEvent(t, c, "web3", servicelb.ReasonUnAvailableLoadBalancer, want)
	})
	parent := t
	t.Run("restart keeps daemonsets and finalizers", func(t *testing.T) {
		stop()
		restarted, restartCounter := testenv.Counting(env.Config)
		testenv.StartManager(parent, restarted)
		time.Sleep(3 * time.Second)
		// Nothing changed while the manager was down: the restarted one,
		// all of whose caches start empty (Applier, node snapshot, build
		// memo, staleness guard, holds), writes nothing, its
		// ClusterNetworking status included, and records no Event again:
		// the pending Services' conditions already say why.
		if n := restartCounter.Writes(); n != 0 {
			t.Errorf("%d writes after a restart with nothing to change:\n%s", n, restartCounter.WritePaths())
		}
		list := &appsv1.DaemonSetList{}
		if err := c.List(context.Background(), list, client.HasLabels{servicelb.SvcNameLabel}); err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 3 {
			t.Errorf("%d svclb daemonsets after the restart, want 3", len(list.Items))
		}
		for _, name := range []string{"nginx", "web2", "web3"} {
			waitFinalizer(t, c, name, true)
		}
		waitIngress(t, c, "nginx", "10.0.0.51", "10.0.0.52")
	})
	t.Run("a change to ClusterIP cleans up", func(t *testing.T) {
		web2, err := getService(context.Background(), c, "web2")
		if err != nil {
			t.Fatal(err)
		}
		base := web2.DeepCopy()
		web2.Spec.Type = corev1.ServiceTypeClusterIP
		if err := c.Patch(context.Background(), web2, client.MergeFrom(base)); err != nil {
			t.Fatal(err)
		}
		waitDaemonSetGone(t, c, web2)
		waitFinalizer(t, c, "web2", false)
		waitEvent(t, c, "web2", servicelb.ReasonDeletedDaemonSet, servicelb.DaemonSetName(web2))
	})
	t.Run("deleting a service deletes its daemonset", func(t *testing.T) {
		web3, err := getService(context.Background(), c, "web3")
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Delete(context.Background(), web3); err != nil {
			t.Fatal(err)
		}
		waitDaemonSetGone(t, c, web3)
		eventually(t, "web3 gone", func(ctx context.Context) error {
			if _, err := getService(ctx, c, "web3"); !apierrors.IsNotFound(err) {
				return fmt.Errorf("still there (err %v)", err)
			}
			return nil
		})
	})
	t.Run("disabling removes daemonsets, finalizers and ingress", func(t *testing.T) {
		setServiceLB(t, c, false)
		waitDaemonSetGone(t, c, nginx)
		waitFinalizer(t, c, "nginx", false)
		waitIngress(t, c, "nginx")
		waitStatus(t, c, "ServiceLBReady Disabled", func(cn *v1alpha1.ClusterNetworking) error {
			cond := meta.FindStatusCondition(cn.Status.Conditions, v1alpha1.ConditionServiceLBReady)
			if cond == nil || cond.Reason != v1alpha1.ReasonDisabled || cn.Status.ServiceLB != nil {
				return fmt.Errorf("condition %+v, serviceLB %+v", cond, cn.Status.ServiceLB)
			}
			return nil
		})
	})
	t.Run("enabling serves again", func(t *testing.T) {
		setServiceLB(t, c, true)
		waitDaemonSet(t, c, nginx)
		waitFinalizer(t, c, "nginx", true)
		waitIngress(t, c, "nginx", "10.0.0.51", "10.0.0.52")
	})
	t.Run("the last service gone reports none", func(t *testing.T) {
		waitStatus(t, c, "1 service ready", func(cn *v1alpha1.ClusterNetworking) error {
			return wantSummary(cn, 1, 1, 0, "1 service served (1 with ingress), 0 pending")
		})
		if err := c.Delete(context.Background(), nginx); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, c, "no service served", func(cn *v1alpha1.ClusterNetworking) error {
			return wantSummary(cn, 0, 0, 0, "0 services served (0 with ingress), 0 pending")
		})
	})
}

func checkNginxDaemonSet(t *testing.T, c client.Client, ds *appsv1.DaemonSet) {
	t.Helper()
	svc, err := getService(context.Background(), c, "nginx")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		servicelb.SvcNameLabel: "nginx", servicelb.SvcNamespaceLabel: "default",
		"app.kubernetes.io/managed-by": "wharf",
	} {
		if ds.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, ds.Labels[k], v)
		}
	}
	if v, ok := ds.Labels[servicelb.NodeSelectorAnnotation]; ok {
		t.Errorf("label %s = %q: K3s deletes DaemonSets with it", servicelb.NodeSelectorAnnotation, v)
	}
	if got := ds.Annotations[servicelb.NodeSelectorAnnotation]; got != "true" {
		t.Errorf("annotation %s = %q, want true", servicelb.NodeSelectorAnnotation, got)
	}
	if len(ds.OwnerReferences) != 0 {
		t.Errorf("owner references %+v, want none (the garbage collector must never delete a svclb DaemonSet)", ds.OwnerReferences)
	}
	cs := ds.Spec.Template.Spec.Containers
	if len(cs) != 1 || cs[0].Name != "lb-tcp-8888" || cs[0].Ports[0].HostPort != 8888 {
		t.Fatalf("containers %+v", cs)
	}
	env := map[string]string{}
	for _, e := range cs[0].Env {
		env[e.Name] = e.Value
	}
	want := map[string]string{"SRC_PORT": "8888", "SRC_RANGES": "0.0.0.0/0", "DEST_PROTO": "TCP", "DEST_PORT": "8888", "DEST_IPS": svc.Spec.ClusterIP}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("env %s = %q, want %q", k, env[k], v)
		}
	}
}

func annotate(t *testing.T, c client.Client, name, key, value string) {
	t.Helper()
	svc, err := getService(context.Background(), c, name)
	if err != nil {
		t.Fatal(err)
	}
	base := svc.DeepCopy()
	if svc.Annotations == nil {
		svc.Annotations = map[string]string{}
	}
	svc.Annotations[key] = value
	if err := c.Patch(context.Background(), svc, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
}

func wantSummary(cn *v1alpha1.ClusterNetworking, services, ready int32, pending int, message string) error {
	st := cn.Status.ServiceLB
	if st == nil || st.Services != services || st.Ready != ready || len(st.Pending) != pending {
		return fmt.Errorf("status.serviceLB = %+v", st)
	}
	cond := meta.FindStatusCondition(cn.Status.Conditions, v1alpha1.ConditionServiceLBReady)
	if cond == nil || !strings.HasPrefix(cond.Message, message) {
		return fmt.Errorf("ServiceLBReady = %+v, want a message starting %q", cond, message)
	}
	return nil
}

func wantPending(cn *v1alpha1.ClusterNetworking, name, reason string) error {
	if cn.Status.ServiceLB == nil {
		return fmt.Errorf("no status.serviceLB")
	}
	for _, p := range cn.Status.ServiceLB.Pending {
		if p.Namespace == "default" && p.Name == name {
			if p.Reason != reason {
				return fmt.Errorf("reason %q, want %q", p.Reason, reason)
			}
			return nil
		}
	}
	return fmt.Errorf("pending = %+v", cn.Status.ServiceLB.Pending)
}
