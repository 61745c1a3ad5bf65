package e2e

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers"
	"github.com/wharf-dev/wharf/controllers/servicelb"
	"github.com/wharf-dev/wharf/internal/testenv"
)

// TestServiceLB runs the guide's ServiceLB scenario on kwok nodes master01
// (10.0.0.51) and master02 (10.0.0.52), with the real scheduler enforcing
// host ports: the nginx Service on port 8888 served on both nodes, the
// enablelb label narrowing it to master02, a second Service on the same
// port pending until the first is deleted, an operator restart in the
// middle, Local traffic policy, and ServiceLB turned off.
func TestServiceLB(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c := startCluster(ctx, t)
	cfg := c.Config()
	cl, err := client.New(cfg, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	stopOperator := testenv.StartManager(t, cfg)
	cn := &v1alpha1.ClusterNetworking{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.SingletonName}}
	cn.Spec.CoreDNS.Enabled = ptr.To(false)
	cn.Spec.Traefik.Enabled = ptr.To(false)
	if err := cl.Create(ctx, cn); err != nil {
		t.Fatal(err)
	}
	slbNginx(ctx, t, cl)
	nginx := slbService(ctx, t, cl, "nginx", 8888, nil)

	slbStep(t, "nginx is served on both nodes", func() {
		ds := slbDaemonSet(ctx, t, cl, nginx, nil)
		checkSeedsDaemonSet(ctx, t, cl, ds)
		slbPods(ctx, t, cl, nginx, "master01", "master02")
		slbIngress(ctx, t, cl, "nginx", "10.0.0.51", "10.0.0.52")
		slbFinalizer(ctx, t, cl, "nginx", true)
		slbStatus(ctx, t, cl, "1 service served", func(cn *v1alpha1.ClusterNetworking) error {
			return slbSummary(cn, 1, 1, 0)
		})
	})
	slbStep(t, "enablelb on master02 leaves one pod, on master02", func() {
		slbLabelNode(ctx, t, cl, "master02", servicelb.EnableLBLabel, ptr.To("true"))
		slbDaemonSet(ctx, t, cl, nginx, func(ds *appsv1.DaemonSet) error {
			if ds.Annotations[servicelb.NodeSelectorAnnotation] != "true" || ds.Spec.Template.Spec.NodeSelector[servicelb.EnableLBLabel] != "true" {
				return fmt.Errorf("annotations %v, nodeSelector %v", ds.Annotations, ds.Spec.Template.Spec.NodeSelector)
			}
			return nil
		})
		slbPods(ctx, t, cl, nginx, "master02")
		slbIngress(ctx, t, cl, "nginx", "10.0.0.52")
	})
	nginx2 := slbService(ctx, t, cl, "nginx2", 8888, nil)
	slbStep(t, "a second Service on port 8888 is pending", func() {
		slbDaemonSet(ctx, t, cl, nginx2, nil)
		slbStatus(ctx, t, cl, "nginx2 pending on port 8888", func(cn *v1alpha1.ClusterNetworking) error {
			return slbPending(cn, "nginx2", "port 8888/TCP is already in use on every eligible node (master02)", "default/nginx")
		})
		slbEvent(ctx, t, cl, "nginx2", servicelb.ReasonUnAvailableLoadBalancer, "port 8888/TCP", "master02")
		if ips, err := slbIngressIPs(ctx, cl, "nginx2"); err != nil || len(ips) != 0 {
			t.Errorf("nginx2 ingress = %v (err %v), want none", ips, err)
		}
		slbStatus(ctx, t, cl, "ServiceLBReady says 1 pending", func(cn *v1alpha1.ClusterNetworking) error {
			cond := meta.FindStatusCondition(cn.Status.Conditions, v1alpha1.ConditionServiceLBReady)
			if cond == nil || !strings.Contains(cond.Message, "2 services served (1 with ingress), 1 pending") {
				return fmt.Errorf("ServiceLBReady = %+v", cond)
			}
			return nil
		})
	})
	slbStep(t, "an operator restart creates no duplicate and keeps the finalizers", func() {
		before := slbDaemonSets(ctx, t, cl)
		stopOperator()
		testenv.StartManager(t, cfg)
		slbStatus(ctx, t, cl, "status after the restart", func(cn *v1alpha1.ClusterNetworking) error {
			return slbPending(cn, "nginx2", "port 8888/TCP is already in use on every eligible node (master02)")
		})
		time.Sleep(2 * time.Second)
		if after := slbDaemonSets(ctx, t, cl); !maps.Equal(before, after) {
			t.Errorf("svclb DaemonSets before the restart %v, after %v", before, after)
		}
		slbFinalizer(ctx, t, cl, "nginx", true)
		slbFinalizer(ctx, t, cl, "nginx2", true)
		slbIngress(ctx, t, cl, "nginx", "10.0.0.52")
	})
	slbStep(t, "deleting the first Service lets the second one in", func() {
		if err := cl.Delete(ctx, nginx); err != nil {
			t.Fatal(err)
		}
		slbDaemonSetGone(ctx, t, cl, nginx)
		slbEventually(ctx, t, "nginx deleted", func(ctx context.Context) error {
			if err := cl.Get(ctx, client.ObjectKeyFromObject(nginx), &corev1.Service{}); !apierrors.IsNotFound(err) {
				return fmt.Errorf("still there (err %v)", err)
			}
			return nil
		})
		slbPods(ctx, t, cl, nginx2, "master02")
		slbIngress(ctx, t, cl, "nginx2", "10.0.0.52")
		slbStatus(ctx, t, cl, "nothing pending", func(cn *v1alpha1.ClusterNetworking) error {
			return slbSummary(cn, 1, 1, 0)
		})
	})
	slbStep(t, "removing the enablelb label serves on both nodes again", func() {
		slbLabelNode(ctx, t, cl, "master02", servicelb.EnableLBLabel, nil)
		slbPods(ctx, t, cl, nginx2, "master01", "master02")
		slbIngress(ctx, t, cl, "nginx2", "10.0.0.51", "10.0.0.52")
	})
	slbStep(t, "a port held by other node-critical pods is pending until they go", func() {
		slbHostPortDaemonSet(ctx, t, cl, "hostport-7777", 7777)
		web := slbService(ctx, t, cl, "web7777", 7777, nil)
		slbStatus(ctx, t, cl, "web7777 pending on port 7777", func(cn *v1alpha1.ClusterNetworking) error {
			return slbPending(cn, "web7777", "port 7777/TCP is already in use on every eligible node (master01, master02)")
		})
		// The Events API keeps the first note of a series, which may name
		// one node only: the scheduler marks the pods one by one.
		slbEvent(ctx, t, cl, "web7777", servicelb.ReasonUnAvailableLoadBalancer, "port 7777/TCP is already in use")
		if err := cl.Delete(ctx, &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "hostport-7777"}}); err != nil {
			t.Fatal(err)
		}
		slbPods(ctx, t, cl, web, "master01", "master02")
		slbIngress(ctx, t, cl, "web7777", "10.0.0.51", "10.0.0.52")
		slbStatus(ctx, t, cl, "nothing pending", func(cn *v1alpha1.ClusterNetworking) error {
			return slbSummary(cn, 2, 2, 0)
		})
	})
	slbStep(t, "Local traffic policy publishes only nodes with an endpoint", func() {
		local := slbService(ctx, t, cl, "nginx-local", 9999, func(s *corev1.Service) {
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		})
		node := slbNginxNode(ctx, t, cl)
		slbPods(ctx, t, cl, local, "master01", "master02")
		slbIngress(ctx, t, cl, "nginx-local", map[string]string{"master01": "10.0.0.51", "master02": "10.0.0.52"}[node])
		ds := slbDaemonSet(ctx, t, cl, local, nil)
		env := ds.Spec.Template.Spec.Containers[0].Env
		if env[3].Name != "DEST_PORT" || env[4].ValueFrom == nil || env[4].ValueFrom.FieldRef.FieldPath != "status.hostIPs" {
			t.Errorf("Local policy env = %+v, want DEST_PORT the NodePort and DEST_IPS from status.hostIPs", env)
		}
	})
	slbStep(t, "disabling ServiceLB removes every svclb DaemonSet", func() {
		slbSetEnabled(ctx, t, cl, false)
		slbEventually(ctx, t, "no svclb DaemonSet left", func(ctx context.Context) error {
			if left := slbDaemonSets(ctx, t, cl); len(left) > 0 {
				return fmt.Errorf("left: %v", left)
			}
			return nil
		})
		for _, name := range []string{"nginx2", "web7777", "nginx-local"} {
			slbFinalizer(ctx, t, cl, name, false)
			slbIngress(ctx, t, cl, name)
		}
		slbStatus(ctx, t, cl, "ServiceLBReady Disabled", func(cn *v1alpha1.ClusterNetworking) error {
			cond := meta.FindStatusCondition(cn.Status.Conditions, v1alpha1.ConditionServiceLBReady)
			if cond == nil || cond.Reason != v1alpha1.ReasonDisabled || cn.Status.ServiceLB != nil {
				return fmt.Errorf("ServiceLBReady = %+v, status.serviceLB = %+v", cond, cn.Status.ServiceLB)
			}
			return nil
		})
	})
}

