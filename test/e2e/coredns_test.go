// Package e2e runs wharf against a real local control plane (test/cluster:
// etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok
// nodes) and, for DNS, the real coredns binary.
package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers"
	"github.com/wharf-dev/wharf/controllers/coredns"
	"github.com/wharf-dev/wharf/internal/testenv"
	"github.com/wharf-dev/wharf/test/cluster"
)

const corednsNamespace = "kube-system"

// TestCoreDNS runs the seeds' scenario: CoreDNS answers k3s.test.org with
// 10.0.0.51 and node names from NodeHosts, through an operator restart, a
// hand edit, a node added later and an invalid snippet.
func TestCoreDNS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	c := startCluster(ctx, t)
	cfg := c.Config()
	cl, err := client.New(cfg, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	stopOperator := testenv.StartManager(t, cfg)
	cn := &v1alpha1.ClusterNetworking{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.SingletonName}}
	cn.Spec.CoreDNS.ExtraHosts = []v1alpha1.HostEntry{{IP: "10.0.0.51", Hostnames: []v1alpha1.Hostname{"k3s.test.org"}}}
	cn.Spec.Traefik.Enabled = ptr.To(false)
	cn.Spec.ServiceLB.Enabled = ptr.To(false)
	if err := cl.Create(ctx, cn); err != nil {
		t.Fatal(err)
	}

	corednsStep(t, "CoreDNS is deployed and ready", func() {
		waitClusterNetworking(ctx, t, cl, 2*time.Minute, func(cn *v1alpha1.ClusterNetworking) error {
			if err := conditionIs(cn, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReady); err != nil {
				return err
			}
			if st := cn.Status.CoreDNS; st == nil || st.ClusterIP != v1alpha1.DefaultDNSClusterIP || st.ReadyReplicas < 1 || st.NodeHosts != 2 {
				return fmt.Errorf("status.coredns = %+v", st)
			}
			return nil
		})
	})
	cm := corednsConfigMap(ctx, t, cl)
	if want := "10.0.0.51 master01\n10.0.0.52 master02\n"; cm.Data[coredns.NodeHostsKey] != want {
		t.Fatalf("NodeHosts = %q, want %q", cm.Data[coredns.NodeHostsKey], want)
	}
	server := runLocalCoreDNS(ctx, t, c, cl, cm)
	answers := map[string]string{
		"k3s.test.org":                           "10.0.0.51",
		"master01":                               "10.0.0.51",
		"master02":                               "10.0.0.52",
		"kubernetes.default.svc.cluster.local":   cluster.KubernetesServiceIP,
		"kube-dns.kube-system.svc.cluster.local": v1alpha1.DefaultDNSClusterIP,
	}
	expectAnswers := func(timeout time.Duration) {
		t.Helper()
		for name, ip := range answers {
			pollCoreDNS(ctx, t, timeout, name+" -> "+ip, func() error { return server.expect(name, ip) })
		}
	}

	corednsStep(t, "the real CoreDNS answers from the ConfigMap", func() { expectAnswers(30 * time.Second) })

	corednsStep(t, "the operator restarts and the answers stay", func() {
		before := corednsConfigMap(ctx, t, cl)
		gen := corednsDeployment(ctx, t, cl).Generation
		stopOperator()
		stopOperator = testenv.StartManager(t, cfg)
		// Pinning the cluster IP in use changes the generation but not what
		// is rendered: once the status describes it, the new operator has
		// reconciled.
		editCoreDNS(ctx, t, cl, func(s *v1alpha1.CoreDNSSpec) { s.ClusterIP = v1alpha1.DefaultDNSClusterIP })
		waitClusterNetworking(ctx, t, cl, time.Minute, func(cn *v1alpha1.ClusterNetworking) error {
			return conditionIs(cn, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReady)
		})
		after := corednsConfigMap(ctx, t, cl)
		if after.ResourceVersion != before.ResourceVersion {
			t.Errorf("the restarted operator rewrote the ConfigMap:\n%s", after.Data[coredns.CorefileKey])
		}
		if g := corednsDeployment(ctx, t, cl).Generation; g != gen {
			t.Errorf("the restarted operator changed the Deployment (generation %d -> %d)", gen, g)
		}
		expectAnswers(5 * time.Second)
	})

	corednsStep(t, "a hand edit of the ConfigMap is reverted", func() {
		edited := corednsConfigMap(ctx, t, cl)
		want := edited.DeepCopy()
		edited.Data[coredns.CorefileKey] = strings.Replace(edited.Data[coredns.CorefileKey], "10.0.0.51 k3s.test.org", "10.9.9.9 k3s.test.org", 1)
		edited.Data[coredns.NodeHostsKey] = "10.9.9.9 master01\n"
		if err := cl.Update(ctx, edited); err != nil {
			t.Fatal(err)
		}
		pollCoreDNS(ctx, t, 30*time.Second, "the edit reverted", func() error {
			got := corednsConfigMap(ctx, t, cl)
			if got.Data[coredns.CorefileKey] != want.Data[coredns.CorefileKey] || got.Data[coredns.NodeHostsKey] != want.Data[coredns.NodeHostsKey] {
				return fmt.Errorf("still edited: NodeHosts %q", got.Data[coredns.NodeHostsKey])
			}
			return nil
		})
		expectAnswers(30 * time.Second)
	})

	corednsStep(t, "a node added later resolves within 30s", func() {
		began := time.Now()
		if err := c.AddNode(ctx, cluster.Node{Name: "master03", InternalIP: "10.0.0.53", InternalIPv6: "fd00:10::53"}); err != nil {
			t.Fatal(err)
		}
		pollCoreDNS(ctx, t, 30*time.Second-time.Since(began), "master03 resolves", func() error {
			if err := server.expect("master03", "10.0.0.53"); err != nil {
				return err
			}
			return server.expect("master03", "fd00:10::53")
		})
		t.Logf("master03 resolved %s after it was added", time.Since(began).Round(100*time.Millisecond))
	})

	corednsStep(t, "an invalid snippet keeps the previous ConfigMap and says why", func() {
		before := corednsConfigMap(ctx, t, cl)
		editCoreDNS(ctx, t, cl, func(s *v1alpha1.CoreDNSSpec) { s.Snippets.ServerBlock = "rewrite name {" })
		cn := waitClusterNetworking(ctx, t, cl, time.Minute, func(cn *v1alpha1.ClusterNetworking) error {
			if err := conditionIs(cn, v1alpha1.ConditionCoreDNSReady, metav1.ConditionFalse, coredns.ReasonInvalidCorefile); err != nil {
				return err
			}
			return conditionIs(cn, v1alpha1.ConditionStalled, metav1.ConditionTrue, coredns.ReasonInvalidCorefile)
		})
		t.Logf("CoreDNSReady: %s", meta.FindStatusCondition(cn.Status.Conditions, v1alpha1.ConditionCoreDNSReady).Message)
		time.Sleep(2 * time.Second) // give a wrong apply the time to happen
		if after := corednsConfigMap(ctx, t, cl); after.ResourceVersion != before.ResourceVersion {
			t.Errorf("the ConfigMap changed:\n%s", after.Data[coredns.CorefileKey])
		}
		expectAnswers(5 * time.Second)
		editCoreDNS(ctx, t, cl, func(s *v1alpha1.CoreDNSSpec) { s.Snippets.ServerBlock = "" })
		waitClusterNetworking(ctx, t, cl, time.Minute, func(cn *v1alpha1.ClusterNetworking) error {
			return conditionIs(cn, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReady)
		})
	})
}

