package servicelb_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/servicelb"
	"github.com/wharf-dev/wharf/internal/testenv"
)

// TestServiceLBSafety runs the manager against a real API server (envtest:
// no DaemonSet controller, scheduler or kubelet) and checks what keeps
// ServiceLB safe next to K3s and among tenants: K3s's start-up clean-up
// deletes no svclb DaemonSet, older DaemonSets move over without a new pod
// template, the tenant policy, refused DaemonSets and pods reported, the
// K3s leftovers cleaned up.
func TestServiceLBSafety(t *testing.T) {
	env := testenv.Start(t)
	c := env.Client
	ctx := context.Background()
	createNode(t, c, "master01", "10.0.0.51", nil)
	createNode(t, c, "master02", "10.0.0.52", nil)
	createClusterNetworking(t, c)
	cn := &v1alpha1.ClusterNetworking{}
	if err := c.Get(ctx, client.ObjectKey{Name: v1alpha1.SingletonName}, cn); err != nil {
		t.Fatal(err)
	}

	// Before the manager starts: what an older wharf and K3s left behind.
	legacy := createService(t, c, lbService("legacy", 8100, nil))
	oldDS := testenv.ApplyLegacySvclbDaemonSet(context.Background(), t, c, cn, legacy)
	k3sMade := createService(t, c, lbService("k3s-made", 8108, nil))
	k3sDS := createK3sDaemonSet(t, c, cn, k3sMade)
	k3sWritten := k3sServedService(t, c)
	squatted := createService(t, c, lbService("squatted", 8109, nil))
	squatter := createSquatterDaemonSet(t, c, squatted)
	oldK3s := createService(t, c, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "old-k3s", Namespace: "default", Finalizers: []string{servicelb.LegacyFinalizer}},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
	})

	cfg, counter := testenv.Counting(env.Config)
	testenv.StartManager(t, cfg)

	t.Run("an older DaemonSet loses the nodeselector label, its pod template untouched", func(t *testing.T) {
		var ds *appsv1.DaemonSet
		eventually(t, "label moved to an annotation", func(ctx context.Context) error {
			ds = &appsv1.DaemonSet{}
			if err := c.Get(ctx, client.ObjectKeyFromObject(oldDS), ds); err != nil {
				return err
			}
			if v, ok := ds.Labels[servicelb.NodeSelectorAnnotation]; ok {
				return fmt.Errorf("label %s=%s still there", servicelb.NodeSelectorAnnotation, v)
			}
			if ds.Annotations[servicelb.NodeSelectorAnnotation] != "false" {
				return fmt.Errorf("annotations %v", ds.Annotations)
			}
			return nil
		})
		// Same object, same generation, same template: the DaemonSet
		// controller does not roll the pods.
		if ds.UID != oldDS.UID || ds.Generation != oldDS.Generation {
			t.Errorf("uid %s generation %d, was %s %d", ds.UID, ds.Generation, oldDS.UID, oldDS.Generation)
		}
		if !reflect.DeepEqual(ds.Spec.Template, oldDS.Spec.Template) || !reflect.DeepEqual(ds.Spec.Selector, oldDS.Spec.Selector) {
			t.Errorf("pod template or selector changed:\n%+v\nwas\n%+v", ds.Spec.Template, oldDS.Spec.Template)
		}
	})

	t.Run("a DaemonSet K3s created loses the nodeselector label and the objectset markers too", func(t *testing.T) {
		eventually(t, "label gone", func(ctx context.Context) error {
			ds := &appsv1.DaemonSet{}
			if err := c.Get(ctx, client.ObjectKeyFromObject(k3sDS), ds); err != nil {
				return err
			}
			if _, ok := ds.Labels[servicelb.NodeSelectorAnnotation]; ok || ds.UID != k3sDS.UID {
				return fmt.Errorf("labels %v, uid %s (was %s)", ds.Labels, ds.UID, k3sDS.UID)
			}
			for _, m := range []map[string]string{ds.Labels, ds.Annotations} {
				for k := range m {
					if strings.HasPrefix(k, "objectset.rio.cattle.io/") {
						return fmt.Errorf("K3s's marker %s still there", k)
					}
				}
			}
			return nil
		})
	})

	t.Run("a DaemonSet of the svclb name that wharf did not create is left alone", func(t *testing.T) {
		wantCondition(t, c, "squatted", metav1.ConditionFalse, servicelb.ReasonFailed, "wharf did not create")
		got := &appsv1.DaemonSet{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(squatter), got); err != nil {
			t.Fatal(err)
		}
		if got.ResourceVersion != squatter.ResourceVersion || len(got.Labels) != 1 {
			t.Errorf("the DaemonSet wharf did not create was changed: labels %v, resource version %s (was %s)", got.Labels, got.ResourceVersion, squatter.ResourceVersion)
		}
	})

	t.Run("K3s's start-up clean-up deletes no svclb DaemonSet", func(t *testing.T) {
		svc := createService(t, c, lbService("k3s-proof", 8101, nil))
		ds := waitDaemonSet(t, c, svc)
		// K3s with its ServiceLB disabled runs this at every start
		// (deleteAllDaemonsets, k3s-io/k3s pkg/cloudprovider/servicelb.go).
		if err := c.DeleteAllOf(ctx, &appsv1.DaemonSet{}, client.InNamespace("kube-system"),
			client.HasLabels{"svccontroller.k3s.cattle.io/nodeselector"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		for _, want := range []*appsv1.DaemonSet{ds, oldDS, k3sDS} {
			got := &appsv1.DaemonSet{}
			if err := c.Get(ctx, client.ObjectKeyFromObject(want), got); err != nil || got.UID != want.UID {
				t.Errorf("daemonset %s: uid %s (err %v), want %s kept", want.Name, got.UID, err, want.UID)
			}
		}
	})

	t.Run("the legacy K3s finalizer is removed", func(t *testing.T) {
		eventually(t, "legacy finalizer gone", func(ctx context.Context) error {
			svc := &corev1.Service{}
			if err := c.Get(ctx, client.ObjectKeyFromObject(oldK3s), svc); err != nil {
				return err
			}
			if len(svc.Finalizers) != 0 {
				return fmt.Errorf("finalizers %v", svc.Finalizers)
			}
			return nil
		})
	})

	t.Run("a Service K3s served, no longer a LoadBalancer, loses its cleanup finalizer", func(t *testing.T) {
		eventually(t, "cleanup finalizer gone", func(ctx context.Context) error {
			svc := &corev1.Service{}
			if err := c.Get(ctx, client.ObjectKeyFromObject(k3sWritten), svc); err != nil {
				return err
			}
			if len(svc.Status.LoadBalancer.Ingress) != 0 || len(svc.Finalizers) != 0 {
				return fmt.Errorf("ingress %v, finalizers %v", svc.Status.LoadBalancer.Ingress, svc.Finalizers)
			}
			return nil
		})
	})

	t.Run("a tenant Service on a reserved port is pending with the port", func(t *testing.T) {
		svc := createService(t, c, lbService("kubelet-port", 10250, nil))
		want := "port 10250/TCP is reserved on the nodes by spec.serviceLB.reservedPorts"
		waitStatus(t, c, "kubelet-port pending", func(cn *v1alpha1.ClusterNetworking) error {
			return wantPending(cn, "kubelet-port", want)
		})
		waitEvent(t, c, "kubelet-port", servicelb.ReasonUnAvailableLoadBalancer, want)
		assertNoDaemonSet(t, c, svc)
	})

	t.Run("a 3,000-port Service is pending without a write loop", func(t *testing.T) {
		svc := lbService("many-ports", 20000, nil)
		svc.Spec.AllocateLoadBalancerNodePorts = ptr.To(false)
		svc.Spec.Ports = nil
		for i := range 3000 {
			svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{
				Name: fmt.Sprintf("p%d", i), Protocol: corev1.ProtocolTCP, Port: int32(20000 + i), TargetPort: intstr.FromInt32(80),
			})
		}
		createService(t, c, svc)
		want := "the service has 3000 ports, more than spec.serviceLB.maxPortsPerService (64)"
		waitStatus(t, c, "many-ports pending", func(cn *v1alpha1.ClusterNetworking) error {
			return wantPending(cn, "many-ports", want)
		})
		waitEvent(t, c, "many-ports", servicelb.ReasonUnAvailableLoadBalancer, want)
		counter.Reset()
		time.Sleep(6 * time.Second)
		// The event library may update an earlier Event series of another
		// Service (an Event is named after its object) in this window: that
		// is no loop of this one.
		if writes := writesExceptOthersEvents(counter, "many-ports"); len(writes) != 0 {
			t.Errorf("%d writes while the Service waits:\n%s", len(writes), strings.Join(writes, "\n"))
		}
		assertNoDaemonSet(t, c, svc)
	})

	t.Run("a priority class the spec does not allow is pending", func(t *testing.T) {
		svc := lbService("greedy", 8102, nil)
		svc.Annotations = map[string]string{servicelb.PriorityClassAnnotation: "system-cluster-critical"}
		createService(t, c, svc)
		waitStatus(t, c, "greedy pending", func(cn *v1alpha1.ClusterNetworking) error {
			return wantPendingContains(cn, "greedy", `priority class "system-cluster-critical"`, "allowedPriorityClasses")
		})
		assertNoDaemonSet(t, c, svc)
	})

	t.Run("a malformed tolerations annotation fails that Service only", func(t *testing.T) {
		svc := lbService("bad-tolerations", 8103, nil)
		svc.Annotations = map[string]string{servicelb.TolerationsAnnotation: "not json"}
		createService(t, c, svc)
		waitStatus(t, c, "bad-tolerations pending", func(cn *v1alpha1.ClusterNetworking) error {
			if err := wantPendingContains(cn, "bad-tolerations", servicelb.TolerationsAnnotation); err != nil {
				return err
			}
			if err := wantPendingContains(cn, "k3s-proof"); err == nil {
				return fmt.Errorf("k3s-proof pending too")
			}
			return nil
		})
		waitEvent(t, c, "bad-tolerations", servicelb.ReasonUnAvailableLoadBalancer, servicelb.TolerationsAnnotation)
		annotate(t, c, "bad-tolerations", servicelb.TolerationsAnnotation, `[{"key":"lb","operator":"Exists","effect":"NoSchedule"}]`)
		ds := waitDaemonSet(t, c, svc)
		tols := ds.Spec.Template.Spec.Tolerations
		if last := tols[len(tols)-1]; last.Key != "lb" || last.Effect != corev1.TaintEffectNoSchedule {
			t.Errorf("tolerations %+v, want the annotation's last", tols)
		}
	})

	t.Run("a DaemonSet the API server refuses is pending with its message, retried with backoff", func(t *testing.T) {
		svc := lbService("refused", 8104, nil)
		// Valid JSON, invalid toleration: only the API server says so.
		svc.Annotations = map[string]string{servicelb.TolerationsAnnotation: `[{"key":"lb","operator":"Exists","value":"x"}]`}
		createService(t, c, svc)
		waitStatus(t, c, "refused pending", func(cn *v1alpha1.ClusterNetworking) error {
			return wantPendingContains(cn, "refused", "the API server refused the svclb DaemonSet", "tolerations")
		})
		waitEvent(t, c, "refused", servicelb.ReasonUnAvailableLoadBalancer, "the API server refused")
		counter.Reset()
		time.Sleep(6 * time.Second)
		// The first retry comes after 5s, the next after 10s.
		if n := writesTo(counter, "/daemonsets/svclb-refused-"); n > 1 {
			t.Errorf("%d writes of daemonsets in 6s:\n%s", n, counter.WritePaths())
		}
		assertNoDaemonSet(t, c, svc)
	})

	t.Run("pods the DaemonSet controller cannot create make the Service pending", func(t *testing.T) {
		svc := createService(t, c, lbService("no-pods", 8105, nil))
		ds := waitDaemonSet(t, c, svc)
		// What the DaemonSet controller does when admission refuses the
		// pods: it counts them as desired, creates none, and says why.
		ds.Status = appsv1.DaemonSetStatus{DesiredNumberScheduled: 2, ObservedGeneration: ds.Generation}
		if err := c.Status().Update(ctx, ds); err != nil {
			t.Fatal(err)
		}
		msg := fmt.Sprintf(`Error creating: pods "%s-" is forbidden: no PriorityClass with name does-not-exist was found`, ds.Name)
		ev := &corev1.Event{
			ObjectMeta: metav1.ObjectMeta{GenerateName: ds.Name + ".", Namespace: ds.Namespace},
			InvolvedObject: corev1.ObjectReference{
				Kind: "DaemonSet", APIVersion: "apps/v1", Namespace: ds.Namespace, Name: ds.Name, UID: ds.UID,
			},
			Reason: "FailedCreate", Message: msg, Type: corev1.EventTypeWarning,
			Source:        corev1.EventSource{Component: "daemonset-controller"},
			LastTimestamp: metav1.Now(), FirstTimestamp: metav1.Now(), Count: 1,
		}
		if err := c.Create(ctx, ev); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, c, "no-pods pending with the admission message", func(cn *v1alpha1.ClusterNetworking) error {
			return wantPendingContains(cn, "no-pods", "the DaemonSet controller cannot create the pods", "no PriorityClass with name does-not-exist")
		})
		waitEvent(t, c, "no-pods", servicelb.ReasonUnAvailableLoadBalancer, "no PriorityClass with name does-not-exist")
		// One Service failing is that Service's matter.
		waitStatus(t, c, "ServiceLBReady True", func(cn *v1alpha1.ClusterNetworking) error {
			cond := meta.FindStatusCondition(cn.Status.Conditions, v1alpha1.ConditionServiceLBReady)
			if cond == nil || cond.Status != metav1.ConditionTrue || cond.Reason != servicelb.ReasonServicesPending {
				return fmt.Errorf("ServiceLBReady = %+v", cond)
			}
			return nil
		})
	})

	t.Run("a priority class in the spec that does not exist is the component's failure", func(t *testing.T) {
		setSpec(t, c, func(s *v1alpha1.ServiceLBSpec) { s.PriorityClassName = "does-not-exist" })
		waitStatus(t, c, "ServiceLBReady False", func(cn *v1alpha1.ClusterNetworking) error {
			cond := meta.FindStatusCondition(cn.Status.Conditions, v1alpha1.ConditionServiceLBReady)
			if cond == nil || cond.Status != metav1.ConditionFalse || cond.Reason != servicelb.ReasonPriorityClassNotFound || !strings.Contains(cond.Message, `"does-not-exist"`) {
				return fmt.Errorf("ServiceLBReady = %+v", cond)
			}
			return nil
		})
		setSpec(t, c, func(s *v1alpha1.ServiceLBSpec) { s.PriorityClassName = "system-node-critical" })
		waitStatus(t, c, "ServiceLBReady True", func(cn *v1alpha1.ClusterNetworking) error {
			cond := meta.FindStatusCondition(cn.Status.Conditions, v1alpha1.ConditionServiceLBReady)
			if cond == nil || cond.Status != metav1.ConditionTrue {
				return fmt.Errorf("ServiceLBReady = %+v", cond)
			}
			return nil
		})
	})

	t.Run("namespaceSelector: Services elsewhere are pending and lose their svclb", func(t *testing.T) {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tenant"}}); err != nil {
			t.Fatal(err)
		}
		svc := lbService("web", 8106, nil)
		svc.Namespace = "tenant"
		createService(t, c, svc)
		waitDaemonSet(t, c, svc)
		labelNamespace(t, c, "default", "lb", "yes")
		setSpec(t, c, func(s *v1alpha1.ServiceLBSpec) {
			s.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"lb": "yes"}}
		})
		waitDaemonSetGone(t, c, svc)
		waitStatus(t, c, "tenant/web pending", func(cn *v1alpha1.ClusterNetworking) error {
			for _, p := range cn.Status.ServiceLB.Pending {
				if p.Namespace == "tenant" && p.Name == "web" && strings.Contains(p.Reason, "namespace tenant is not selected by spec.serviceLB.namespaceSelector (lb=yes)") {
					return nil
				}
			}
			return fmt.Errorf("pending %+v", cn.Status.ServiceLB.Pending)
		})
		// Services of the selected namespace keep their DaemonSet.
		waitDaemonSet(t, c, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "k3s-proof", Namespace: "default", UID: mustUID(t, c, "k3s-proof")}})
		labelNamespace(t, c, "tenant", "lb", "yes")
		waitDaemonSet(t, c, svc)
	})
}