// checkSeedsDaemonSet checks the DaemonSet the guide shows for nginx.
func checkSeedsDaemonSet(ctx context.Context, t *testing.T, cl client.Client, ds *appsv1.DaemonSet) {
	t.Helper()
	svc := &corev1.Service{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: "default", Name: "nginx"}, svc); err != nil {
		t.Fatal(err)
	}
	if want := "svclb-nginx-" + string(svc.UID)[:8]; ds.Name != want {
		t.Errorf("daemonset name %s, want %s", ds.Name, want)
	}
	cs := ds.Spec.Template.Spec.Containers
	if len(cs) != 1 || cs[0].Name != "lb-tcp-8888" || len(cs[0].Ports) != 1 || cs[0].Ports[0].HostPort != 8888 {
		t.Fatalf("containers = %+v, want one lb-tcp-8888 with hostPort 8888", cs)
	}
	env := map[string]string{}
	for _, e := range cs[0].Env {
		env[e.Name] = e.Value
	}
	for k, v := range map[string]string{"SRC_PORT": "8888", "DEST_PROTO": "TCP", "DEST_PORT": "8888", "DEST_IPS": svc.Spec.ClusterIP} {
		if env[k] != v {
			t.Errorf("env %s = %q, want %q", k, env[k], v)
		}
	}
}

