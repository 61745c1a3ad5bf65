package coredns

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"
)

func TestNodeHostsChanged(t *testing.T) {
	p := NodeHostsChanged()
	base := node("master01", internal("10.0.0.51"))
	heartbeat := base.DeepCopy()
	heartbeat.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	heartbeat.Labels = map[string]string{"x": "y"}
	moved := base.DeepCopy()
	moved.Status.Addresses[0].Address = "10.0.0.61"
	dual := base.DeepCopy()
	dual.Status.Addresses = append(dual.Status.Addresses, internal("fd00::51"))
	external := base.DeepCopy()
	external.Status.Addresses = append(external.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: "203.0.113.1"})

	if !p.Create(event.CreateEvent{Object: &base}) || !p.Delete(event.DeleteEvent{Object: &base}) {
		t.Error("creates and deletes must pass")
	}
	if p.Generic(event.GenericEvent{Object: &base}) {
		t.Error("generic events must not pass")
	}
	for name, tc := range map[string]struct {
		newNode *corev1.Node
		want    bool
	}{
		"heartbeat": {heartbeat, false}, "external IP": {external, false},
		"address change": {moved, true}, "IPv6 added": {dual, true},
	} {
		if got := p.Update(event.UpdateEvent{ObjectOld: &base, ObjectNew: tc.newNode}); got != tc.want {
			t.Errorf("%s: passes = %v, want %v", name, got, tc.want)
		}
	}
}
