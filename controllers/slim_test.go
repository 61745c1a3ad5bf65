package controllers

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/wharf-dev/wharf/controllers/servicelb"
)

func TestSlimDaemonSetKeepsMetadataOnly(t *testing.T) {
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "svclb-web-1", Labels: map[string]string{servicelb.SvcNameLabel: "web"},
			Annotations: map[string]string{"networking.wharf.dev/applied-hash": "abc"},
			ManagedFields: []metav1.ManagedFieldsEntry{
				{Manager: "wharf", Operation: metav1.ManagedFieldsOperationApply, FieldsV1: metav1.NewFieldsV1(`{"f:spec":{}}`)},
				{Manager: "kubectl-edit", Operation: metav1.ManagedFieldsOperationUpdate, FieldsV1: metav1.NewFieldsV1(`{"f:spec":{}}`)},
				{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status"},
			}},
		Spec:   appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "lb"}}}}},
		Status: appsv1.DaemonSetStatus{NumberReady: 2},
	}
	out, _ := slimDaemonSet(ds)
	slim := out.(*appsv1.DaemonSet)
	if slim.Labels[servicelb.SvcNameLabel] != "web" || slim.Annotations["networking.wharf.dev/applied-hash"] != "abc" {
		t.Errorf("labels or annotations lost: %+v", slim.ObjectMeta)
	}
	if len(slim.Spec.Template.Spec.Containers) != 0 || slim.Status.NumberReady != 0 {
		t.Errorf("spec or status kept: %+v", slim)
	}
	mf := slim.ManagedFields
	if len(mf) != 2 || mf[0].FieldsV1 == nil || mf[1].Manager != "kubectl-edit" || mf[1].FieldsV1 != nil {
		t.Errorf("managed fields = %+v, want wharf's with its field set's digest and kubectl-edit's without fields", mf)
	} else if raw := mf[0].FieldsV1.GetRawString(); !strings.HasPrefix(raw, "sha256:") {
		t.Errorf("wharf's field set is kept whole (%q), not as its digest", raw)
	}

	// ServiceLB watches DaemonSets as metadata: the same rules apply.
	m := &metav1.PartialObjectMetadata{ObjectMeta: *ds.ObjectMeta.DeepCopy()}
	out, _ = slimDaemonSet(m)
	mf = out.(*metav1.PartialObjectMetadata).ManagedFields
	if len(mf) != 2 || !strings.HasPrefix(mf[0].FieldsV1.GetRawString(), "sha256:") || mf[1].FieldsV1 != nil {
		t.Errorf("metadata-only DaemonSet: managed fields = %+v", mf)
	}
}

func TestSlimServiceDropsLastApplied(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: map[string]string{
		lastAppliedAnnotation: `{"a":"very long copy"}`, "keep": "me",
	}, ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}}
	original := svc.Annotations
	out, _ := transform(slimService)(svc)
	slim := out.(*corev1.Service)
	if _, ok := slim.Annotations[lastAppliedAnnotation]; ok || slim.Annotations["keep"] != "me" || slim.ManagedFields != nil {
		t.Errorf("annotations %v, managed fields %v", slim.Annotations, slim.ManagedFields)
	}
	if slim.Spec.Type != corev1.ServiceTypeLoadBalancer {
		t.Error("spec lost")
	}
	if _, ok := original[lastAppliedAnnotation]; !ok {
		t.Error("the transform changed the decoded map in place")
	}
}

func TestSlimNodeKeepsAddressesAndTaints(t *testing.T) {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "master01", Labels: map[string]string{"svccontroller.k3s.cattle.io/enablelb": "true"}},
		Spec:       corev1.NodeSpec{Taints: []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoSchedule}}},
		Status: corev1.NodeStatus{
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.51"}},
			Images:    []corev1.ContainerImage{{Names: []string{"docker.io/rancher/klipper-lb:v0.4.13"}, SizeBytes: 1}},
		},
	}
	out, _ := transform(slimNode)(node)
	slim := out.(*corev1.Node)
	if len(slim.Status.Addresses) != 1 || len(slim.Spec.Taints) != 1 || len(slim.Labels) != 1 || slim.Status.Images != nil {
		t.Errorf("slim node = %+v", slim)
	}
}

func TestSlimEndpointSliceKeepsNodesAndReadiness(t *testing.T) {
	eps := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "web-x", Namespace: "default", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{
			Addresses: []string{"10.42.0.7"}, NodeName: ptr.To("master01"),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Name: "web-0", UID: "u", ResourceVersion: "5"},
		}},
		Ports: []discoveryv1.EndpointPort{{Port: ptr.To[int32](80)}},
	}
	out, _ := transform(slimEndpointSlice)(eps)
	slim := out.(*discoveryv1.EndpointSlice)
	ep := slim.Endpoints[0]
	if slim.Labels[discoveryv1.LabelServiceName] != "web" || *ep.NodeName != "master01" || !*ep.Conditions.Ready || ep.TargetRef.Kind != "Pod" {
		t.Errorf("slim slice = %+v", slim)
	}
	if ep.Addresses != nil || slim.Ports != nil || ep.TargetRef.UID != "" {
		t.Errorf("kept what nothing reads: %+v", slim)
	}
}

func TestSlimWatchedMetadataDropsTheData(t *testing.T) {
	m := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
		Name: "authsecret", Namespace: "kube-system", UID: "u1", ResourceVersion: "7",
		Labels:          map[string]string{"app": "traefik"},
		OwnerReferences: []metav1.OwnerReference{{Kind: "ClusterNetworking", Name: "cluster", UID: "c1"}},
		Annotations:     map[string]string{lastAppliedAnnotation: `{"stringData":{"users":"admin:$apr1$..."}}`},
		ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
	}}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	out, _ := transform(slimWatchedMetadata)(m)
	slim := out.(*metav1.PartialObjectMetadata)
	switch {
	case slim.Name != "authsecret" || slim.Namespace != "kube-system" || slim.ResourceVersion != "7" || slim.Kind != "Secret":
		t.Errorf("identity lost: %+v", slim)
	case slim.Labels["app"] != "traefik" || len(slim.OwnerReferences) != 1:
		t.Errorf("labels or owner references lost (the owner watch needs them): %+v", slim)
	case slim.Annotations != nil || slim.ManagedFields != nil:
		t.Errorf("kept the last-applied data or managed fields: %+v", slim.ObjectMeta)
	}
}
