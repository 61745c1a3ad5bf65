// Package servicelb manages ServiceLB from the ClusterNetworking resource.
package servicelb

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
)

// Component is the ServiceLB component.
type Component struct {
	deps component.Deps
}

// New returns the ServiceLB component.
func New(deps component.Deps) *Component { return &Component{deps: deps} }

// Name implements component.Component.
func (c *Component) Name() string { return "servicelb" }

// ConditionType implements component.Component.
func (c *Component) ConditionType() string { return v1alpha1.ConditionServiceLBReady }

// Enabled implements component.Component.
func (c *Component) Enabled(cn *v1alpha1.ClusterNetworking) bool {
	return cn.Spec.ServiceLB.IsEnabled()
}

// Render implements component.Component.
func (c *Component) Render(ctx context.Context, cn *v1alpha1.ClusterNetworking) ([]*unstructured.Unstructured, error) {
	return nil, nil
}

// Observe implements component.Component.
func (c *Component) Observe(ctx context.Context, cn *v1alpha1.ClusterNetworking, status *v1alpha1.ClusterNetworkingStatus) (component.Health, error) {
	return component.Health{Reason: "NotImplemented", Message: "servicelb is not managed yet"}, nil
}
