package servicelb_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/wharf-dev/wharf/controllers/component"
	"github.com/wharf-dev/wharf/controllers/servicelb"
	"github.com/wharf-dev/wharf/internal/apply"
	"github.com/wharf-dev/wharf/internal/testenv"
)

// pinnedReads is the reconciler's cached client, except that while a
// Service is pinned, reads of it return the pinned copy: a cache that has
// not caught up with the reconciler's last write.
type pinnedReads struct {
	client.Client
	mu     sync.Mutex
	pinned *corev1.Service
}

func (p *pinnedReads) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	p.mu.Lock()
	pinned := p.pinned
	p.mu.Unlock()
	if svc, ok := obj.(*corev1.Service); ok && pinned != nil && key == client.ObjectKeyFromObject(pinned) {
		pinned.DeepCopyInto(svc)
		return nil
	}
	return p.Client.Get(ctx, key, obj, opts...)
}

func (p *pinnedReads) pin(svc *corev1.Service) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pinned = svc
}

// outcome is what a user sees of one Service after a run: its ingress,
// its condition, the Events recorded on it, and its DaemonSet.
type outcome struct {
	Ingress   []string
	Condition string
	Events    []string
	DaemonSet string
}

// TestCachesChangeNoResult: the ServiceLB reconciler's caches (staleness
// guard, build memo, node snapshot, the Applier's digests) only save work.
// One Service is reconciled through the same steps twice, once with the
// caches kept and once with every cache dropped before each reconcile,
// including a reconcile that reads the Service from before the
// reconciler's own ingress write (a lagging cache): the ingress, the
// condition, the Events and the DaemonSet come out the same.
func TestCachesChangeNoResult(t *testing.T) {
	c, pods, cached := startCaches(t)

	kept := runCacheSteps(t, c, cached, pods, "kept", 8200, false)
	dropped := runCacheSteps(t, c, cached, pods, "dropped", 8201, true)
	if !reflect.DeepEqual(kept, dropped) {
		t.Errorf("the caches changed the result:\nkept    %+v\ndropped %+v", kept, dropped)
	}
	if len(kept.Ingress) != 1 || kept.Ingress[0] != "10.0.0.51" {
		t.Errorf("ingress %v, want 10.0.0.51", kept.Ingress)
	}
}

