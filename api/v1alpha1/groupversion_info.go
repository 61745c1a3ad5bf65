// Package v1alpha1 holds the networking.wharf.dev/v1alpha1 API: the
// cluster-scoped ClusterNetworking resource that declares CoreDNS, Traefik
// and ServiceLB for a whole cluster.
//
// +kubebuilder:object:generate=true
// +groupName=networking.wharf.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: "networking.wharf.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the types of this API with a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this API to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
