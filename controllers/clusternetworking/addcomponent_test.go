package clusternetworking_test

// The worked example of docs/architecture.md ("Adding a component"): a
// fourth component, registered only here, runs through the real frame
// against a real API server.

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
	"github.com/wharf-dev/wharf/internal/render"
	"github.com/wharf-dev/wharf/internal/testenv"
)

// metricsServer is metrics-server as K3s bundles it: a ServiceAccount and
// a Deployment named metrics-server in kube-system, pods labelled
// k8s-app=metrics-server (k3s-io/k3s manifests/metrics-server). A real
// component would read spec.metricsServer (a new field with
// +kubebuilder:default markers); the example is switched off by an
// annotation so the test needs no change to the CRD.
type metricsServer struct {
	// reader reads what the component observes (the manager's cache in
	// the operator, component.Deps.Client).
	reader client.Reader
}

const metricsServerName = "metrics-server"

func (m *metricsServer) Name() string          { return metricsServerName }
func (m *metricsServer) ConditionType() string { return "MetricsServerReady" }
func (m *metricsServer) Enabled(cn *v1alpha1.ClusterNetworking) bool {
	return cn.Annotations["test/metrics-server"] != "off"
}

// Inputs reads nothing: metrics-server renders from the spec alone.
func (m *metricsServer) Inputs(context.Context, *v1alpha1.ClusterNetworking) (component.Facts, error) {
	return nil, nil
}

// Render is a pure function of the spec.
func (m *metricsServer) Render(*v1alpha1.ClusterNetworking, component.Facts) ([]*unstructured.Unstructured, error) {
	labels := map[string]string{"k8s-app": metricsServerName}
	sa := corev1ac.ServiceAccount(metricsServerName, metav1.NamespaceSystem)
	d := appsv1ac.Deployment(metricsServerName, metav1.NamespaceSystem).WithSpec(appsv1ac.DeploymentSpec().
		WithSelector(metav1ac.LabelSelector().WithMatchLabels(labels)).
		WithTemplate(corev1ac.PodTemplateSpec().WithLabels(labels).WithSpec(corev1ac.PodSpec().
			WithServiceAccountName(metricsServerName).
			WithContainers(corev1ac.Container().WithName(metricsServerName).WithImage("docker.io/rancher/mirrored-metrics-server:v0.8.0")))))
	var objs []*unstructured.Unstructured
	for _, ac := range []any{sa, d} {
		obj, err := render.FromTyped(ac)
		if err != nil {
			return nil, err
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

// Observe reads the applied Deployment's status: Ready once a pod is.
func (m *metricsServer) Observe(ctx context.Context, _ *v1alpha1.ClusterNetworking, _ component.Facts, _ *v1alpha1.ClusterNetworkingStatus) (component.Health, error) {
	d := &appsv1.Deployment{}
	if err := m.reader.Get(ctx, client.ObjectKey{Namespace: metav1.NamespaceSystem, Name: metricsServerName}, d); err != nil {
		return component.Health{}, fmt.Errorf("read deployment %s: %w", metricsServerName, err)
	}
	if d.Status.ReadyReplicas == 0 {
		return component.Progressing("waiting for a metrics-server pod to be ready"), nil
	}
	return component.Ready(fmt.Sprintf("%d metrics-server pods ready", d.Status.ReadyReplicas)), nil
}

var _ component.Component = (*metricsServer)(nil)

func TestAddingAComponent(t *testing.T) {
	env := testenv.Start(t)
	c := env.Client
	ctx := context.Background()
	startFrame(t, env.Config, &metricsServer{reader: c})
	createCN(t, c, nil)

	// Applied and inventoried; not Ready until its pod is.
	eventually(t, 30*time.Second, "metrics-server applied and inventoried", func() error {
		cn := getCN(t, c)
		var kinds []string
		for _, e := range cn.Status.Inventory {
			if e.Component == metricsServerName {
				kinds = append(kinds, e.Kind+"/"+e.Name)
			}
		}
		if len(kinds) != 2 {
			return fmt.Errorf("inventory of metrics-server: %v, want its ServiceAccount and Deployment", kinds)
		}
		return conditionIs(cn, "MetricsServerReady", metav1.ConditionFalse)
	})
	d := &appsv1.Deployment{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: metav1.NamespaceSystem, Name: metricsServerName}, d); err != nil {
		t.Fatal(err)
	}
	if d.Labels["app.kubernetes.io/managed-by"] != "wharf" {
		t.Errorf("the Deployment lacks wharf's label: %v", d.Labels)
	}

	// Its pod turns ready (written here as kube-controller-manager would):
	// the frame watches Deployments and reports the component Ready.
	d.Status.Replicas, d.Status.ReadyReplicas = 1, 1
	if err := c.Status().Update(ctx, d); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "MetricsServerReady and Ready", func() error {
		cn := getCN(t, c)
		if err := conditionIs(cn, "MetricsServerReady", metav1.ConditionTrue); err != nil {
			return err
		}
		return conditionIs(cn, v1alpha1.ConditionReady, metav1.ConditionTrue)
	})

	// Disabled: what it applied is pruned and its condition says so.
	annotate(t, c, "test/metrics-server", "off")
	eventually(t, 30*time.Second, "metrics-server pruned", func() error {
		for _, obj := range []client.Object{&appsv1.Deployment{}, &corev1.ServiceAccount{}} {
			err := c.Get(ctx, client.ObjectKey{Namespace: metav1.NamespaceSystem, Name: metricsServerName}, obj)
			if !apierrors.IsNotFound(err) {
				return fmt.Errorf("%T still there (err %v)", obj, err)
			}
		}
		cn := getCN(t, c)
		if len(cn.Status.Inventory) != 0 {
			return fmt.Errorf("inventory: %+v", cn.Status.Inventory)
		}
		if cond := meta.FindStatusCondition(cn.Status.Conditions, "MetricsServerReady"); cond == nil || cond.Reason != v1alpha1.ReasonDisabled {
			return fmt.Errorf("MetricsServerReady = %+v, want reason Disabled", cond)
		}
		return nil
	})
}
