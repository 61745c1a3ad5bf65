package servicelb_test

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
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/servicelb"
)

const timeout = 30 * time.Second

// eventually polls check until it passes or the timeout ends.
func eventually(t *testing.T, what string, check func(ctx context.Context) error) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		last = check(ctx)
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("%s: %v (last: %v)", what, err, last)
	}
}

func createNode(t *testing.T, c client.Client, name, ip string, labels map[string]string) {
	t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if err := c.Create(context.Background(), n); err != nil {
		t.Fatalf("create node %s: %v", name, err)
	}
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}, {Type: corev1.NodeHostName, Address: name}}
	if err := c.Status().Update(context.Background(), n); err != nil {
		t.Fatalf("set status of node %s: %v", name, err)
	}
	// The API server taints new nodes not-ready; without a node lifecycle
	// controller nothing removes the taint, so do it here.
	n.Spec.Taints = nil
	if err := c.Update(context.Background(), n); err != nil {
		t.Fatalf("untaint node %s: %v", name, err)
	}
}

// createClusterNetworking creates the ClusterNetworking with ServiceLB only,
// so that the test sees only its own Services.
func createClusterNetworking(t *testing.T, c client.Client) {
	t.Helper()
	off := false
	cn := &v1alpha1.ClusterNetworking{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.SingletonName}}
	cn.Spec.CoreDNS.Enabled = &off
	cn.Spec.Traefik.Enabled = &off
	if err := c.Create(context.Background(), cn); err != nil {
		t.Fatalf("create clusternetworking: %v", err)
	}
}

func setServiceLB(t *testing.T, c client.Client, enabled bool) {
	t.Helper()
	cn := &v1alpha1.ClusterNetworking{}
	if err := c.Get(context.Background(), client.ObjectKey{Name: v1alpha1.SingletonName}, cn); err != nil {
		t.Fatal(err)
	}
	base := cn.DeepCopy()
	cn.Spec.ServiceLB.Enabled = &enabled
	if err := c.Patch(context.Background(), cn, client.MergeFrom(base)); err != nil {
		t.Fatalf("set serviceLB.enabled=%t: %v", enabled, err)
	}
}

func lbService(name string, port int32, labels map[string]string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: labels},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{
				Name: name, Protocol: corev1.ProtocolTCP, Port: port, TargetPort: intstr.FromString("nginx-port"),
			}},
		},
	}
}

func createService(t *testing.T, c client.Client, svc *corev1.Service) *corev1.Service {
	t.Helper()
	if err := c.Create(context.Background(), svc); err != nil {
		t.Fatalf("create service %s: %v", svc.Name, err)
	}
	return svc
}

func getService(ctx context.Context, c client.Client, name string) (*corev1.Service, error) {
	svc := &corev1.Service{}
	return svc, c.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, svc)
}

// svclbPod creates the pod the DaemonSet controller and a kubelet would
// make (envtest runs neither), Ready on node, or Unschedulable with message.
func svclbPod(t *testing.T, c client.Client, ds *appsv1.DaemonSet, node, unschedulable string) {
	t.Helper()
	ctx := context.Background()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: ds.Name + "-", Namespace: ds.Namespace, Labels: ds.Spec.Template.Labels},
		Spec:       *ds.Spec.Template.Spec.DeepCopy(),
	}
	if unschedulable == "" {
		pod.Spec.NodeName = node
	} else {
		pod.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{{
				Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{node},
			}}}},
		}}}
	}
	if err := c.Create(ctx, pod); err != nil {
		t.Fatalf("create svclb pod: %v", err)
	}
	now := metav1.Now()
	if unschedulable == "" {
		pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.42.0.9", Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		}}
	} else {
		pod.Status = corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
			Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: unschedulable, LastTransitionTime: now,
		}}}
	}
	if err := c.Status().Update(ctx, pod); err != nil {
		t.Fatalf("set svclb pod status: %v", err)
	}
}

