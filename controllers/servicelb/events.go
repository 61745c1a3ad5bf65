package servicelb

import (
	corev1 "k8s.io/api/core/v1"
)

// event records an Event on svc, when the reconciler has a recorder.
func (r *Reconciler) event(svc *corev1.Service, eventType, reason, action, note string, args ...any) {
	if r.Events == nil {
		return
	}
	r.Events.Eventf(svc, nil, eventType, reason, action, note, args...)
}
