package coredns

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/utils/ptr"
)

func TestDeploymentHealth(t *testing.T) {
	d := func(gen, observed int64, replicas, updated, ready int32) *appsv1.Deployment {
		x := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas)}}
		x.Generation = gen
		x.Status = appsv1.DeploymentStatus{ObservedGeneration: observed, UpdatedReplicas: updated, ReadyReplicas: ready}
		return x
	}
	for name, tc := range map[string]struct {
		d    *appsv1.Deployment
		want bool
	}{
		"new spec not observed": {d(2, 1, 1, 1, 1), false},
		"rolling out":           {d(2, 2, 2, 1, 2), false},
		"none ready":            {d(1, 1, 2, 2, 0), false},
		"one of two ready":      {d(1, 1, 2, 2, 1), true},
		"all ready":             {d(3, 3, 2, 2, 2), true},
	} {
		if got := DeploymentHealth(tc.d, "10.43.0.10"); got.Ready != tc.want {
			t.Errorf("%s: ready = %v (%s), want %v", name, got.Ready, got.Message, tc.want)
		}
	}
}
