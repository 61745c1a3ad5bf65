package e2e

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers"
	"github.com/wharf-dev/wharf/controllers/coredns"
	"github.com/wharf-dev/wharf/internal/apply"
	"github.com/wharf-dev/wharf/internal/testenv"
	"github.com/wharf-dev/wharf/test/cluster"
	"github.com/wharf-dev/wharf/test/k3s"
)

// dnsNodeHosts is the NodeHosts K3s's agent writes for dnsNode.
const dnsNodeHosts = "10.0.0.60 " + dnsNode + "\n"

// TestK3sTakeOverKeepsDNSAnswering takes over the CoreDNS K3s deployed
// and then disables K3s's (k3s --disable coredns), as README → "Coming
// from K3s" tells, while a client asks kube-dns every 100 ms: no lookup
// fails. Each CoreDNS pod is a real coredns process on the Corefile it
// mounts (corednsKubelet), reached through the ready endpoints of kube-dns
// as kube-proxy would route a query to the cluster DNS IP.
//
// K3s's own coredns.yaml differs from wharf's render (the rollout
// strategy, the Corefile), so taking it over rolls the pod once, the new
// one Ready before the old one goes. A manifest that already matches
// wharf's render keeps its pod. In both, disabling K3s's CoreDNS keeps
// every pod, kube-dns and its IP.
func TestK3sTakeOverKeepsDNSAnswering(t *testing.T) {
	for _, tc := range []struct {
		name string
		// manifest returns what K3s's deploy controller applies for the
		// (defaulted) resource wharf will be given.
		manifest func(t *testing.T, cn *v1alpha1.ClusterNetworking) []runtime.Object
		podsKept bool
	}{
		{"k3s coredns.yaml", func(*testing.T, *v1alpha1.ClusterNetworking) []runtime.Object {
			return k3s.CoreDNS(v1alpha1.DefaultDNSClusterIP, dnsNodeHosts)
		}, false},
		{"a manifest equal to wharf's render", renderedCoreDNS, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
			defer cancel()
			c := startClusterWith(ctx, t)
			cl, err := client.New(c.Config(), client.Options{Scheme: controllers.NewScheme()})
			if err != nil {
				t.Fatal(err)
			}
			kubelet := startCoreDNSKubelet(ctx, t, c, cl)
			cn := &v1alpha1.ClusterNetworking{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.SingletonName}}
			cn.Spec.Traefik.Enabled = ptr.To(false)
			cn.Spec.ServiceLB.Enabled = ptr.To(false)
			if err := cl.Create(ctx, cn); err != nil {
				t.Fatal(err)
			}
			deployer, err := k3s.NewDeployer(c.Config(), "coredns")
			if err != nil {
				t.Fatal(err)
			}
			witness := &corev1.ConfigMap{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
				ObjectMeta: metav1.ObjectMeta{Name: "k3s-only-witness", Namespace: k3s.Namespace},
			}
			corednsStep(t, "K3s deploys CoreDNS and it answers", func() {
				if err := deployer.Apply(append(tc.manifest(t, cn), witness)...); err != nil {
					t.Fatal(err)
				}
				pollCoreDNS(ctx, t, 2*time.Minute, "K3s's CoreDNS answers through kube-dns", func() error {
					return lookupThroughKubeDNS(ctx, cl, kubelet, "kubernetes.default.svc.cluster.local", cluster.KubernetesServiceIP)
				})
			})
			k3sPods := corednsPodUIDs(ctx, t, cl)
			probe := startDNSProbe(ctx, t, cl, kubelet, map[string]string{
				"kubernetes.default.svc.cluster.local": cluster.KubernetesServiceIP,
				dnsNode:                                "10.0.0.60",
			})
			// Checked however the steps end, so that a failing step still
			// tells whether DNS answered meanwhile.
			defer probe.check(t, 50)

			adopted := []client.Object{&corev1.ServiceAccount{}, &corev1.ConfigMap{}, &appsv1.Deployment{}, &corev1.Service{}}
			names := []string{"coredns", coredns.ConfigMapName, coredns.DeploymentName, coredns.ServiceName}
			uids := map[string]types.UID{}
			corednsStep(t, "wharf takes K3s's CoreDNS over", func() {
				// With exactly the rights the install gives the manager.
				testenv.InstallManagerScope(ctx, t, cl)
				testenv.StartManager(t, testenv.ManagerConfig(c.Config()))
				waitClusterNetworking(ctx, t, cl, 2*time.Minute, func(cn *v1alpha1.ClusterNetworking) error {
					return conditionIs(cn, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReady)
				})
				pollCoreDNS(ctx, t, time.Minute, "the objects adopted", func() error {
					for i, o := range adopted {
						if err := cl.Get(ctx, client.ObjectKey{Namespace: k3s.Namespace, Name: names[i]}, o); err != nil {
							return err
						}
						if o.GetAnnotations()[apply.OriginAnnotation] != apply.OriginAdopted {
							return fmt.Errorf("%T %s not adopted: annotations %v", o, names[i], o.GetAnnotations())
						}
						if k3s.Marked(o.GetLabels()) {
							return fmt.Errorf("%T %s still carries K3s's objectset label", o, names[i])
						}
						uids[names[i]+fmt.Sprintf("%T", o)] = o.GetUID()
					}
					return nil
				})
				pollCoreDNS(ctx, t, time.Minute, "one CoreDNS pod", func() error {
					if n := len(kubelet.running()); n != 1 {
						return fmt.Errorf("%d coredns processes run", n)
					}
					return nil
				})
				pods := corednsPodUIDs(ctx, t, cl)
				if kept := maps.Equal(pods, k3sPods); kept != tc.podsKept {
					t.Errorf("CoreDNS pods %v after the take-over, K3s's were %v; want kept = %v", pods, k3sPods, tc.podsKept)
				}
			})

			corednsStep(t, "k3s --disable coredns deletes nothing wharf runs", func() {
				pods := corednsPodUIDs(ctx, t, cl)
				if err := deployer.Disable(); err != nil {
					t.Fatal(err)
				}
				if err := cl.Get(ctx, client.ObjectKeyFromObject(witness), &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
					t.Fatalf("the stand-in for k3s --disable did not delete what is still K3s's (err %v): the test proves nothing", err)
				}
				time.Sleep(3 * time.Second) // let a wrong deletion reach the pods
				if after := corednsPodUIDs(ctx, t, cl); !maps.Equal(after, pods) {
					t.Errorf("CoreDNS pods %v after k3s --disable, were %v", after, pods)
				}
				for i, o := range adopted {
					if err := cl.Get(ctx, client.ObjectKey{Namespace: k3s.Namespace, Name: names[i]}, o); err != nil {
						t.Errorf("%T %s: %v", o, names[i], err)
					} else if o.GetUID() != uids[names[i]+fmt.Sprintf("%T", o)] || o.GetDeletionTimestamp() != nil {
						t.Errorf("%T %s was deleted", o, names[i])
					}
				}
				svc := adopted[3].(*corev1.Service)
				if svc.Spec.ClusterIP != v1alpha1.DefaultDNSClusterIP {
					t.Errorf("kube-dns moved to %s", svc.Spec.ClusterIP)
				}
				waitClusterNetworking(ctx, t, cl, time.Minute, func(cn *v1alpha1.ClusterNetworking) error {
					return conditionIs(cn, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReady)
				})
			})
		})
	}
}

