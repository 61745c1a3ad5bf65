package servicelb

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// recs turns pods into the records the index keeps.
func recs(pods ...corev1.Pod) []*svclbPod {
	out := make([]*svclbPod, 0, len(pods))
	for i := range pods {
		out = append(out, podRecord(&pods[i]))
	}
	return out
}

func svclbPodFixture() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "svclb-web-1-abc", Namespace: "kube-system",
			Labels:        map[string]string{SvcNameLabel: "web", SvcNamespaceLabel: "default", AppLabel: "svclb-web-1", "controller-revision-hash": "5d4f"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}},
		Spec: corev1.PodSpec{NodeName: "master01", Containers: []corev1.Container{{
			Name: "lb-tcp-80", Image: "rancher/klipper-lb", Env: []corev1.EnvVar{{Name: "SRC_PORT", Value: "80"}},
			Ports: []corev1.ContainerPort{{HostPort: 80, ContainerPort: 80, Protocol: corev1.ProtocolTCP}},
		}}},
		Status: corev1.PodStatus{PodIP: "10.42.0.5", Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: corev1.ConditionTrue},
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
		}},
	}
}

func TestPodRecordKeepsWhatServiceLBReads(t *testing.T) {
	pod := svclbPodFixture()
	rec := podRecord(pod)
	want := svclbPod{ObjectMeta: metav1.ObjectMeta{Name: "svclb-web-1-abc", Namespace: "kube-system"},
		Service: types.NamespacedName{Namespace: "default", Name: "web"}, DaemonSet: "svclb-web-1", Node: "master01", Bound: true, Ready: true}
	if rec.Name != want.Name || rec.Namespace != want.Namespace || rec.Service != want.Service || rec.DaemonSet != want.DaemonSet ||
		rec.Node != want.Node || rec.Bound != want.Bound || rec.Ready != want.Ready || rec.Refused != nil || rec.Labels != nil || rec.ManagedFields != nil {
		t.Errorf("record = %+v, want %+v", rec, want)
	}

	pod.Status.PodIP = ""
	if podRecord(pod).Ready {
		t.Error("a pod without an IP counts as Ready")
	}
	pod.Spec.NodeName = ""
	pod.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"master02"}}}}}}}}
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: "0/1 nodes are available"}}
	rec = podRecord(pod)
	if rec.Bound || rec.Node != "master02" || rec.Refused == nil || rec.Refused.Message != "0/1 nodes are available" {
		t.Errorf("an unscheduled pod lost where it goes or the scheduler's verdict: %+v", rec)
	}
	now := metav1.NewTime(time.Now())
	pod.DeletionTimestamp = &now
	if podReady(podRecord(pod)) {
		t.Error("a pod being deleted counts as Ready")
	}
}
