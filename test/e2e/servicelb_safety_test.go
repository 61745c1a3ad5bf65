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
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers"
	"github.com/wharf-dev/wharf/controllers/servicelb"
	"github.com/wharf-dev/wharf/internal/apply"
	"github.com/wharf-dev/wharf/internal/testenv"
)

// TestServiceLBSafety runs, with the real DaemonSet controller and
// scheduler, what unit and envtest tests can only simulate: a svclb
// DaemonSet of an older wharf (nodeselector as a label) moves over without
// its pods being replaced, K3s's start-up clean-up then deletes nothing,
// and a priority class that does not exist fails the component and leaves
// new Services pending with the admission message.
func TestServiceLBSafety(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c := startCluster(ctx, t)
	cfg := c.Config()
	cl, err := client.New(cfg, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	cn := &v1alpha1.ClusterNetworking{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.SingletonName}}
	cn.Spec.CoreDNS.Enabled = ptr.To(false)
	cn.Spec.Traefik.Enabled = ptr.To(false)
	if err := cl.Create(ctx, cn); err != nil {
		t.Fatal(err)
	}
	if err := cl.Get(ctx, client.ObjectKeyFromObject(cn), cn); err != nil {
		t.Fatal(err)
	}
	if err := cl.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: servicelb.ServiceAccountName, Namespace: slbNamespace}}); err != nil {
		t.Fatal(err)
	}
	nginx := slbService(ctx, t, cl, "nginx", 8888, nil)
	if err := cl.Get(ctx, client.ObjectKeyFromObject(nginx), nginx); err != nil {
		t.Fatal(err)
	}

	var ds *appsv1.DaemonSet
	var pods map[string]string
	slbStep(t, "an older wharf's DaemonSet runs its pods", func() {
		ds = testenv.ApplyLegacySvclbDaemonSet(ctx, t, cl, cn, nginx)
		slbPods(ctx, t, cl, nginx, "master01", "master02")
		pods = slbPodUIDs(ctx, t, cl, nginx)
	})
	testenv.StartManager(t, cfg)
	slbStep(t, "the nodeselector label moves to an annotation, the pods stay", func() {
		slbDaemonSet(ctx, t, cl, nginx, func(got *appsv1.DaemonSet) error {
			if _, ok := got.Labels[servicelb.NodeSelectorAnnotation]; ok || got.Annotations[servicelb.NodeSelectorAnnotation] != "false" {
				return fmt.Errorf("labels %v, annotations %v", got.Labels, got.Annotations)
			}
			if got.UID != ds.UID || got.Generation != ds.Generation {
				return fmt.Errorf("uid %s generation %d, was %s %d", got.UID, got.Generation, ds.UID, ds.Generation)
			}
			return nil
		})
		slbIngress(ctx, t, cl, "nginx", "10.0.0.51", "10.0.0.52")
		time.Sleep(3 * time.Second)
		if now := slbPodUIDs(ctx, t, cl, nginx); !maps.Equal(now, pods) {
			t.Errorf("svclb pods %v, were %v", now, pods)
		}
	})
	slbStep(t, "the svclb ServiceAccount K3s left behind is adopted, not a conflict", func() {
		slbEventually(ctx, t, "svclb ServiceAccount adopted", func(ctx context.Context) error {
			sa := &corev1.ServiceAccount{}
			if err := cl.Get(ctx, client.ObjectKey{Namespace: slbNamespace, Name: servicelb.ServiceAccountName}, sa); err != nil {
				return err
			}
			if got := sa.Annotations[apply.OriginAnnotation]; got != apply.OriginAdopted {
				return fmt.Errorf("origin %q, want %q", got, apply.OriginAdopted)
			}
			return nil
		})
	})
	slbStep(t, "K3s's start-up clean-up deletes no svclb DaemonSet", func() {
		// deleteAllDaemonsets in k3s-io/k3s pkg/cloudprovider/servicelb.go.
		if err := cl.DeleteAllOf(ctx, &appsv1.DaemonSet{}, client.InNamespace(slbNamespace),
			client.HasLabels{"svccontroller.k3s.cattle.io/nodeselector"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second)
		if now := slbDaemonSets(ctx, t, cl); now[slbNamespace+"/"+ds.Name] != string(ds.UID) {
			t.Errorf("svclb DaemonSets %v, want %s kept", now, ds.Name)
		}
		if now := slbPodUIDs(ctx, t, cl, nginx); !maps.Equal(now, pods) {
			t.Errorf("svclb pods %v, were %v", now, pods)
		}
	})
	slbStep(t, "a priority class that does not exist fails the component", func() {
		slbEventually(ctx, t, "set priorityClassName", func(ctx context.Context) error {
			cn := &v1alpha1.ClusterNetworking{}
			if err := cl.Get(ctx, client.ObjectKey{Name: v1alpha1.SingletonName}, cn); err != nil {
				return err
			}
			cn.Spec.ServiceLB.PriorityClassName = "does-not-exist"
			return cl.Update(ctx, cn)
		})
		slbStatus(ctx, t, cl, "ServiceLBReady False", func(cn *v1alpha1.ClusterNetworking) error {
			cond := meta.FindStatusCondition(cn.Status.Conditions, v1alpha1.ConditionServiceLBReady)
			if cond == nil || cond.Status != metav1.ConditionFalse || cond.Reason != servicelb.ReasonPriorityClassNotFound {
				return fmt.Errorf("ServiceLBReady = %+v", cond)
			}
			return nil
		})
		slbService(ctx, t, cl, "fresh", 9999, nil)
		slbStatus(ctx, t, cl, "fresh pending with the admission message", func(cn *v1alpha1.ClusterNetworking) error {
			return slbPending(cn, "fresh", "the DaemonSet controller cannot create the pods", "does-not-exist")
		})
		slbEvent(ctx, t, cl, "fresh", servicelb.ReasonUnAvailableLoadBalancer, "does-not-exist")
	})
}

// slbPodUIDs returns the svclb pods of svc by name, with their UIDs.
func slbPodUIDs(ctx context.Context, t *testing.T, cl client.Client, svc *corev1.Service) map[string]string {
	t.Helper()
	pods, err := slbListPods(ctx, cl, svc)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range pods {
		if !strings.HasPrefix(p.Name, servicelb.DaemonSetName(svc)) {
			continue
		}
		out[p.Name] = string(p.UID)
	}
	return out
}
