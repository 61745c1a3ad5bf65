package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/servicelb"
)

// slbTimeout bounds each wait of the ServiceLB test.
const slbTimeout = 60 * time.Second

// slbNamespace is where the svclb DaemonSets live (the default).
const slbNamespace = "kube-system"

// slbStep runs one named part of the test and stops the test when it fails.
func slbStep(t *testing.T, name string, fn func()) {
	t.Helper()
	began := time.Now()
	fn()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("ok: %s (%s)", name, time.Since(began).Round(time.Millisecond))
}

// slbEventually polls check until it passes, failing the test after slbTimeout.
func slbEventually(ctx context.Context, t *testing.T, what string, check func(ctx context.Context) error) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, slbTimeout, true, func(ctx context.Context) (bool, error) {
		last = check(ctx)
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("%s: not within %s: %v", what, slbTimeout, last)
	}
}

// slbNginx creates the guide's nginx Deployment.
func slbNginx(ctx context.Context, t *testing.T, cl client.Client) {
	t.Helper()
	labels := map[string]string{"app": "nginx"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx-deployment", Namespace: "default", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name:  "nginx",
					Image: "kingsd/nginx:install-tools",
					Ports: []corev1.ContainerPort{{ContainerPort: 80, Name: "nginx-port"}},
				}}},
			},
		},
	}
	if err := cl.Create(ctx, d); err != nil {
		t.Fatalf("create the nginx deployment: %v", err)
	}
}

// slbHostPortDaemonSet runs, on every node, a pod that is not a svclb pod
// and binds port on the host. Its pods are node-critical, as svclb pods
// are: the scheduler would preempt pods of a lower priority for them.
func slbHostPortDaemonSet(ctx context.Context, t *testing.T, cl client.Client, name string, port int32) {
	t.Helper()
	labels := map[string]string{"app": name}
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{PriorityClassName: "system-node-critical", Containers: []corev1.Container{{
					Name:  "web",
					Image: "nginx",
					Ports: []corev1.ContainerPort{{ContainerPort: port, HostPort: port, Protocol: corev1.ProtocolTCP}},
				}}},
			},
		},
	}
	if err := cl.Create(ctx, ds); err != nil {
		t.Fatalf("create daemonset %s: %v", name, err)
	}
	slbEventually(ctx, t, name+" running on both nodes", func(ctx context.Context) error {
		list := &corev1.PodList{}
		if err := cl.List(ctx, list, client.InNamespace("default"), client.MatchingLabels(labels)); err != nil {
			return err
		}
		ready := 0
		for i := range list.Items {
			if slbPodReady(&list.Items[i]) {
				ready++
			}
		}
		if ready != 2 {
			return fmt.Errorf("%d of 2 pods ready", ready)
		}
		return nil
	})
}

// slbService creates a LoadBalancer Service in default for the nginx pods.
func slbService(ctx context.Context, t *testing.T, cl client.Client, name string, port int32, edit func(*corev1.Service)) *corev1.Service {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": "nginx"},
			Ports: []corev1.ServicePort{{
				Name: "nginx", Protocol: corev1.ProtocolTCP, Port: port, TargetPort: intstr.FromString("nginx-port"),
			}},
		},
	}
	if edit != nil {
		edit(svc)
	}
	if err := cl.Create(ctx, svc); err != nil {
		t.Fatalf("create service %s: %v", name, err)
	}
	return svc
}

// slbDaemonSet waits for the svclb DaemonSet of svc to pass check.
func slbDaemonSet(ctx context.Context, t *testing.T, cl client.Client, svc *corev1.Service, check func(*appsv1.DaemonSet) error) *appsv1.DaemonSet {
	t.Helper()
	ds := &appsv1.DaemonSet{}
	key := client.ObjectKey{Namespace: slbNamespace, Name: servicelb.DaemonSetName(svc)}
	slbEventually(ctx, t, "daemonset "+key.Name, func(ctx context.Context) error {
		if err := cl.Get(ctx, key, ds); err != nil {
			return err
		}
		if check == nil {
			return nil
		}
		return check(ds)
	})
	return ds
}

