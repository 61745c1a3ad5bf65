package servicelb

import (
	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/internal/images"
)

// imageOf returns the klipper-lb image: spec.image as it is when set, else
// the default image on registry (the ClusterNetworking's
// systemDefaultRegistry) when that is set.
func imageOf(spec *v1alpha1.ServiceLBSpec, registry string) string {
	if spec.Image != "" {
		return spec.Image
	}
	return images.WithRegistry(v1alpha1.DefaultServiceLBImage, registry)
}
