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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/coredns"
	"github.com/wharf-dev/wharf/internal/testenv"
)

const ns = "kube-system"

// TestComponentAgainstAPIServer runs the manager against a real API server
// (no controller-manager: Deployments never turn ready here) and follows
// the coredns objects through node changes, bad input and disabling.
func TestComponentAgainstAPIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an API server; skipped with -short")
	}
	env := testenv.Start(t)
	c := env.Client
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// An existing kube-dns Service, as kubeadm or K3s leave one: wharf keeps its IP.
	createForeignKubeDNS(ctx, t, c, "10.43.0.53")
	unrelated := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "unrelated", Namespace: ns}, Data: map[string]string{"a": "b"}}
	must(t, c.Create(ctx, unrelated))
	createNode(ctx, t, c, "master01", "10.0.0.51")
	createNode(ctx, t, c, "master02", "10.0.0.52")
	testenv.StartManager(t, env.Config)
	must(t, c.Create(ctx, seedsCR()))

	var cm *corev1.ConfigMap
	t.Run("renders the seeds' CoreDNS", func(t *testing.T) {
		cm = waitConfigMap(ctx, t, c, func(cm *corev1.ConfigMap) error {
			return wantNodeHosts(cm, "10.0.0.51 master01\n10.0.0.52 master02\n")
		})
		if !strings.Contains(cm.Data[coredns.CorefileKey], "        10.0.0.51 k3s.test.org\n") {
			t.Errorf("Corefile lacks the extra host:\n%s", cm.Data[coredns.CorefileKey])
		}
		svc := &corev1.Service{}
		waitFor(ctx, t, "kube-dns taken over", func() error {
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: coredns.ServiceName}, svc); err != nil {
				return err
			}
			if svc.Labels["app.kubernetes.io/managed-by"] != "wharf" || len(svc.Spec.Ports) != 3 {
				return fmt.Errorf("not applied yet: labels %v, %d ports", svc.Labels, len(svc.Spec.Ports))
			}
			return nil
		})
		if svc.Spec.ClusterIP != "10.43.0.53" {
			t.Errorf("cluster IP %s, want the existing 10.43.0.53", svc.Spec.ClusterIP)
		}
		// Status is written after every object is applied.
		waitCR(ctx, t, c, "status.coredns", func(cn *v1alpha1.ClusterNetworking) error {
			if st := cn.Status.CoreDNS; st == nil || st.ClusterIP != "10.43.0.53" || st.NodeHosts != 2 {
				return fmt.Errorf("status.coredns = %+v", st)
			}
			return nil
		})
		for _, obj := range []client.Object{
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "coredns"}},
			&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: coredns.DeploymentName}},
			&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: coredns.ClusterRoleName}},
			&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: coredns.ClusterRoleName}},
		} {
			must(t, c.Get(ctx, client.ObjectKeyFromObject(obj), obj))
		}
	})
	gen := deploymentGeneration(ctx, t, c)

	t.Run("NodeHosts follows nodes without rolling CoreDNS", func(t *testing.T) {
		createNode(ctx, t, c, "worker03", "10.0.0.53", "fd00::53")
		waitConfigMap(ctx, t, c, func(cm *corev1.ConfigMap) error {
			return wantNodeHosts(cm, "10.0.0.51 master01\n10.0.0.52 master02\n10.0.0.53 worker03\nfd00::53 worker03\n")
		})
		setNodeIPs(ctx, t, c, "worker03", "10.0.0.63")
		waitConfigMap(ctx, t, c, func(cm *corev1.ConfigMap) error {
			return wantNodeHosts(cm, "10.0.0.51 master01\n10.0.0.52 master02\n10.0.0.63 worker03\n")
		})
		must(t, c.Delete(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "worker03"}}))
		cm = waitConfigMap(ctx, t, c, func(cm *corev1.ConfigMap) error {
			return wantNodeHosts(cm, "10.0.0.51 master01\n10.0.0.52 master02\n")
		})
		if g := deploymentGeneration(ctx, t, c); g != gen {
			t.Errorf("Deployment generation went from %d to %d on NodeHosts changes", gen, g)
		}
	})

	t.Run("a hand edit of the Corefile is reverted", func(t *testing.T) {
		edited := cm.DeepCopy()
		edited.Data[coredns.CorefileKey] = ".:53 {\n    whoami\n}\n"
		must(t, c.Update(ctx, edited))
		cm = waitConfigMap(ctx, t, c, func(got *corev1.ConfigMap) error {
			if got.Data[coredns.CorefileKey] != cm.Data[coredns.CorefileKey] {
				return fmt.Errorf("Corefile still edited")
			}
			return nil
		})
	})

	t.Run("an invalid snippet keeps the running ConfigMap", func(t *testing.T) {
		updateCR(ctx, t, c, func(cn *v1alpha1.ClusterNetworking) { cn.Spec.CoreDNS.Snippets.ServerBlock = "rewrite name {" })
		got := waitCR(ctx, t, c, "InvalidCorefile", func(cn *v1alpha1.ClusterNetworking) error {
			return wantCondition(cn, v1alpha1.ConditionCoreDNSReady, metav1.ConditionFalse, coredns.ReasonInvalidCorefile)
		})
		if err := wantCondition(got, v1alpha1.ConditionStalled, metav1.ConditionTrue, coredns.ReasonInvalidCorefile); err != nil {
			t.Error(err)
		}
		msg := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionCoreDNSReady).Message
		if !strings.Contains(msg, `"rewrite name {"`) {
			t.Errorf("the condition does not say which line is wrong: %s", msg)
		}
		now := getConfigMap(ctx, t, c)
		if now.ResourceVersion != cm.ResourceVersion {
			t.Errorf("the ConfigMap changed (resourceVersion %s -> %s):\n%s", cm.ResourceVersion, now.ResourceVersion, now.Data[coredns.CorefileKey])
		}
	})

	t.Run("a valid snippet rolls CoreDNS", func(t *testing.T) {
		updateCR(ctx, t, c, func(cn *v1alpha1.ClusterNetworking) { cn.Spec.CoreDNS.Snippets.ServerBlock = "log" })
		waitConfigMap(ctx, t, c, func(cm *corev1.ConfigMap) error {
			if !strings.Contains(cm.Data[coredns.CorefileKey], "    loadbalance\n    log\n") {
				return fmt.Errorf("snippet not applied yet")
			}
			return nil
		})
		waitCR(ctx, t, c, "no longer stalled", func(cn *v1alpha1.ClusterNetworking) error {
			return wantCondition(cn, v1alpha1.ConditionStalled, metav1.ConditionFalse, "")
		})
		waitFor(ctx, t, "a new pod template", func() error {
			if g := deploymentGeneration(ctx, t, c); g == gen {
				return fmt.Errorf("generation still %d", g)
			}
			return nil
		})
	})

	t.Run("a new cluster IP is refused", func(t *testing.T) {
		updateCR(ctx, t, c, func(cn *v1alpha1.ClusterNetworking) { cn.Spec.CoreDNS.ClusterIP = "10.43.0.10" })
		got := waitCR(ctx, t, c, "ClusterIPImmutable", func(cn *v1alpha1.ClusterNetworking) error {
			return wantCondition(cn, v1alpha1.ConditionCoreDNSReady, metav1.ConditionFalse, coredns.ReasonClusterIPImmutable)
		})
		t.Logf("condition: %s", meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionCoreDNSReady).Message)
		svc := &corev1.Service{}
		must(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: coredns.ServiceName}, svc))
		if svc.Spec.ClusterIP != "10.43.0.53" {
			t.Errorf("cluster IP %s", svc.Spec.ClusterIP)
		}
		updateCR(ctx, t, c, func(cn *v1alpha1.ClusterNetworking) { cn.Spec.CoreDNS.ClusterIP = "10.43.0.53" })
		waitCR(ctx, t, c, "no longer stalled", func(cn *v1alpha1.ClusterNetworking) error {
			return wantCondition(cn, v1alpha1.ConditionStalled, metav1.ConditionFalse, "")
		})
	})

	t.Run("disabling removes what wharf deployed and nothing else", func(t *testing.T) {
		updateCR(ctx, t, c, func(cn *v1alpha1.ClusterNetworking) { cn.Spec.CoreDNS.Enabled = ptr.To(false) })
		waitCR(ctx, t, c, "Disabled", func(cn *v1alpha1.ClusterNetworking) error {
			if cn.Status.CoreDNS != nil {
				return fmt.Errorf("status.coredns still %+v", cn.Status.CoreDNS)
			}
			return wantCondition(cn, v1alpha1.ConditionCoreDNSReady, metav1.ConditionTrue, v1alpha1.ReasonDisabled)
		})
		// kube-dns existed before wharf: it is released, never deleted.
		waitFor(ctx, t, "kube-dns released", func() error {
			svc := &corev1.Service{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: coredns.ServiceName}, svc); err != nil {
				return err
			}
			if svc.Labels["app.kubernetes.io/managed-by"] == "wharf" || svc.Spec.ClusterIP != "10.43.0.53" {
				return fmt.Errorf("labels %v, cluster IP %s", svc.Labels, svc.Spec.ClusterIP)
			}
			return nil
		})
		for _, obj := range []client.Object{
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: coredns.ConfigMapName}},
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "coredns"}},
			&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: coredns.DeploymentName}},
			&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: coredns.ClusterRoleName}},
			&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: coredns.ClusterRoleName}},
		} {
			waitFor(ctx, t, fmt.Sprintf("%T %s gone", obj, obj.GetName()), func() error {
				err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj)
				if apierrors.IsNotFound(err) {
					return nil
				}
				if err == nil && obj.GetDeletionTimestamp() != nil {
					return nil // the garbage collector is not running here
				}
				return fmt.Errorf("still there (%v)", err)
			})
		}
		must(t, c.Get(ctx, client.ObjectKeyFromObject(unrelated), unrelated))
		if err := c.Get(ctx, client.ObjectKey{Name: "master01"}, &corev1.Node{}); err != nil {
			t.Errorf("node: %v", err)
		}
	})
}

