package traefik

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestDaemonSetTraefikIsObserved: with the upstream chart's
// deployment.kind: DaemonSet, Traefik's readiness comes from the
// DaemonSet; it is not Ready before a pod is, nor while a rollout runs.
func TestDaemonSetTraefikIsObserved(t *testing.T) {
	objs, err := renderDefaulted(t, specWithValues(t, map[string]any{"deployment": map[string]any{"kind": "DaemonSet"}}), Inputs{})
	if err != nil {
		t.Fatal(err)
	}
	w := findWorkload(objs)
	if w.kind != "DaemonSet" || w.key.Name == "" {
		t.Fatalf("workload = %+v, want the rendered DaemonSet", w)
	}
	ds := func(gen, observed int64, desired, updated, available, ready int32) *appsv1.DaemonSet {
		return &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "traefik", Generation: gen},
			Status: appsv1.DaemonSetStatus{ObservedGeneration: observed, DesiredNumberScheduled: desired,
				UpdatedNumberScheduled: updated, NumberAvailable: available, NumberReady: ready}}
	}
	for _, tc := range []struct {
		name  string
		ds    *appsv1.DaemonSet
		ready bool
	}{
		{"no pod ready yet", ds(1, 1, 2, 2, 0, 0), false},
		{"a new generation not yet seen", ds(2, 1, 2, 2, 2, 2), false},
		{"rolling out", ds(2, 2, 2, 1, 2, 2), false},
		{"no node to run on", ds(1, 1, 0, 0, 0, 0), false},
		{"every node serving", ds(2, 2, 2, 2, 2, 2), true},
	} {
		if h := daemonSetReadiness(tc.ds); h.Ready != tc.ready {
			t.Errorf("%s: ready = %v (%s), want %v", tc.name, h.Ready, h.Message, tc.ready)
		}
	}
}
