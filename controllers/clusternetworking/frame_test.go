package clusternetworking_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers"
	"github.com/wharf-dev/wharf/controllers/clusternetworking"
	"github.com/wharf-dev/wharf/controllers/component"
	"github.com/wharf-dev/wharf/internal/apply"
	"github.com/wharf-dev/wharf/internal/testenv"
)

// fakeComponent renders ConfigMaps named by the CR's annotations, so a test
// can change what is rendered without touching the real components.
type fakeComponent struct {
	name, condition string
	ns              string
	failRender      bool
}

func (f *fakeComponent) Name() string          { return f.name }
func (f *fakeComponent) ConditionType() string { return f.condition }
func (f *fakeComponent) Enabled(cn *v1alpha1.ClusterNetworking) bool {
	return cn.Annotations["test/"+f.name] != "off"
}

func (f *fakeComponent) Inputs(context.Context, *v1alpha1.ClusterNetworking) (component.Facts, error) {
	return nil, nil
}

func (f *fakeComponent) Render(cn *v1alpha1.ClusterNetworking, _ component.Facts) ([]*unstructured.Unstructured, error) {
	if f.failRender || cn.Annotations["test/"+f.name+"-fail"] == "yes" {
		return nil, component.Stalledf("InvalidInput", "%s cannot render", f.name)
	}
	objs := []*unstructured.Unstructured{configMap(f.ns, f.name+"-a", "one")}
	if cn.Annotations["test/"+f.name+"-b"] != "drop" {
		objs = append(objs, configMap(f.ns, f.name+"-b", "two"))
	}
	return objs, nil
}

func (f *fakeComponent) Observe(context.Context, *v1alpha1.ClusterNetworking, component.Facts, *v1alpha1.ClusterNetworkingStatus) (component.Health, error) {
	return component.Ready("all good"), nil
}

func configMap(ns, name, value string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"data":     map[string]any{"key": value},
	}}
	return u
}

// startFrame runs a manager with the frame and the given components, its
// requests counted.
func startFrame(t *testing.T, cfg *rest.Config, comps ...component.Component) *testenv.Counter {
	t.Helper()
	counter, _ := startStoppableFrame(t, cfg, comps...)
	return counter
}

func startStoppableFrame(t *testing.T, cfg *rest.Config, comps ...component.Component) (*testenv.Counter, func()) {
	t.Helper()
	counted, counter := testenv.Counting(cfg)
	mgr, err := ctrl.NewManager(counted, ctrl.Options{
		Scheme:     controllers.NewScheme(),
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Cache:      controllers.CacheOptions(),
		Client:     controllers.ClientOptions(),
		Controller: config.Controller{SkipNameValidation: ptrTo(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	applier := apply.New(mgr.GetClient(), mgr.GetAPIReader(), component.FieldManager)
	r := &clusternetworking.Reconciler{Client: mgr.GetClient(), Applier: applier, Components: comps}
	if err := r.SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = mgr.Start(ctx) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return counter, stop
}

func ptrTo[T any](v T) *T { return &v }

func createCN(t *testing.T, c client.Client, annotations map[string]string) {
	t.Helper()
	cn := &v1alpha1.ClusterNetworking{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.SingletonName, Annotations: annotations}}
	if err := c.Create(context.Background(), cn); err != nil {
		t.Fatal(err)
	}
}

func getCN(t *testing.T, c client.Client) *v1alpha1.ClusterNetworking {
	t.Helper()
	cn := &v1alpha1.ClusterNetworking{}
	if err := c.Get(context.Background(), types.NamespacedName{Name: v1alpha1.SingletonName}, cn); err != nil {
		t.Fatal(err)
	}
	return cn
}

func annotate(t *testing.T, c client.Client, key, value string) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, key, value)
	cn := &v1alpha1.ClusterNetworking{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.SingletonName}}
	if err := c.Patch(context.Background(), cn, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		t.Fatal(err)
	}
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s: %v", what, timeout, err)
}

func conditionIs(cn *v1alpha1.ClusterNetworking, typ string, status metav1.ConditionStatus) error {
	c := meta.FindStatusCondition(cn.Status.Conditions, typ)
	if c == nil {
		return fmt.Errorf("no %s condition", typ)
	}
	if c.Status != status {
		return fmt.Errorf("%s is %s (%s: %s), want %s", typ, c.Status, c.Reason, c.Message, status)
	}
	if c.ObservedGeneration != cn.Generation {
		return fmt.Errorf("%s describes generation %d, not %d", typ, c.ObservedGeneration, cn.Generation)
	}
	return nil
}