func seedsCR() *v1alpha1.ClusterNetworking {
	cn := &v1alpha1.ClusterNetworking{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.SingletonName}}
	cn.Spec.CoreDNS.ExtraHosts = []v1alpha1.HostEntry{{IP: "10.0.0.51", Hostnames: []v1alpha1.Hostname{"k3s.test.org"}}}
	cn.Spec.Traefik.Enabled = ptr.To(false)
	cn.Spec.ServiceLB.Enabled = ptr.To(false)
	return cn
}

func createForeignKubeDNS(ctx context.Context, t *testing.T, c client.Client, ip string) {
	t.Helper()
	must(t, c.Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: coredns.ServiceName, Namespace: ns, Labels: map[string]string{"k8s-app": "kube-dns"}},
		Spec: corev1.ServiceSpec{
			ClusterIP: ip,
			Selector:  map[string]string{"k8s-app": "kube-dns"},
			Ports: []corev1.ServicePort{
				{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP},
				{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP},
			},
		},
	}))
}

func createNode(ctx context.Context, t *testing.T, c client.Client, name string, ips ...string) {
	t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	must(t, c.Create(ctx, n))
	setNodeIPs(ctx, t, c, name, ips...)
}

func setNodeIPs(ctx context.Context, t *testing.T, c client.Client, name string, ips ...string) {
	t.Helper()
	n := &corev1.Node{}
	must(t, c.Get(ctx, client.ObjectKey{Name: name}, n))
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: name}}
	for _, ip := range ips {
		n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip})
	}
	must(t, c.Status().Update(ctx, n))
}