// startCaches starts an API server with the node master01 (10.0.0.51)
// and the ClusterNetworking, and a svclb pod index and an informer cache as
// the manager's. It returns a client of the API server, the index and a
// client that reads from the cache.
func startCaches(t *testing.T) (client.Client, *servicelb.PodIndex, client.Client) {
	t.Helper()
	env := testenv.Start(t)
	createNode(t, env.Client, "master01", "10.0.0.51", nil)
	createClusterNetworking(t, env.Client)
	pods, err := servicelb.NewPodIndex(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	informers, err := cache.New(env.Config, cache.Options{Scheme: env.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	if err := servicelb.IndexDaemonSets(informers); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = pods.Start(ctx) }()
	go func() { _ = informers.Start(ctx) }()
	informers.WaitForCacheSync(ctx)
	cached, err := client.New(env.Config, client.Options{Scheme: env.Client.Scheme(), Cache: &client.CacheOptions{Reader: informers}})
	if err != nil {
		t.Fatal(err)
	}
	return env.Client, pods, cached
}

// TestLaggingCacheDoesNotHoldBackTheIngress: a reconcile that reads the
// Service from before the reconciler's own writes (a cache behind a loaded
// API server's watch) decides from what the last write returned, so the
// node whose pod turned Ready meanwhile is published at once, not when
// the cache catches up.
func TestLaggingCacheDoesNotHoldBackTheIngress(t *testing.T) {
	api, pods, cached := startCaches(t)
	reads := &pinnedReads{Client: cached}
	r := &servicelb.Reconciler{Client: reads, Reader: api, Applier: apply.New(api, api, component.FieldManager),
		Events: events.NewFakeRecorder(100), Pods: pods}
	ctx := context.Background()
	svc := createService(t, api, lbService("lagging", 8300, nil))
	req := reconcile.Request{NamespacedName: client.ObjectKeyFromObject(svc)}

	// The cache keeps the Service as it was created, through both
	// reconciles: the first adds the finalizer and applies the DaemonSet.
	reads.pin(svc.DeepCopy())
	if _, err := r.Reconcile(ctx, req); err != nil {
		t.Fatalf("first reconcile: %v", err)
	}
	ds := waitDaemonSet(t, api, svc)
	svclbPod(t, api, ds, "master01", "")
	eventually(t, "the pod index shows the pod Ready", func(context.Context) error {
		if len(pods.Of(req.NamespacedName)) == 0 || pods.Starting(req.NamespacedName, ds.Namespace, ds.Name) {
			return errors.New("no Ready pod yet")
		}
		return nil
	})
	if _, err := r.Reconcile(ctx, req); err != nil {
		t.Fatalf("reconcile from the lagging cache: %v", err)
	}
	live, err := getService(ctx, api, svc.Name)
	if err != nil {
		t.Fatal(err)
	}
	var ips []string
	for _, in := range live.Status.LoadBalancer.Ingress {
		ips = append(ips, in.IP)
	}
	if len(ips) != 1 || ips[0] != "10.0.0.51" {
		t.Errorf("after a reconcile from a cache behind its writes, the ingress is %v; want [10.0.0.51] at once", ips)
	}
	if !slices.Contains(live.Finalizers, servicelb.Finalizer) {
		t.Errorf("finalizers %v, want %s kept", live.Finalizers, servicelb.Finalizer)
	}
}

// runCacheSteps creates a Service and reconciles it by hand: it gets its
// DaemonSet, then its ingress from a Ready pod, then is reconciled from a
// copy older than that write, then once more from the current copy.
func runCacheSteps(t *testing.T, api, cached client.Client, pods *servicelb.PodIndex, name string, port int32, drop bool) outcome {
	t.Helper()
	ctx := context.Background()
	reads := &pinnedReads{Client: cached}
	recorder := events.NewFakeRecorder(100)
	newApplier := func() *apply.Applier { return apply.New(api, api, component.FieldManager) }
	r := &servicelb.Reconciler{Client: reads, Reader: api, Applier: newApplier(), Events: recorder, Pods: pods}
	svc := createService(t, api, lbService(name, port, nil))
	req := reconcile.Request{NamespacedName: client.ObjectKeyFromObject(svc)}
	// reconcile runs Reconcile as the controller would: again after an
	// error, once the cache shows the Service as the API server has it.
	reconcileOnce := func(t *testing.T) error {
		if drop {
			r.DropCaches(newApplier())
		}
		_, err := r.Reconcile(ctx, req)
		return err
	}
	caughtUp := func() {
		eventually(t, "the cache shows "+name, func(ctx context.Context) error {
			live, cachedSvc := &corev1.Service{}, &corev1.Service{}
			if err := api.Get(ctx, req.NamespacedName, live); err != nil {
				return err
			}
			if err := cached.Get(ctx, req.NamespacedName, cachedSvc); err != nil {
				return err
			}
			if live.ResourceVersion != cachedSvc.ResourceVersion {
				return fmt.Errorf("cache at %s, API server at %s", cachedSvc.ResourceVersion, live.ResourceVersion)
			}
			return nil
		})
	}
	settle := func(t *testing.T) {
		t.Helper()
		for range 5 {
			caughtUp()
			if err := reconcileOnce(t); err == nil {
				return
			} else if !apierrors.IsConflict(errors.Unwrap(err)) && !apierrors.IsConflict(err) {
				t.Fatalf("reconcile %s: %v", name, err)
			}
		}
		t.Fatalf("reconcile %s kept failing", name)
	}

	settle(t)
	settle(t)
	ds := waitDaemonSet(t, api, svc)
	svclbPod(t, api, ds, "master01", "")
	eventually(t, "the pod index shows the pod", func(context.Context) error {
		if len(pods.Of(req.NamespacedName)) == 0 {
			return errors.New("no pod yet")
		}
		return nil
	})
	caughtUp()
	before, err := getService(ctx, api, name)
	if err != nil {
		t.Fatal(err)
	}
	settle(t)
	waitIngress(t, api, name, "10.0.0.51")

	// A reconcile that reads the Service from before its ingress write.
	reads.pin(before)
	if err := reconcileOnce(t); err != nil && !apierrors.IsConflict(errors.Unwrap(err)) && !apierrors.IsConflict(err) {
		t.Fatalf("reconcile %s from an old copy: %v", name, err)
	}
	reads.pin(nil)
	settle(t)

	final, err := getService(ctx, api, name)
	if err != nil {
		t.Fatal(err)
	}
	out := outcome{}
	for _, in := range final.Status.LoadBalancer.Ingress {
		out.Ingress = append(out.Ingress, in.IP)
	}
	if cond := meta.FindStatusCondition(final.Status.Conditions, servicelb.ConditionType); cond != nil {
		out.Condition = string(cond.Status) + "/" + cond.Reason + ": " + strings.ReplaceAll(cond.Message, name, "NAME")
	}
	for len(recorder.Events) > 0 {
		// "Normal AppliedDaemonSet Applied LoadBalancer DaemonSet ...":
		// the type and reason.
		fields := strings.Fields(<-recorder.Events)
		out.Events = append(out.Events, strings.Join(fields[:2], " "))
	}
	live := &appsv1.DaemonSet{}
	if err := api.Get(ctx, client.ObjectKeyFromObject(ds), live); err != nil {
		t.Fatal(err)
	}
	out.DaemonSet = fmt.Sprintf("generation %d, %d containers", live.Generation, len(live.Spec.Template.Spec.Containers))
	return out
}