// createK3sDaemonSet creates the svclb DaemonSet of svc as K3s does: with
// the nodeselector label, by an update of the k3s field manager.
func createK3sDaemonSet(t *testing.T, c client.Client, cn *v1alpha1.ClusterNetworking, svc *corev1.Service) *appsv1.DaemonSet {
	t.Helper()
	ds := &appsv1.DaemonSet{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(testenv.BuiltSvclbDaemonSet(t, cn, svc).Object, ds); err != nil {
		t.Fatal(err)
	}
	// The objectset markers K3s's wrangler apply puts on the DaemonSets
	// its ServiceLB applies, owned by the Service.
	ds.Annotations = map[string]string{
		"objectset.rio.cattle.io/id":              "svccontroller",
		"objectset.rio.cattle.io/owner-gvk":       "/v1, Kind=Service",
		"objectset.rio.cattle.io/owner-name":      svc.Name,
		"objectset.rio.cattle.io/owner-namespace": svc.Namespace,
	}
	ds.Labels = map[string]string{
		servicelb.NodeSelectorAnnotation: "false", servicelb.SvcNameLabel: svc.Name, servicelb.SvcNamespaceLabel: svc.Namespace,
		"objectset.rio.cattle.io/hash": "2f5b0ac1b6b1c4bd2c1d6b0f6e0d9f4a8e7c3b21",
	}
	if err := c.Create(context.Background(), ds, client.FieldOwner("k3s")); err != nil {
		t.Fatal(err)
	}
	return ds
}

// createSquatterDaemonSet creates, as someone other than wharf or K3s, a
// DaemonSet under the name of svc's svclb DaemonSet, without K3s's
// svccontroller labels.
func createSquatterDaemonSet(t *testing.T, c client.Client, svc *corev1.Service) *appsv1.DaemonSet {
	t.Helper()
	labels := map[string]string{"app": "squatter"}
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: servicelb.DaemonSetName(svc), Namespace: "kube-system", Labels: labels},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "squatter", Image: "example.com/squatter:1"}}},
			},
		},
	}
	if err := c.Create(context.Background(), ds, client.FieldOwner("someone")); err != nil {
		t.Fatal(err)
	}
	return ds
}

