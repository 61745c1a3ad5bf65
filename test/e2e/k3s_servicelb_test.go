package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers"
	"github.com/wharf-dev/wharf/controllers/servicelb"
	"github.com/wharf-dev/wharf/internal/apply"
	"github.com/wharf-dev/wharf/internal/testenv"
	"github.com/wharf-dev/wharf/test/k3s"
)

// TestK3sServiceLBTakeOver takes over the svclb DaemonSets K3s's own
// ServiceLB made (with wrangler, owned by their Services, with the
// nodeselector label), then replays what a K3s restarted with
// --disable=servicelb does at start-up, while every LoadBalancer Service
// is read every 100 ms: no ingress ever goes empty, and the clean-up
// deletes nothing.
//
// When the resource names the klipper-lb image K3s runs, the spec matches:
// each DaemonSet and svclb pod stays the one K3s made and the ingress never
// changes. With wharf's default image (the same image, spelt
// docker.io/rancher/klipper-lb), each DaemonSet rolls once, one node at a
// time, and its ingress lacks the node whose pod is replaced meanwhile.
func TestK3sServiceLBTakeOver(t *testing.T) {
	for _, tc := range []struct {
		name  string
		image string // spec.serviceLB.image
		same  bool   // the spec matches K3s's
	}{
		{"K3s's image", k3s.ServiceLBImage, true},
		{"wharf's default image", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) { testK3sServiceLBTakeOver(t, tc.image, tc.same) })
	}
}

func testK3sServiceLBTakeOver(t *testing.T, image string, same bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	c := startCluster(ctx, t)
	cl, err := client.New(c.Config(), client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	cn := &v1alpha1.ClusterNetworking{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.SingletonName}}
	cn.Spec.CoreDNS.Enabled = ptr.To(false)
	cn.Spec.Traefik.Enabled = ptr.To(false)
	cn.Spec.ServiceLB.Image = image
	if err := cl.Create(ctx, cn); err != nil {
		t.Fatal(err)
	}
	k3sLB, err := k3s.NewServiceLB(c.Config(), k3s.ServiceLBImage)
	if err != nil {
		t.Fatal(err)
	}
	nodeIPs := []string{"10.0.0.51", "10.0.0.52"}

	var services []*corev1.Service
	daemonSets := map[string]*appsv1.DaemonSet{} // by Service name
	pods := map[string]map[string]string{}       // by Service name
	slbStep(t, "K3s's ServiceLB serves two Services", func() {
		for _, s := range []struct {
			name string
			port int32
		}{{"nginx", 8888}, {"web", 9090}} {
			svc := slbService(ctx, t, cl, s.name, s.port, func(svc *corev1.Service) {
				// The cloud provider's service controller adds it.
				svc.Finalizers = []string{servicelb.Finalizer}
			})
			if err := cl.Get(ctx, client.ObjectKeyFromObject(svc), svc); err != nil {
				t.Fatal(err)
			}
			ds, err := k3sLB.Serve(ctx, svc)
			if err != nil {
				t.Fatal(err)
			}
			if ds.Name != servicelb.DaemonSetName(svc) {
				t.Fatalf("K3s names the DaemonSet %s, wharf %s", ds.Name, servicelb.DaemonSetName(svc))
			}
			if !k3s.Marked(ds.Labels) {
				t.Fatalf("wrangler did not mark the DaemonSet: labels %v", ds.Labels)
			}
			slbPods(ctx, t, cl, svc, "master01", "master02")
			if err := k3sLB.Publish(ctx, svc, nodeIPs...); err != nil {
				t.Fatal(err)
			}
			services = append(services, svc)
			daemonSets[svc.Name] = ds
			pods[svc.Name] = slbPodUIDs(ctx, t, cl, svc)
		}
	})

	probe := startIngressProbe(ctx, t, cl, services, nodeIPs)
	defer probe.check(t, 50, same)
	// unchanged fails the test unless every DaemonSet and svclb pod is
	// the one seen last, its spec untouched, and then remembers them.
	unchanged := func(when string) {
		t.Helper()
		for _, svc := range services {
			was := daemonSets[svc.Name]
			ds := &appsv1.DaemonSet{}
			if err := cl.Get(ctx, client.ObjectKeyFromObject(was), ds); err != nil {
				t.Errorf("%s: daemonset %s: %v", when, was.Name, err)
				continue
			}
			if ds.UID != was.UID || ds.DeletionTimestamp != nil || ds.Generation != was.Generation {
				t.Errorf("%s: daemonset %s uid %s generation %d deleted %v, was %s %d", when, ds.Name, ds.UID, ds.Generation, ds.DeletionTimestamp != nil, was.UID, was.Generation)
			}
			if now := slbPodUIDs(ctx, t, cl, svc); !maps.Equal(now, pods[svc.Name]) {
				t.Errorf("%s: svclb pods of %s %v, were %v", when, svc.Name, now, pods[svc.Name])
			}
		}
	}
	// rolled waits until every DaemonSet, the same object, has rolled its
	// pods once to wharf's spec, and remembers them.
	rolled := func() {
		t.Helper()
		for _, svc := range services {
			was := daemonSets[svc.Name]
			daemonSets[svc.Name] = slbDaemonSet(ctx, t, cl, svc, func(ds *appsv1.DaemonSet) error {
				if ds.UID != was.UID {
					return fmt.Errorf("uid %s, was %s: replaced", ds.UID, was.UID)
				}
				if ds.Generation != was.Generation+1 || ds.Status.ObservedGeneration != ds.Generation || ds.Status.UpdatedNumberScheduled != 2 || ds.Status.NumberAvailable != 2 {
					return fmt.Errorf("generation %d (was %d), status %+v", ds.Generation, was.Generation, ds.Status)
				}
				return nil
			})
			slbPods(ctx, t, cl, svc, "master01", "master02")
			pods[svc.Name] = slbPodUIDs(ctx, t, cl, svc)
		}
	}

	slbStep(t, "wharf adopts the DaemonSets in place", func() {
		// With exactly the rights the install gives the manager.
		testenv.InstallManagerScope(ctx, t, cl)
		testenv.StartManager(t, testenv.ManagerConfig(c.Config()))
		for _, svc := range services {
			slbDaemonSet(ctx, t, cl, svc, func(ds *appsv1.DaemonSet) error {
				if _, ok := ds.Labels[k3s.NodeSelectorLabel]; ok || ds.Annotations[servicelb.NodeSelectorAnnotation] != "false" {
					return fmt.Errorf("labels %v, annotations %v", ds.Labels, ds.Annotations)
				}
				if labels, annotations := apply.ObjectSetMarkers(ds); len(labels)+len(annotations) > 0 {
					return fmt.Errorf("K3s's markers %v %v are left", labels, annotations)
				}
				if ds.Labels[apply.ComponentLabel] != servicelb.ComponentName {
					return fmt.Errorf("not wharf's: labels %v", ds.Labels)
				}
				return nil
			})
		}
		slbStatus(ctx, t, cl, "ServiceLBReady", func(cn *v1alpha1.ClusterNetworking) error {
			return conditionIs(cn, v1alpha1.ConditionServiceLBReady, metav1.ConditionTrue, v1alpha1.ReasonReady)
		})
		if same {
			time.Sleep(3 * time.Second) // give a wrong rollout the time to start
			unchanged("after the take-over")
		} else {
			rolled()
		}
	})

	slbStep(t, "K3s started with --disable=servicelb deletes none of them", func() {
		if err := k3sLB.CleanUp(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second) // let a wrong deletion reach the pods
		unchanged("after K3s's clean-up")
	})
}