// slbDaemonSetGone waits until the svclb DaemonSet of svc is deleted.
func slbDaemonSetGone(ctx context.Context, t *testing.T, cl client.Client, svc *corev1.Service) {
	t.Helper()
	key := client.ObjectKey{Namespace: slbNamespace, Name: servicelb.DaemonSetName(svc)}
	slbEventually(ctx, t, "daemonset "+key.Name+" deleted", func(ctx context.Context) error {
		if err := cl.Get(ctx, key, &appsv1.DaemonSet{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("still there (err %v)", err)
		}
		return nil
	})
}

// slbPods waits until the ready pods of the svclb DaemonSet of svc run on
// exactly nodes (and no other pod of it exists).
func slbPods(ctx context.Context, t *testing.T, cl client.Client, svc *corev1.Service, nodes ...string) {
	t.Helper()
	slbEventually(ctx, t, fmt.Sprintf("svclb pods of %s ready on %v", svc.Name, nodes), func(ctx context.Context) error {
		pods, err := slbListPods(ctx, cl, svc)
		if err != nil {
			return err
		}
		var on []string
		for _, p := range pods {
			if !slbPodReady(&p) {
				return fmt.Errorf("pod %s on %q not ready (phase %s)", p.Name, p.Spec.NodeName, p.Status.Phase)
			}
			on = append(on, p.Spec.NodeName)
		}
		slices.Sort(on)
		if !slices.Equal(on, nodes) {
			return fmt.Errorf("pods on %v", on)
		}
		return nil
	})
}

func slbListPods(ctx context.Context, cl client.Client, svc *corev1.Service) ([]corev1.Pod, error) {
	list := &corev1.PodList{}
	err := cl.List(ctx, list, client.InNamespace(slbNamespace), client.MatchingLabels{"app": servicelb.DaemonSetName(svc)})
	return list.Items, err
}

func slbPodReady(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning || !p.DeletionTimestamp.IsZero() {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// slbIngress waits until the ingress IPs of the Service name are want.
func slbIngress(ctx context.Context, t *testing.T, cl client.Client, name string, want ...string) {
	t.Helper()
	slbEventually(ctx, t, fmt.Sprintf("ingress of %s = %v", name, want), func(ctx context.Context) error {
		got, err := slbIngressIPs(ctx, cl, name)
		if err != nil {
			return err
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("ingress %v", got)
		}
		return nil
	})
}

func slbIngressIPs(ctx context.Context, cl client.Client, name string) ([]string, error) {
	svc := &corev1.Service{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, svc); err != nil {
		return nil, err
	}
	var ips []string
	for _, in := range svc.Status.LoadBalancer.Ingress {
		ips = append(ips, in.IP)
	}
	return ips, nil
}

// slbStatus waits until the ClusterNetworking status passes check.
func slbStatus(ctx context.Context, t *testing.T, cl client.Client, what string, check func(*v1alpha1.ClusterNetworking) error) {
	t.Helper()
	slbEventually(ctx, t, what, func(ctx context.Context) error {
		cn := &v1alpha1.ClusterNetworking{}
		if err := cl.Get(ctx, client.ObjectKey{Name: v1alpha1.SingletonName}, cn); err != nil {
			return err
		}
		return check(cn)
	})
}

// slbEvent waits for an Event with reason on the Service name whose note
// contains every one of parts.
func slbEvent(ctx context.Context, t *testing.T, cl client.Client, name, reason string, parts ...string) {
	t.Helper()
	slbEventually(ctx, t, fmt.Sprintf("event %s on %s", reason, name), func(ctx context.Context) error {
		list := &eventsv1.EventList{}
		if err := cl.List(ctx, list, client.InNamespace("default")); err != nil {
			return err
		}
		var notes []string
		for _, e := range list.Items {
			if e.Regarding.Kind != "Service" || e.Regarding.Name != name || e.Reason != reason {
				continue
			}
			if containsAll(e.Note, parts) {
				return nil
			}
			notes = append(notes, e.Note)
		}
		return fmt.Errorf("notes seen: %q", notes)
	})
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// slbFinalizer waits until the Service name has (or lacks) the finalizer.
func slbFinalizer(ctx context.Context, t *testing.T, cl client.Client, name string, want bool) {
	t.Helper()
	slbEventually(ctx, t, fmt.Sprintf("finalizer on %s = %t", name, want), func(ctx context.Context) error {
		svc := &corev1.Service{}
		if err := cl.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, svc); err != nil {
			return err
		}
		if got := slices.Contains(svc.Finalizers, servicelb.Finalizer); got != want {
			return fmt.Errorf("finalizers %v", svc.Finalizers)
		}
		return nil
	})
}

// slbLabelNode sets (value non-nil) or removes a label of a node.
func slbLabelNode(ctx context.Context, t *testing.T, cl client.Client, name, key string, value *string) {
	t.Helper()
	slbEventually(ctx, t, "label node "+name, func(ctx context.Context) error {
		n := &corev1.Node{}
		if err := cl.Get(ctx, client.ObjectKey{Name: name}, n); err != nil {
			return err
		}
		if value == nil {
			delete(n.Labels, key)
		} else {
			n.Labels[key] = *value
		}
		return cl.Update(ctx, n)
	})
}

// slbSetEnabled turns ServiceLB on or off.
func slbSetEnabled(ctx context.Context, t *testing.T, cl client.Client, enabled bool) {
	t.Helper()
	slbEventually(ctx, t, fmt.Sprintf("set serviceLB.enabled=%t", enabled), func(ctx context.Context) error {
		cn := &v1alpha1.ClusterNetworking{}
		if err := cl.Get(ctx, client.ObjectKey{Name: v1alpha1.SingletonName}, cn); err != nil {
			return err
		}
		cn.Spec.ServiceLB.Enabled = &enabled
		return cl.Update(ctx, cn)
	})
}

// slbDaemonSets lists every svclb DaemonSet of the cluster by name, with UIDs.
func slbDaemonSets(ctx context.Context, t *testing.T, cl client.Client) map[string]string {
	t.Helper()
	list := &appsv1.DaemonSetList{}
	if err := cl.List(ctx, list, client.HasLabels{servicelb.SvcNameLabel}); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, ds := range list.Items {
		out[ds.Namespace+"/"+ds.Name] = string(ds.UID)
	}
	return out
}
