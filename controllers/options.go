package controllers

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/internal/apply"
)

// SvcNameLabel marks svclb DaemonSets and pods with the name of the Service
// they serve; the manager caches only pods that carry it.
const SvcNameLabel = "svccontroller.k3s.cattle.io/svcname"

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

// CacheOptions bounds what the manager keeps in memory: svclb pods only,
// wharf's own DaemonSets and Deployments only, and no managed fields on the
// cluster-wide kinds it must watch (Nodes, Services, EndpointSlices).
func CacheOptions() cache.Options {
	svclbPods, err := labels.NewRequirement(SvcNameLabel, selection.Exists, nil)
	if err != nil {
		panic(err)
	}
	managed := labels.SelectorFromSet(labels.Set{apply.ManagedByLabel: apply.ManagedByValue})
	strip := cache.TransformStripManagedFields()
	return cache.Options{
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}:                {Label: labels.NewSelector().Add(*svclbPods), Transform: slimPod},
			&appsv1.DaemonSet{}:          {Label: managed, Transform: slimManagedFields},
			&appsv1.Deployment{}:         {Label: managed},
			&corev1.Node{}:               {Transform: strip},
			&corev1.Service{}:            {Transform: strip},
			&discoveryv1.EndpointSlice{}: {Transform: strip},
		},
	}
}

// ClientOptions makes reads of Secrets and ConfigMaps go to the API server,
// so the manager never caches every Secret and ConfigMap of the cluster.
func ClientOptions() client.Options {
	return client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}, &corev1.ConfigMap{}}}}
}

// slimPod keeps of a svclb pod what ServiceLB reads: identity, labels,
// deletion, the node it runs on (or is meant for), its containers' ports,
// its conditions and IPs. Env, images, volumes, container statuses and
// managed fields are dropped: they are most of a pod's size.
func slimPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	slim := &corev1.Pod{
		TypeMeta: pod.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID, ResourceVersion: pod.ResourceVersion,
			Generation: pod.Generation, CreationTimestamp: pod.CreationTimestamp, DeletionTimestamp: pod.DeletionTimestamp,
			Labels: pod.Labels, OwnerReferences: pod.OwnerReferences,
		},
		Spec: corev1.PodSpec{NodeName: pod.Spec.NodeName, Affinity: pod.Spec.Affinity},
		Status: corev1.PodStatus{
			Phase: pod.Status.Phase, Conditions: pod.Status.Conditions,
			PodIP: pod.Status.PodIP, PodIPs: pod.Status.PodIPs, HostIP: pod.Status.HostIP, HostIPs: pod.Status.HostIPs,
		},
	}
	for _, c := range pod.Spec.Containers {
		slim.Spec.Containers = append(slim.Spec.Containers, corev1.Container{Name: c.Name, Ports: c.Ports})
	}
	return slim, nil
}

// slimManagedFields keeps the managed fields wharf's Applier reads: its own
// entries whole, the other managers' entries without their field sets
// (their time tells whether another manager wrote after wharf), and no
// status entries of other managers.
func slimManagedFields(obj any) (any, error) {
	o, ok := obj.(client.Object)
	if !ok {
		return obj, nil
	}
	var keep []metav1.ManagedFieldsEntry
	for _, mf := range o.GetManagedFields() {
		switch {
		case mf.Manager == "wharf":
			keep = append(keep, mf)
		case mf.Subresource != "":
		default:
			mf.FieldsV1 = nil
			keep = append(keep, mf)
		}
	}
	o.SetManagedFields(keep)
	return o, nil
}
