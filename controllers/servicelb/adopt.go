package servicelb

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/wharf-dev/wharf/controllers/component"
)

// Adopts implements component.Adopter: the svclb ServiceAccount that K3s's
// own ServiceLB creates in its LB namespace (k3s-io/k3s
// pkg/cloudprovider/servicelb.go) and leaves behind when started with
// --disable=servicelb is taken over in place; wharf records it as adopted
// and releases it, never deletes it, when ServiceLB is disabled.
func (c *Component) Adopts(_ component.Facts, obj *unstructured.Unstructured) bool {
	return obj.GetKind() == "ServiceAccount" && obj.GetName() == ServiceAccountName
}

var _ component.Adopter = (*Component)(nil)