// slbNginxNode waits for the nginx pod and returns its node.
func slbNginxNode(ctx context.Context, t *testing.T, cl client.Client) string {
	t.Helper()
	var node string
	slbEventually(ctx, t, "nginx pod running", func(ctx context.Context) error {
		list := &corev1.PodList{}
		if err := cl.List(ctx, list, client.InNamespace("default"), client.MatchingLabels{"app": "nginx"}); err != nil {
			return err
		}
		if len(list.Items) != 1 || !slbPodReady(&list.Items[0]) {
			return fmt.Errorf("%d nginx pods, want one ready", len(list.Items))
		}
		node = list.Items[0].Spec.NodeName
		return nil
	})
	return node
}

func slbSummary(cn *v1alpha1.ClusterNetworking, services, ready int32, pending int) error {
	st := cn.Status.ServiceLB
	if st == nil || st.Services != services || st.Ready != ready || len(st.Pending) != pending {
		return fmt.Errorf("status.serviceLB = %+v", st)
	}
	cond := meta.FindStatusCondition(cn.Status.Conditions, v1alpha1.ConditionServiceLBReady)
	if cond == nil || cond.Status != metav1.ConditionTrue {
		return fmt.Errorf("ServiceLBReady = %+v", cond)
	}
	return nil
}

// slbPending checks that the Service name is listed as pending with a
// reason holding every one of parts.
func slbPending(cn *v1alpha1.ClusterNetworking, name string, parts ...string) error {
	if cn.Status.ServiceLB == nil {
		return fmt.Errorf("no status.serviceLB")
	}
	for _, p := range cn.Status.ServiceLB.Pending {
		if p.Namespace == "default" && p.Name == name {
			if !containsAll(p.Reason, parts) {
				return fmt.Errorf("reason %q, want it to hold %q", p.Reason, parts)
			}
			return nil
		}
	}
	return fmt.Errorf("pending = %+v", cn.Status.ServiceLB.Pending)
}
