package coredns

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/wharf-dev/wharf/controllers/component"
)

// Adopts implements component.Adopter: the objects K3s and kubeadm deploy
// CoreDNS with, under the names wharf renders, are taken over in place.
// wharf records them as adopted and releases them, never deletes them,
// when CoreDNS is disabled.
func (c *Component) Adopts(_ component.Facts, obj *unstructured.Unstructured) bool {
	switch obj.GetKind() + "/" + obj.GetName() {
	case "ServiceAccount/coredns", "ClusterRole/" + ClusterRoleName, "ClusterRoleBinding/" + ClusterRoleName,
		"ConfigMap/" + ConfigMapName, "Deployment/" + DeploymentName, "Service/" + ServiceName:
		return true
	}
	return false
}

var _ component.Adopter = (*Component)(nil)