// renderedCoreDNS returns wharf's own render of cn's CoreDNS, for dnsNode,
// as a K3s manifest whose objects match what wharf would apply.
func renderedCoreDNS(t *testing.T, cn *v1alpha1.ClusterNetworking) []runtime.Object {
	t.Helper()
	objs, err := coredns.Render(&cn.Spec, coredns.Facts{
		ClusterIPs: []string{v1alpha1.DefaultDNSClusterIP},
		NodeHosts:  []string{strings.TrimSpace(dnsNodeHosts)},
	})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]runtime.Object, len(objs))
	for i, o := range objs {
		out[i] = o
	}
	return out
}

// corednsPodUIDs returns the UIDs of the CoreDNS pods not being deleted,
// by name.
func corednsPodUIDs(ctx context.Context, t *testing.T, cl client.Client) map[string]types.UID {
	t.Helper()
	pods := &corev1.PodList{}
	if err := cl.List(ctx, pods, client.InNamespace(k3s.Namespace), client.MatchingLabels{coredns.AppLabel: coredns.AppLabelValue}); err != nil {
		t.Fatal(err)
	}
	out := map[string]types.UID{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			out[p.Name] = p.UID
		}
	}
	return out
}

// lookupThroughKubeDNS asks for name as a pod would: to the kube-dns
// cluster IP, which kube-proxy sends to a ready endpoint. It needs the
// Service on its IP, and tries each ready endpoint in turn until one's
// coredns answers want.
func lookupThroughKubeDNS(ctx context.Context, cl client.Client, kubelet *corednsKubelet, name, want string) error {
	svc := &corev1.Service{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: k3s.Namespace, Name: coredns.ServiceName}, svc); err != nil {
		return fmt.Errorf("kube-dns: %w", err)
	}
	if svc.Spec.ClusterIP != v1alpha1.DefaultDNSClusterIP || svc.DeletionTimestamp != nil {
		return fmt.Errorf("kube-dns on %s, deleted %v", svc.Spec.ClusterIP, svc.DeletionTimestamp != nil)
	}
	eps := &discoveryv1.EndpointSliceList{}
	if err := cl.List(ctx, eps, client.InNamespace(k3s.Namespace), client.MatchingLabels{discoveryv1.LabelServiceName: coredns.ServiceName}); err != nil {
		return err
	}
	errs := []string{}
	for _, s := range eps.Items {
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready == nil || !*ep.Conditions.Ready {
				continue
			}
			for _, ip := range ep.Addresses {
				addr := kubelet.serverAt(ip)
				if addr == "" {
					errs = append(errs, ip+": no coredns runs")
					continue
				}
				err := (&localCoreDNS{addr: addr}).expect(name, want)
				if err == nil {
					return nil
				}
				errs = append(errs, ip+": "+err.Error())
			}
		}
	}
	if len(errs) == 0 {
		return fmt.Errorf("%s: kube-dns has no ready endpoint", name)
	}
	return fmt.Errorf("%s: %s", name, strings.Join(errs, "; "))
}