func updateCR(ctx context.Context, t *testing.T, c client.Client, edit func(*v1alpha1.ClusterNetworking)) {
	t.Helper()
	waitFor(ctx, t, "update the ClusterNetworking", func() error {
		cn := &v1alpha1.ClusterNetworking{}
		if err := c.Get(ctx, client.ObjectKey{Name: v1alpha1.SingletonName}, cn); err != nil {
			return err
		}
		edit(cn)
		return c.Update(ctx, cn)
	})
}

func getConfigMap(ctx context.Context, t *testing.T, c client.Client) *corev1.ConfigMap {
	t.Helper()
	cm := &corev1.ConfigMap{}
	must(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: coredns.ConfigMapName}, cm))
	return cm
}

func waitConfigMap(ctx context.Context, t *testing.T, c client.Client, check func(*corev1.ConfigMap) error) *corev1.ConfigMap {
	t.Helper()
	cm := &corev1.ConfigMap{}
	waitFor(ctx, t, "the coredns ConfigMap", func() error {
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: coredns.ConfigMapName}, cm); err != nil {
			return err
		}
		return check(cm)
	})
	return cm
}

func wantNodeHosts(cm *corev1.ConfigMap, want string) error {
	if got := cm.Data[coredns.NodeHostsKey]; got != want {
		return fmt.Errorf("NodeHosts = %q, want %q", got, want)
	}
	return nil
}

// waitCR waits until the ClusterNetworking's status, for the current
// generation, passes check.
func waitCR(ctx context.Context, t *testing.T, c client.Client, what string, check func(*v1alpha1.ClusterNetworking) error) *v1alpha1.ClusterNetworking {
	t.Helper()
	cn := &v1alpha1.ClusterNetworking{}
	waitFor(ctx, t, what, func() error {
		if err := c.Get(ctx, client.ObjectKey{Name: v1alpha1.SingletonName}, cn); err != nil {
			return err
		}
		if cn.Status.ObservedGeneration != cn.Generation {
			return fmt.Errorf("status is for generation %d, not %d", cn.Status.ObservedGeneration, cn.Generation)
		}
		return check(cn)
	})
	return cn
}

// wantCondition checks a condition's status and, unless empty, its reason.
func wantCondition(cn *v1alpha1.ClusterNetworking, typ string, status metav1.ConditionStatus, reason string) error {
	cond := meta.FindStatusCondition(cn.Status.Conditions, typ)
	if cond == nil || cond.Status != status || (reason != "" && cond.Reason != reason) {
		return fmt.Errorf("condition %s = %+v, want status %s reason %q", typ, cond, status, reason)
	}
	return nil
}

func deploymentGeneration(ctx context.Context, t *testing.T, c client.Client) int64 {
	t.Helper()
	d := &appsv1.Deployment{}
	must(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: coredns.DeploymentName}, d))
	return d.Generation
}

func waitFor(ctx context.Context, t *testing.T, what string, check func() error) {
	t.Helper()
	waitForWithin(ctx, t, what, 30*time.Second, check)
}

func waitForWithin(ctx context.Context, t *testing.T, what string, timeout time.Duration, check func() error) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		last = check()
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v (last: %v)", what, err, last)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
