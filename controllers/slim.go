package controllers

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/controllers/component"
	"github.com/wharf-dev/wharf/internal/apply"
)

// The cache transforms below keep of each object what wharf reads and drop
// the rest before the object is stored: at 2,000 LoadBalancer Services the
// cached copies are most of the manager's memory. A reader that needs a
// dropped field must add it here, and slim_test.go lists what is kept.

// transform makes slim a cache transform: objects of another type pass
// unchanged.
func transform[T any](slim func(T) T) toolscache.TransformFunc {
	return func(obj any) (any, error) {
		if t, ok := obj.(T); ok {
			return slim(t), nil
		}
		return obj, nil
	}
}

// keptMeta is the metadata every slimmed object keeps: identity, version,
// deletion, labels and owner references. Annotations, finalizers and
// managed fields go unless a transform adds them back.
func keptMeta(m *metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
		Generation: m.Generation, CreationTimestamp: m.CreationTimestamp, DeletionTimestamp: m.DeletionTimestamp,
		Labels: m.Labels, OwnerReferences: m.OwnerReferences,
	}
}

// lastAppliedAnnotation is kubectl's copy of the whole object as applied,
// often the largest part of a Service.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// slimDaemonSet keeps the metadata of a DaemonSet wharf applied: its
// Applier decides from the applied-hash annotation and the managed fields
// whether the DaemonSet still holds what it applied, and ServiceLB finds a
// Service's DaemonSets by label. ServiceLB watches DaemonSets as metadata
// only; a typed DaemonSet, should anything read one, loses its spec and
// status, which nothing reads.
func slimDaemonSet(obj any) (any, error) {
	switch ds := obj.(type) {
	case *metav1.PartialObjectMetadata:
		return slimManagedFields(ds), nil
	case *appsv1.DaemonSet:
		return slimManagedFields(&appsv1.DaemonSet{TypeMeta: ds.TypeMeta, ObjectMeta: ds.ObjectMeta}), nil
	}
	return obj, nil
}

// slimManagedFields keeps the managed fields wharf's Applier reads: its own
// entries (their field sets as digests, see apply.CompactFieldSets), the
// other managers' entries without their field sets
// (their time tells whether another manager wrote after wharf), and no
// status entries of other managers.
func slimManagedFields(o client.Object) client.Object {
	var keep []metav1.ManagedFieldsEntry
	for _, mf := range o.GetManagedFields() {
		switch {
		case mf.Manager == component.FieldManager:
			keep = append(keep, mf)
		case mf.Subresource != "":
		default:
			mf.FieldsV1 = nil
			keep = append(keep, mf)
		}
	}
	o.SetManagedFields(keep)
	apply.CompactFieldSets(o, component.FieldManager)
	return o
}

// slimService drops a Service's managed fields and kubectl's
// last-applied copy of it.
func slimService(svc *corev1.Service) *corev1.Service {
	svc.ManagedFields = nil
	if _, ok := svc.Annotations[lastAppliedAnnotation]; ok {
		annotations := make(map[string]string, len(svc.Annotations)-1)
		for k, v := range svc.Annotations {
			if k != lastAppliedAnnotation {
				annotations[k] = v
			}
		}
		svc.Annotations = annotations
	}
	return svc
}

// slimWatchedMetadata keeps of a ConfigMap's or Secret's metadata what its
// watches use: identity, labels, owner references and deletion. The
// annotations go: kubectl's last-applied copy of a ConfigMap or Secret holds
// its whole data, which the manager must neither keep in memory nor hold
// for every Secret of the cluster.
func slimWatchedMetadata(m *metav1.PartialObjectMetadata) *metav1.PartialObjectMetadata {
	finalizers := m.Finalizers
	m.ObjectMeta = keptMeta(&m.ObjectMeta)
	m.Finalizers = finalizers
	return m
}

// slimNode drops a Node's managed fields and the lists of images and
// volumes its kubelet reports, which wharf never reads.
func slimNode(node *corev1.Node) *corev1.Node {
	node.ManagedFields = nil
	node.Status.Images = nil
	node.Status.VolumesInUse = nil
	node.Status.VolumesAttached = nil
	return node
}

// slimEndpointSlice keeps what ServiceLB reads of an EndpointSlice for
// Services with externalTrafficPolicy Local: which Service it belongs to
// and, per endpoint, its node, its readiness and that it is a pod.
func slimEndpointSlice(eps *discoveryv1.EndpointSlice) *discoveryv1.EndpointSlice {
	slim := &discoveryv1.EndpointSlice{TypeMeta: eps.TypeMeta, ObjectMeta: keptMeta(&eps.ObjectMeta), AddressType: eps.AddressType}
	for _, ep := range eps.Endpoints {
		e := discoveryv1.Endpoint{NodeName: ep.NodeName, Conditions: ep.Conditions}
		if ep.TargetRef != nil {
			e.TargetRef = &corev1.ObjectReference{Kind: ep.TargetRef.Kind, Namespace: ep.TargetRef.Namespace, Name: ep.TargetRef.Name}
		}
		slim.Endpoints = append(slim.Endpoints, e)
	}
	return slim
}