func TestFrameAppliesIsQuietRevertsAndPrunes(t *testing.T) {
	env := testenv.Start(t)
	c := env.Client
	counter := startFrame(t, env.Config, &fakeComponent{name: "alpha", condition: "AlphaReady", ns: "default"})
	createCN(t, c, nil)

	eventually(t, 30*time.Second, "Ready", func() error { return conditionIs(getCN(t, c), v1alpha1.ConditionReady, metav1.ConditionTrue) })
	cn := getCN(t, c)
	if got := len(cn.Status.Inventory); got != 2 {
		t.Fatalf("inventory has %d entries, want 2: %+v", got, cn.Status.Inventory)
	}
	cm := &corev1.ConfigMap{}
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: "default", Name: "alpha-a"}, cm); err != nil {
		t.Fatal(err)
	}
	if cm.Labels[apply.ManagedByLabel] != "wharf" || len(cm.OwnerReferences) != 0 || cm.Annotations[originAnnotation] != "created" {
		t.Fatalf("applied ConfigMap lacks the label or origin, or has an owner: %+v %+v %+v", cm.Labels, cm.Annotations, cm.OwnerReferences)
	}

	// Ten reconciles with nothing to change send no write.
	time.Sleep(time.Second)
	counter.Reset()
	for i := range 10 {
		annotate(t, c, "test/poke", fmt.Sprint(i))
		time.Sleep(300 * time.Millisecond)
	}
	if w := counter.Writes(); w != 0 {
		t.Fatalf("ten reconciles with no change sent %d writes:\n%s", w, counter.WritePaths())
	}
	if counter.Count("GET") == 0 {
		t.Fatalf("the pokes did not cause any reconcile (no reads seen), so the test proves nothing")
	}

	// A hand edit to an owned object is reverted.
	cm.Data["key"] = "edited by hand"
	if err := c.Update(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "hand edit reverted", func() error {
		got := &corev1.ConfigMap{}
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(cm), got); err != nil {
			return err
		}
		if got.Data["key"] != "one" {
			return fmt.Errorf("data is %q", got.Data["key"])
		}
		return nil
	})

	// An object that leaves the rendered set is pruned.
	annotate(t, c, "test/alpha-b", "drop")
	eventually(t, 30*time.Second, "alpha-b pruned", func() error {
		err := c.Get(context.Background(), types.NamespacedName{Namespace: "default", Name: "alpha-b"}, &corev1.ConfigMap{})
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("still there (err %v)", err)
		}
		if n := len(getCN(t, c).Status.Inventory); n != 1 {
			return fmt.Errorf("inventory has %d entries", n)
		}
		return nil
	})
}

func TestFrameIsolatesComponentFailures(t *testing.T) {
	env := testenv.Start(t)
	c := env.Client
	startFrame(t, env.Config,
		&fakeComponent{name: "alpha", condition: "AlphaReady", ns: "default"},
		&fakeComponent{name: "beta", condition: "BetaReady", ns: "default"})
	createCN(t, c, nil)
	eventually(t, 30*time.Second, "Ready", func() error { return conditionIs(getCN(t, c), v1alpha1.ConditionReady, metav1.ConditionTrue) })

	// alpha fails to render: its objects stay, beta goes on, Stalled is set.
	annotate(t, c, "test/alpha-fail", "yes")
	annotate(t, c, "test/beta-b", "drop")
	eventually(t, 30*time.Second, "Stalled with beta reconciled", func() error {
		cn := getCN(t, c)
		if err := conditionIs(cn, v1alpha1.ConditionStalled, metav1.ConditionTrue); err != nil {
			return err
		}
		if err := conditionIs(cn, "AlphaReady", metav1.ConditionFalse); err != nil {
			return err
		}
		if r := meta.FindStatusCondition(cn.Status.Conditions, "AlphaReady").Reason; r != "InvalidInput" {
			return fmt.Errorf("AlphaReady reason %q", r)
		}
		err := c.Get(context.Background(), types.NamespacedName{Namespace: "default", Name: "beta-b"}, &corev1.ConfigMap{})
		if !apierrors.IsNotFound(err) {
			return errors.New("beta-b not pruned")
		}
		return nil
	})
	for _, name := range []string{"alpha-a", "alpha-b"} {
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: "default", Name: name}, &corev1.ConfigMap{}); err != nil {
			t.Fatalf("%s of the failing component was touched: %v", name, err)
		}
	}

	// Turning a component off removes what it applied, and only that.
	annotate(t, c, "test/alpha-fail", "no")
	annotate(t, c, "test/beta", "off")
	eventually(t, 30*time.Second, "beta removed, Ready again", func() error {
		cn := getCN(t, c)
		if err := conditionIs(cn, v1alpha1.ConditionReady, metav1.ConditionTrue); err != nil {
			return err
		}
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: "default", Name: "beta-a"}, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
			return errors.New("beta-a still there")
		}
		return c.Get(context.Background(), types.NamespacedName{Namespace: "default", Name: "alpha-a"}, &corev1.ConfigMap{})
	})
}

func TestFrameRestartSendsNoWrite(t *testing.T) {
	env := testenv.Start(t)
	c := env.Client
	alpha := &fakeComponent{name: "alpha", condition: "AlphaReady", ns: "default"}
	_, stop := startStoppableFrame(t, env.Config, alpha)
	createCN(t, c, nil)
	eventually(t, 30*time.Second, "Ready", func() error { return conditionIs(getCN(t, c), v1alpha1.ConditionReady, metav1.ConditionTrue) })
	stop()

	// A new manager remembers nothing, but finds every object current.
	counter := startFrame(t, env.Config, alpha)
	for i := range 3 {
		annotate(t, c, "test/poke", fmt.Sprint(i))
		time.Sleep(500 * time.Millisecond)
	}
	if w := counter.Writes(); w != 0 {
		t.Fatalf("a restarted manager sent %d writes for unchanged objects:\n%s", w, counter.WritePaths())
	}
	if counter.Count("GET") == 0 {
		t.Fatal("the restarted manager read nothing, so the test proves nothing")
	}

	// A hand edit after the restart is still reverted.
	cm := &corev1.ConfigMap{}
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: "default", Name: "alpha-a"}, cm); err != nil {
		t.Fatal(err)
	}
	cm.Data["key"] = "edited by hand"
	if err := c.Update(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "hand edit reverted", func() error {
		got := &corev1.ConfigMap{}
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(cm), got); err != nil {
			return err
		}
		if got.Data["key"] != "one" {
			return fmt.Errorf("data is %q", got.Data["key"])
		}
		return nil
	})
}
