// Package v1alpha1 holds the networking.wharf.dev/v1alpha1 API: the
// cluster-scoped ClusterNetworking resource that declares CoreDNS, Traefik
// and ServiceLB for a whole cluster.
//
// +kubebuilder:object:generate=true
// +groupName=networking.wharf.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The scheme registration is written out as k8s.io/api's packages do, so
// that importing this API needs only k8s.io/apimachinery, not
// controller-runtime.
var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: "networking.wharf.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the types of this API with a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types of this API to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// addKnownTypes registers ClusterNetworking and its list under
// GroupVersion, with the meta/v1 types every group carries (ListOptions,
// WatchEvent, ...).
func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(GroupVersion, &ClusterNetworking{}, &ClusterNetworkingList{})
	metav1.AddToGroupVersion(scheme, GroupVersion)
	return nil
}
