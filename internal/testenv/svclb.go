package testenv

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
	"github.com/wharf-dev/wharf/controllers/servicelb"
	"github.com/wharf-dev/wharf/internal/apply"
	"github.com/wharf-dev/wharf/internal/render"
)

// ApplyLegacySvclbDaemonSet applies the svclb DaemonSet of svc as wharf
// applied it before the nodeselector label became an annotation (the label
// K3s's start-up clean-up deletes by), and returns it as stored.
func ApplyLegacySvclbDaemonSet(ctx context.Context, t testing.TB, c client.Client, cn *v1alpha1.ClusterNetworking, svc *corev1.Service) *appsv1.DaemonSet {
	t.Helper()
	obj := BuiltSvclbDaemonSet(t, cn, svc)
	apply.Mark(obj, servicelb.ComponentName)
	obj.SetAnnotations(nil)
	labels := obj.GetLabels()
	labels[servicelb.NodeSelectorAnnotation] = "false"
	obj.SetLabels(labels)
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner(component.FieldManager), client.ForceOwnership); err != nil {
		t.Fatalf("apply the legacy daemonset: %v", err)
	}
	ds := &appsv1.DaemonSet{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), ds); err != nil {
		t.Fatal(err)
	}
	return ds
}

// BuiltSvclbDaemonSet returns the svclb DaemonSet servicelb.BuildDaemonSet
// builds for svc under cn, as an unstructured object.
func BuiltSvclbDaemonSet(t testing.TB, cn *v1alpha1.ClusterNetworking, svc *corev1.Service) *unstructured.Unstructured {
	t.Helper()
	ac, err := servicelb.BuildDaemonSet(svc, cn.Spec.ServiceLB, servicelb.ClusterOf(cn), servicelb.Facts{})
	if err != nil {
		t.Fatal(err)
	}
	obj, err := render.FromTyped(ac)
	if err != nil {
		t.Fatal(err)
	}
	return obj
}
