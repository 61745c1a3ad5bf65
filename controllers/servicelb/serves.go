package servicelb

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/wharf-dev/wharf/api/v1alpha1"
)

// Serves reports whether ServiceLB with spec serves svc: a Service of type
// LoadBalancer with no load-balancer class, or with the class spec names.
// Whether ServiceLB is enabled at all is not considered.
func Serves(svc *corev1.Service, spec *v1alpha1.ServiceLBSpec) bool {
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return false
	}
	class := ptr.Deref(svc.Spec.LoadBalancerClass, "")
	return class == "" || (spec.LoadBalancerClass != "" && class == spec.LoadBalancerClass)
}

// relevant reports whether the Service reconciler has anything to do with
// svc: a LoadBalancer Service, or one that still carries the finalizer or
// the legacy K3s finalizer.
func relevant(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer || hasFinalizer(svc) || hasLegacyFinalizer(svc)
}

func hasFinalizer(svc *corev1.Service) bool {
	for _, f := range svc.Finalizers {
		if f == Finalizer {
			return true
		}
	}
	return false
}

// localTraffic reports whether svc only sends traffic to endpoints on the
// node it arrived on (externalTrafficPolicy: Local).
func localTraffic(svc *corev1.Service) bool {
	return svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
}
