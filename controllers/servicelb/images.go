package servicelb

import (
	"strings"

	"github.com/wharf-dev/wharf/api/v1alpha1"
)

// imageOf returns the klipper-lb image: spec.image as it is when set, else
// the default image with its registry host replaced by registry (the
// ClusterNetworking's systemDefaultRegistry) when that is set.
//
// The shared helper for this is planned in internal/images; until it lands,
// this local one has the same semantics.
func imageOf(spec *v1alpha1.ServiceLBSpec, registry string) string {
	if spec.Image != "" {
		return spec.Image
	}
	return withRegistry(v1alpha1.DefaultServiceLBImage, registry)
}

// withRegistry replaces the registry host of image (docker.io when it names
// none) by registry: docker.io/rancher/klipper-lb:v0.4.13 with
// registry.example.com:5000 becomes
// registry.example.com:5000/rancher/klipper-lb:v0.4.13. An empty registry
// leaves image as it is.
func withRegistry(image, registry string) string {
	registry = strings.TrimSuffix(registry, "/")
	if registry == "" {
		return image
	}
	rest := image
	if i := strings.IndexByte(image, '/'); i > 0 {
		if host := image[:i]; strings.ContainsAny(host, ".:") || host == "localhost" {
			rest = image[i+1:]
		}
	}
	return registry + "/" + rest
}