// k3sServedService creates a LoadBalancer Service as K3s left it (the
// cloud provider's cleanup finalizer, an ingress written by K3s), then
// changes it to ClusterIP, all while wharf is not running. The API server
// clears the ingress itself on that change, whoever wrote it: checked here,
// as wharf relies on it.
func k3sServedService(t *testing.T, c client.Client) *corev1.Service {
	t.Helper()
	ctx := context.Background()
	svc := lbService("k3s-written", 8107, nil)
	svc.Finalizers = []string{servicelb.Finalizer}
	createService(t, c, svc)
	body := []byte(`{"status":{"loadBalancer":{"ingress":[{"ip":"10.0.0.99"}]}}}`)
	if err := c.Status().Patch(ctx, svc, client.RawPatch(types.MergePatchType, body), client.FieldOwner("k3s")); err != nil {
		t.Fatal(err)
	}
	base := svc.DeepCopy()
	svc.Spec.Type = corev1.ServiceTypeClusterIP
	for i := range svc.Spec.Ports {
		svc.Spec.Ports[i].NodePort = 0
	}
	if err := c.Patch(ctx, svc, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	got := &corev1.Service{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(svc), got); err != nil {
		t.Fatal(err)
	}
	if len(got.Status.LoadBalancer.Ingress) != 0 {
		t.Fatalf("ingress %v after the change to ClusterIP: the API server no longer clears it", got.Status.LoadBalancer.Ingress)
	}
	return svc
}

// writesExceptOthersEvents returns the writes but those to Events named
// after another object than name.
func writesExceptOthersEvents(counter *testenv.Counter, name string) []string {
	var out []string
	for _, w := range strings.Split(counter.WritePaths(), "\n") {
		if w == "" {
			continue
		}
		if i := strings.LastIndex(w, "/events/"); i >= 0 && !strings.HasPrefix(w[i+len("/events/"):], name+".") {
			continue
		}
		out = append(out, w)
	}
	return out
}

// writesTo counts the writes to paths holding part.
func writesTo(counter *testenv.Counter, part string) int {
	n := 0
	for _, w := range strings.Split(counter.WritePaths(), "\n") {
		if strings.Contains(w, part) {
			n++
		}
	}
	return n
}

func assertNoDaemonSet(t *testing.T, c client.Client, svc *corev1.Service) {
	t.Helper()
	live := &corev1.Service{}
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(svc), live); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKey{Namespace: "kube-system", Name: servicelb.DaemonSetName(live)}
	if err := c.Get(context.Background(), key, &appsv1.DaemonSet{}); !apierrors.IsNotFound(err) {
		t.Errorf("daemonset %s exists (err %v)", key.Name, err)
	}
}

