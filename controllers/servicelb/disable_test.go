package servicelb

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
	"github.com/wharf-dev/wharf/internal/apply"
)

// Disable reports what the Service reconciler still has to remove and
// returns at once: a worker never waits for another controller.
func TestDisableReportsWhatIsLeftWithoutWaiting(t *testing.T) {
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "svclb-nginx-0123abcd",
		Labels: map[string]string{apply.ManagedByLabel: apply.ManagedByValue, apply.ComponentLabel: ComponentName}}}
	nginx := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "nginx"},
		Spec:   corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer},
		Status: corev1.ServiceStatus{Conditions: []metav1.Condition{{Type: ConditionType, Status: metav1.ConditionTrue, Reason: ReasonServing}}}}
	c := fake.NewClientBuilder().WithObjects(ds, nginx).WithStatusSubresource(nginx).Build()
	comp := New(component.Deps{Client: c})
	ctx := context.Background()
	status := &v1alpha1.ClusterNetworkingStatus{ServiceLB: &v1alpha1.ServiceLBStatus{Services: 1}}

	start := time.Now()
	cleanup, err := comp.Disable(ctx, &v1alpha1.ClusterNetworking{}, status)
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("Disable took %s: it must not wait for the Service reconciler", took)
	}
	if err != nil {
		t.Fatalf("Disable: %v, want what is left, not an error", err)
	}
	if cleanup.Done() || !strings.Contains(cleanup.Left, "1 svclb DaemonSets") || !strings.Contains(cleanup.Left, "1 Services") || cleanup.RecheckAfter <= 0 {
		t.Errorf("cleanup = %+v, want 1 DaemonSet and 1 Service left and a recheck", cleanup)
	}
	if status.ServiceLB != nil {
		t.Errorf("status.serviceLB = %+v, want it cleared", status.ServiceLB)
	}

	// The Service reconciler released the Service and deleted its DaemonSet.
	nginx.Status.Conditions = nil
	if err := c.Status().Update(ctx, nginx); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, ds); err != nil {
		t.Fatal(err)
	}
	if cleanup, err := comp.Disable(ctx, &v1alpha1.ClusterNetworking{}, status); err != nil || !cleanup.Done() {
		t.Errorf("after the cleanup: Disable = %+v, %v; want done", cleanup, err)
	}
}
