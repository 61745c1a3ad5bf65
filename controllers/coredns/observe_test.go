package coredns

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func deployment(gen, observed int64, replicas, total, updated, ready int32) *appsv1.Deployment {
	x := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas)}}
	x.Generation = gen
	x.Status = appsv1.DeploymentStatus{ObservedGeneration: observed, Replicas: total, UpdatedReplicas: updated, ReadyReplicas: ready}
	return x
}

func TestDeploymentHealth(t *testing.T) {
	for name, tc := range map[string]struct {
		d    *appsv1.Deployment
		want bool
	}{
		"new spec not observed": {deployment(2, 1, 1, 1, 1, 1), false},
		"rolling out":           {deployment(2, 2, 2, 2, 1, 2), false},
		// maxSurge: the new pod exists next to the old one, which is the
		// only ready one. Not rolled out.
		"surge pod not ready": {deployment(2, 2, 1, 2, 1, 1), false},
		"none ready":          {deployment(1, 1, 2, 2, 2, 0), false},
		"one of two ready":    {deployment(1, 1, 2, 2, 2, 1), true},
		"all ready":           {deployment(3, 3, 2, 2, 2, 2), true},
	} {
		if got := DeploymentHealth(tc.d, nil); got.Ready != tc.want {
			t.Errorf("%s: ready = %v (%s), want %v", name, got.Ready, got.Message, tc.want)
		}
	}
}

// crashingPod is a pod whose coredns container exits on a Corefile it
// cannot load, as the kubelet reports it with FallbackToLogsOnError.
func crashingPod(name string) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{
		Name:         "coredns",
		RestartCount: 3,
		State:        corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 40s restarting failed container"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: 1, Reason: "Error",
			Message: "/etc/coredns/Corefile:30 - Error during parsing: open /etc/shadow: permission denied\n",
		}},
	}}
	return p
}

func TestDeploymentHealthQuotesTheFailingPod(t *testing.T) {
	d := deployment(2, 2, 1, 2, 1, 1) // the old pod serves, the surge pod crashes
	got := DeploymentHealth(d, []corev1.Pod{crashingPod("coredns-7d9c-abcde")})
	if got.Ready || got.Reason != ReasonRolloutFailed {
		t.Fatalf("health = %+v, want not ready with reason %s", got, ReasonRolloutFailed)
	}
	for _, want := range []string{"coredns-7d9c-abcde", "CrashLoopBackOff", "restarted 3 times", "last exit code 1", "open /etc/shadow: permission denied", "1 ready CoreDNS pods keep serving"} {
		if !strings.Contains(got.Message, want) {
			t.Errorf("message lacks %q: %s", want, got.Message)
		}
	}

	// A container that exited and was not restarted yet.
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "coredns-x"}}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "coredns", State: corev1.ContainerState{
		Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", Message: "plugin/file: open db.example: no such file"},
	}}}
	if got := DeploymentHealth(deployment(1, 1, 1, 1, 1, 0), []corev1.Pod{p}); got.Reason != ReasonRolloutFailed || !strings.Contains(got.Message, "no such file") {
		t.Errorf("health = %+v", got)
	}

	// A pod still starting is progress, not failure.
	starting := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "coredns-y"}}
	starting.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "coredns", State: corev1.ContainerState{
		Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"},
	}}}
	if got := DeploymentHealth(d, []corev1.Pod{starting}); got.Reason == ReasonRolloutFailed {
		t.Errorf("a starting pod is reported failed: %+v", got)
	}

	// Past the progress deadline.
	stuck := deployment(2, 2, 1, 2, 1, 1)
	stuck.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse,
		Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "coredns-7d9c" has timed out progressing.`}}
	if got := DeploymentHealth(stuck, []corev1.Pod{starting}); got.Reason != ReasonRolloutFailed || !strings.Contains(got.Message, "ProgressDeadlineExceeded") {
		t.Errorf("health = %+v", got)
	}
}
