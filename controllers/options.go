package controllers

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
)

// NewScheme returns a scheme with every type the manager reads or writes.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}

// CacheOptions bounds what the manager keeps in memory: of the kinds in
// cacheScopes only their part (wharf's own DaemonSets and Deployments; no
// pods: ServiceLB keeps its own records of svclb pods), and of the cluster-wide kinds it must watch (Nodes,
// Services, EndpointSlices, the metadata of ConfigMaps and Secrets) only
// what it reads (see slim.go).
func CacheOptions() cache.Options {
	byObject := map[client.Object]cache.ByObject{
		&corev1.Node{}:               {Transform: transform(slimNode)},
		&corev1.Service{}:            {Transform: transform(slimService)},
		&discoveryv1.EndpointSlice{}: {Transform: transform(slimEndpointSlice)},
		// Only the metadata of ConfigMaps and Secrets is watched (their
		// content is read from the API server when needed).
		&corev1.ConfigMap{}: {Transform: transform(slimWatchedMetadata)},
		&corev1.Secret{}:    {Transform: transform(slimWatchedMetadata)},
	}
	for _, s := range cacheScopes() {
		if s.selector != nil {
			byObject[s.object] = cache.ByObject{Label: s.selector, Transform: s.transform}
		}
	}
	return cache.Options{ByObject: byObject}
}

// ClientOptions makes reads of Secrets and ConfigMaps go to the API server,
// so the manager never caches every Secret and ConfigMap of the cluster.
func ClientOptions() client.Options {
	return client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}, &corev1.ConfigMap{}}}}
}
