package servicelb

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
)

// protobufOf encodes obj as the API server sends it in protobuf.
func protobufOf(t *testing.T, obj runtime.Object) []byte {
	t.Helper()
	info, ok := runtime.SerializerInfoForMediaType(scheme.Codecs.SupportedMediaTypes(), runtime.ContentTypeProtobuf)
	if !ok {
		t.Fatal("no protobuf serializer")
	}
	data, err := runtime.Encode(scheme.Codecs.EncoderForVersion(info.Serializer, corev1.SchemeGroupVersion), obj)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func slimDecoder(t *testing.T) runtime.Decoder {
	t.Helper()
	info, ok := runtime.SerializerInfoForMediaType(newSlimPods().SupportedMediaTypes(), runtime.ContentTypeProtobuf)
	if !ok {
		t.Fatal("no protobuf serializer")
	}
	return info.Serializer
}

// TestSlimPodsKeepWhatTheIndexReads: a svclb pod decoded by the index's
// client makes the same record as the full Pod client-go decodes, and keeps
// what the informer reads (resource version, a watch-list bookmark's
// annotation), for pods at every stage of their life.
func TestSlimPodsKeepWhatTheIndexReads(t *testing.T) {
	ready := svclbPodFixture()
	ready.ResourceVersion = "4711"
	ready.Annotations = map[string]string{"kubectl.kubernetes.io/restartedAt": "now"}
	ready.Labels["pod-template-generation"] = "1"
	ready.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
	ready.Status.Conditions = append(ready.Status.Conditions,
		corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionTrue},
		corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, Message: "not kept"})
	notReady := ready.DeepCopy()
	notReady.Status.Conditions[0].Status = corev1.ConditionFalse
	noIP := ready.DeepCopy()
	noIP.Status.PodIP = ""
	deleting := ready.DeepCopy()
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	refused := unschedulable("master02", portsMessage)
	refused.ObjectMeta = *ready.ObjectMeta.DeepCopy()
	refused.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions =
		[]corev1.NodeSelectorRequirement{{Key: "kubernetes.io/os", Operator: corev1.NodeSelectorOpIn, Values: []string{"linux"}}}
	created := refused.DeepCopy()
	created.Status = corev1.PodStatus{Phase: corev1.PodPending}
	bookmark := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "99",
		Annotations: map[string]string{metav1.InitialEventsAnnotationKey: "true"}}}
	dec := slimDecoder(t)
	for name, pod := range map[string]*corev1.Pod{
		"ready": ready, "not ready": notReady, "ready without an IP": noIP, "being deleted": deleting,
		"refused by the scheduler": &refused, "created, not scheduled": created, "a watch-list bookmark": bookmark,
	} {
		t.Run(name, func(t *testing.T) {
			obj, gvk, err := dec.Decode(protobufOf(t, pod), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			slim, ok := obj.(*corev1.Pod)
			if !ok || gvk == nil || gvk.Kind != "Pod" {
				t.Fatalf("decoded %T (%v), want a Pod", obj, gvk)
			}
			if got, want := podRecord(slim), podRecord(pod); !sameRecord(got, want) {
				t.Errorf("record from the slim pod:\n%+v\nwant\n%+v", got, want)
			}
			if slim.ResourceVersion != pod.ResourceVersion || slim.Annotations[metav1.InitialEventsAnnotationKey] != pod.Annotations[metav1.InitialEventsAnnotationKey] {
				t.Errorf("resource version %q, bookmark annotation %q; want %q, %q", slim.ResourceVersion,
					slim.Annotations[metav1.InitialEventsAnnotationKey], pod.ResourceVersion, pod.Annotations[metav1.InitialEventsAnnotationKey])
			}
			if len(slim.ManagedFields) != 0 || len(slim.Spec.Containers) != 0 || len(slim.Spec.Tolerations) != 0 {
				t.Error("the slim pod keeps fields the index never reads")
			}
		})
	}
	t.Run("a list", func(t *testing.T) {
		n := int64(7)
		list := &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "12", Continue: "next", RemainingItemCount: &n},
			Items: []corev1.Pod{*ready, refused}}
		obj, _, err := dec.Decode(protobufOf(t, list), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := obj.(*corev1.PodList)
		if !ok || got.ResourceVersion != "12" || got.Continue != "next" || got.RemainingItemCount == nil || *got.RemainingItemCount != 7 || len(got.Items) != 2 {
			t.Fatalf("decoded %#v", obj)
		}
		if !sameRecord(podRecord(&got.Items[1]), podRecord(&refused)) {
			t.Errorf("second item: %+v, want %+v", podRecord(&got.Items[1]), podRecord(&refused))
		}
	})
	t.Run("into a given Pod", func(t *testing.T) {
		into := &corev1.Pod{}
		obj, _, err := dec.Decode(protobufOf(t, ready), nil, into)
		if err != nil || obj != into || into.Name != ready.Name || into.Status.PodIP != ready.Status.PodIP {
			t.Errorf("decoded %v into %+v (%v)", obj == into, into.ObjectMeta, err)
		}
	})
	t.Run("any other kind is client-go's", func(t *testing.T) {
		status := &metav1.Status{Status: metav1.StatusFailure, Code: 410, Reason: metav1.StatusReasonExpired, Message: "too old resource version"}
		obj, _, err := dec.Decode(protobufOf(t, status), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := obj.(*metav1.Status); !ok || got.Code != 410 || got.Reason != metav1.StatusReasonExpired {
			t.Errorf("decoded %#v, want the Status", obj)
		}
	})
	t.Run("a truncated pod is an error", func(t *testing.T) {
		data := protobufOf(t, ready)
		if _, _, err := dec.Decode(data[:len(data)-3], nil, nil); err == nil {
			t.Error("no error")
		}
	})
}

// sameRecord compares records, deletion times by instant.
func sameRecord(a, b *svclbPod) bool {
	if !a.DeletionTimestamp.Equal(b.DeletionTimestamp) {
		return false
	}
	a, b = a.DeepCopyObject().(*svclbPod), b.DeepCopyObject().(*svclbPod)
	a.DeletionTimestamp, b.DeletionTimestamp = nil, nil
	return reflect.DeepEqual(a, b)
}