// dnsProbe looks names up through kube-dns every 100 ms. A lookup whose
// first try fails is tried once more right away, as a resolver does with
// its next attempt: a pod stopped a moment before the EndpointSlice drops
// it is not an outage, no answer from any ready endpoint twice in a row
// is.
type dnsProbe struct {
	mu                       sync.Mutex
	lookups, failed, retried int
	first                    string
	done                     func()
}

func startDNSProbe(ctx context.Context, t *testing.T, cl client.Client, kubelet *corednsKubelet, answers map[string]string) *dnsProbe {
	t.Helper()
	p := &dnsProbe{}
	p.done = every(ctx, t, 100*time.Millisecond, func(ctx context.Context) {
		for name, want := range answers {
			p.record(ctx, func() error { return lookupThroughKubeDNS(ctx, cl, kubelet, name, want) })
		}
	})
	return p
}

// every runs fn at once and then every period, in a goroutine, until the
// returned stop is called or t ends; stop waits for fn to return. fn's
// context is cancelled by stop.
func every(ctx context.Context, t *testing.T, period time.Duration, fn func(ctx context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			fn(ctx)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	})
	stop = sync.OnceFunc(func() { cancel(); wg.Wait() })
	t.Cleanup(stop)
	return stop
}

// record counts one lookup, unless the probe stopped during it.
func (p *dnsProbe) record(ctx context.Context, lookup func() error) {
	err := lookup()
	retried := err != nil
	if retried {
		err = lookup()
	}
	if ctx.Err() != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lookups++
	if retried {
		p.retried++
	}
	if err != nil {
		p.failed++
		if p.first == "" {
			p.first = time.Now().Format(time.TimeOnly) + " " + err.Error()
		}
	}
}

// check ends the probe and fails t if a lookup failed or fewer than
// minLookups were made.
func (p *dnsProbe) check(t *testing.T, minLookups int) {
	p.done()
	p.mu.Lock()
	defer p.mu.Unlock()
	t.Logf("%d lookups through kube-dns, %d failed, %d needed a second try", p.lookups, p.failed, p.retried)
	if p.lookups < minLookups {
		t.Errorf("only %d lookups: the probe did not cover the take-over", p.lookups)
	}
	if p.failed > 0 {
		t.Errorf("%d of %d lookups failed, the first at %s", p.failed, p.lookups, p.first)
	}
}