// ingressProbe reads the LoadBalancer Services every 100 ms and counts the
// reads where one's ingress is empty, and where it is not all of want.
type ingressProbe struct {
	mu                    sync.Mutex
	reads, empty, partial int
	first                 string
	done                  func()
}

func startIngressProbe(ctx context.Context, t *testing.T, cl client.Client, services []*corev1.Service, want []string) *ingressProbe {
	t.Helper()
	p := &ingressProbe{}
	p.done = every(ctx, t, 100*time.Millisecond, func(ctx context.Context) {
		for _, svc := range services {
			got, err := slbIngressIPs(ctx, cl, svc.Name)
			if ctx.Err() != nil {
				return
			}
			p.record(svc.Name, got, want, err)
		}
	})
	return p
}

func (p *ingressProbe) record(name string, got, want []string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reads++
	if err == nil && slices.Equal(got, want) {
		return
	}
	if err != nil || len(got) == 0 {
		p.empty++
	} else {
		p.partial++
	}
	if p.first == "" {
		p.first = fmt.Sprintf("%s %s: ingress %v (err %v)", time.Now().Format(time.TimeOnly), name, got, err)
	}
}

// check ends the probe and fails t if an ingress was ever empty, or, with
// whole, ever lacked a node, or if fewer than minReads were made.
func (p *ingressProbe) check(t *testing.T, minReads int, whole bool) {
	p.done()
	p.mu.Lock()
	defer p.mu.Unlock()
	t.Logf("%d reads of the Services' ingress, %d empty, %d lacking a node", p.reads, p.empty, p.partial)
	if p.first != "" {
		t.Logf("the first: %s", p.first)
	}
	if p.reads < minReads {
		t.Errorf("only %d reads: the probe did not cover the take-over", p.reads)
	}
	if p.empty > 0 || (whole && p.partial > 0) {
		t.Errorf("%d of %d reads found no ingress and %d a partial one", p.empty, p.reads, p.partial)
	}
}