// waitDaemonSet waits for the svclb DaemonSet of svc and returns it.
func waitDaemonSet(t *testing.T, c client.Client, svc *corev1.Service) *appsv1.DaemonSet {
	t.Helper()
	ds := &appsv1.DaemonSet{}
	key := client.ObjectKey{Namespace: "kube-system", Name: servicelb.DaemonSetName(svc)}
	eventually(t, "daemonset "+key.Name, func(ctx context.Context) error { return c.Get(ctx, key, ds) })
	return ds
}

func waitDaemonSetGone(t *testing.T, c client.Client, svc *corev1.Service) {
	t.Helper()
	key := client.ObjectKey{Namespace: "kube-system", Name: servicelb.DaemonSetName(svc)}
	eventually(t, "daemonset "+key.Name+" deleted", func(ctx context.Context) error {
		err := c.Get(ctx, key, &appsv1.DaemonSet{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there (err %v)", err)
	})
}

func waitIngress(t *testing.T, c client.Client, name string, want ...string) {
	t.Helper()
	eventually(t, fmt.Sprintf("ingress of %s = %v", name, want), func(ctx context.Context) error {
		svc, err := getService(ctx, c, name)
		if err != nil {
			return err
		}
		var got []string
		for _, in := range svc.Status.LoadBalancer.Ingress {
			got = append(got, in.IP)
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("ingress %v", got)
		}
		return nil
	})
}

func waitFinalizer(t *testing.T, c client.Client, name string, want bool) {
	t.Helper()
	eventually(t, fmt.Sprintf("finalizer on %s = %t", name, want), func(ctx context.Context) error {
		svc, err := getService(ctx, c, name)
		if err != nil {
			return err
		}
		if got := slices.Contains(svc.Finalizers, servicelb.Finalizer); got != want {
			return fmt.Errorf("finalizers %v", svc.Finalizers)
		}
		return nil
	})
}

func waitStatus(t *testing.T, c client.Client, what string, check func(*v1alpha1.ClusterNetworking) error) {
	t.Helper()
	eventually(t, what, func(ctx context.Context) error {
		cn := &v1alpha1.ClusterNetworking{}
		if err := c.Get(ctx, client.ObjectKey{Name: v1alpha1.SingletonName}, cn); err != nil {
			return err
		}
		return check(cn)
	})
}

func waitEvent(t *testing.T, c client.Client, svcName, reason, contains string) {
	t.Helper()
	eventually(t, fmt.Sprintf("event %s on %s", reason, svcName), func(ctx context.Context) error {
		list := &eventsv1.EventList{}
		if err := c.List(ctx, list, client.InNamespace("default")); err != nil {
			return err
		}
		var seen []string
		for _, e := range list.Items {
			if e.Regarding.Name != svcName || e.Reason != reason {
				continue
			}
			if strings.Contains(e.Note, contains) {
				return nil
			}
			seen = append(seen, e.Note)
		}
		return fmt.Errorf("events seen: %q", seen)
	})
}

// wantCondition waits for Service name's ServiceLB condition to have
// status and reason and a message containing contains.
func wantCondition(t *testing.T, c client.Client, name string, status metav1.ConditionStatus, reason, contains string) {
	t.Helper()
	eventually(t, fmt.Sprintf("condition %s %s on %s", status, reason, name), func(ctx context.Context) error {
		svc, err := getService(ctx, c, name)
		if err != nil {
			return err
		}
		cond := meta.FindStatusCondition(svc.Status.Conditions, servicelb.ConditionType)
		switch {
		case cond == nil:
			return fmt.Errorf("no condition in %+v", svc.Status.Conditions)
		case cond.Status != status || cond.Reason != reason || !strings.Contains(cond.Message, contains):
			return fmt.Errorf("condition %s %s %q", cond.Status, cond.Reason, cond.Message)
		case cond.ObservedGeneration != svc.Generation:
			return fmt.Errorf("condition of generation %d, the Service's is %d", cond.ObservedGeneration, svc.Generation)
		}
		return nil
	})
}