func wantPendingContains(cn *v1alpha1.ClusterNetworking, name string, parts ...string) error {
	if cn.Status.ServiceLB == nil {
		return fmt.Errorf("no status.serviceLB")
	}
	for _, p := range cn.Status.ServiceLB.Pending {
		if p.Namespace == "default" && p.Name == name {
			for _, part := range parts {
				if !strings.Contains(p.Reason, part) {
					return fmt.Errorf("reason %q lacks %q", p.Reason, part)
				}
			}
			return nil
		}
	}
	return fmt.Errorf("%s not pending: %+v", name, cn.Status.ServiceLB.Pending)
}

func setSpec(t *testing.T, c client.Client, edit func(*v1alpha1.ServiceLBSpec)) {
	t.Helper()
	eventually(t, "edit spec.serviceLB", func(ctx context.Context) error {
		cn := &v1alpha1.ClusterNetworking{}
		if err := c.Get(ctx, client.ObjectKey{Name: v1alpha1.SingletonName}, cn); err != nil {
			return err
		}
		edit(&cn.Spec.ServiceLB)
		return c.Update(ctx, cn)
	})
}

func labelNamespace(t *testing.T, c client.Client, name, key, value string) {
	t.Helper()
	eventually(t, "label namespace "+name, func(ctx context.Context) error {
		ns := &corev1.Namespace{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
			return err
		}
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		ns.Labels[key] = value
		return c.Update(ctx, ns)
	})
}

func mustUID(t *testing.T, c client.Client, name string) types.UID {
	t.Helper()
	svc, err := getService(context.Background(), c, name)
	if err != nil {
		t.Fatal(err)
	}
	return svc.UID
}