// corednsStep runs one named part of the test and stops the test when it fails.
func corednsStep(t *testing.T, name string, fn func()) {
	t.Helper()
	began := time.Now()
	fn()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("ok: %s (%s)", name, time.Since(began).Round(time.Millisecond))
}

func pollCoreDNS(ctx context.Context, t *testing.T, timeout time.Duration, what string, check func() error) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		last = check()
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("%s: not within %s: %v", what, timeout.Round(time.Second), last)
	}
}

// waitClusterNetworking waits until the status of the resource's current
// generation passes check.
func waitClusterNetworking(ctx context.Context, t *testing.T, cl client.Client, timeout time.Duration, check func(*v1alpha1.ClusterNetworking) error) *v1alpha1.ClusterNetworking {
	t.Helper()
	cn := &v1alpha1.ClusterNetworking{}
	pollCoreDNS(ctx, t, timeout, "ClusterNetworking status", func() error {
		if err := cl.Get(ctx, client.ObjectKey{Name: v1alpha1.SingletonName}, cn); err != nil {
			return err
		}
		if cn.Status.ObservedGeneration != cn.Generation {
			return fmt.Errorf("status describes generation %d, not %d", cn.Status.ObservedGeneration, cn.Generation)
		}
		return check(cn)
	})
	return cn
}

func conditionIs(cn *v1alpha1.ClusterNetworking, typ string, status metav1.ConditionStatus, reason string) error {
	cond := meta.FindStatusCondition(cn.Status.Conditions, typ)
	if cond == nil || cond.Status != status || cond.Reason != reason {
		return fmt.Errorf("condition %s = %+v, want %s/%s", typ, cond, status, reason)
	}
	return nil
}

func editCoreDNS(ctx context.Context, t *testing.T, cl client.Client, edit func(*v1alpha1.CoreDNSSpec)) {
	t.Helper()
	updateClusterNetworking(ctx, t, cl, func(cn *v1alpha1.ClusterNetworking) { edit(&cn.Spec.CoreDNS) })
}

func updateClusterNetworking(ctx context.Context, t *testing.T, cl client.Client, edit func(*v1alpha1.ClusterNetworking)) {
	t.Helper()
	pollCoreDNS(ctx, t, 10*time.Second, "update the ClusterNetworking", func() error {
		cn := &v1alpha1.ClusterNetworking{}
		if err := cl.Get(ctx, client.ObjectKey{Name: v1alpha1.SingletonName}, cn); err != nil {
			return err
		}
		edit(cn)
		return cl.Update(ctx, cn)
	})
}

func corednsConfigMap(ctx context.Context, t *testing.T, cl client.Client) *corev1.ConfigMap {
	t.Helper()
	cm := &corev1.ConfigMap{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: corednsNamespace, Name: coredns.ConfigMapName}, cm); err != nil {
		t.Fatal(err)
	}
	return cm
}

func corednsDeployment(ctx context.Context, t *testing.T, cl client.Client) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: corednsNamespace, Name: coredns.DeploymentName}, d); err != nil {
		t.Fatal(err)
	}
	return d
}
