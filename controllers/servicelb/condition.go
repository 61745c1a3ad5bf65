package servicelb

import (
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ConditionType is the condition ServiceLB keeps in the status.conditions
// of each Service it serves (and of each one its tenant policy refuses):
// True while the Service has an ingress, False with a reason while it
// cannot get one. It is written in the same status patch as the ingress, so
// a Service that gets its ingress costs no write more; the ClusterNetworking
// status sums the conditions up (see Summarize). A Service whose svclb pods
// are still starting has none yet.
const ConditionType = "servicelb.networking.wharf.dev/LoadBalancer"

// Reasons of ConditionType.
const (
	// ReasonServing: the Service has an ingress (True).
	ReasonServing = "Serving"
	// ReasonPending: no node can serve the Service (a port taken on every
	// eligible node, no eligible node, a port or namespace the tenant
	// policy refuses, a Service the DaemonSet cannot be built for).
	ReasonPending = "Pending"
	// ReasonFailed: the API server refused the svclb DaemonSet, its name
	// is taken by a DaemonSet wharf did not create, or the DaemonSet
	// controller cannot create its pods.
	ReasonFailed = "Failed"
	// ReasonNoReadyNode: the Service had an ingress and none of its svclb
	// pods is Ready now.
	ReasonNoReadyNode = "NoReadyNode"
)

// desiredCondition is ConditionType for a Service that cannot be served
// as it should and why (p, False: a Service whose DaemonSet cannot be
// built or applied keeps the ingress its last one gives), or one with
// ingress ips (True); nil when there is nothing to say yet (pods
// starting).
func desiredCondition(ips []string, p pending, hadIngress bool) *metav1.Condition {
	switch {
	case p.reason != "" && p.failed:
		return &metav1.Condition{Type: ConditionType, Status: metav1.ConditionFalse, Reason: ReasonFailed, Message: truncate(p.reason, maxConditionMessage)}
	case p.reason != "":
		return &metav1.Condition{Type: ConditionType, Status: metav1.ConditionFalse, Reason: ReasonPending, Message: truncate(p.reason, maxConditionMessage)}
	case len(ips) > 0:
		return &metav1.Condition{Type: ConditionType, Status: metav1.ConditionTrue, Reason: ReasonServing,
			Message: "served on " + strings.Join(ips, ", ")}
	case hadIngress:
		return &metav1.Condition{Type: ConditionType, Status: metav1.ConditionFalse, Reason: ReasonNoReadyNode,
			Message: "no svclb pod of the Service is Ready"}
	}
	return nil
}

// maxConditionMessage bounds a condition message, in bytes (the API
// server's limit is 32768).
const maxConditionMessage = 4096

// conditionOf returns svc's ConditionType, or nil.
func conditionOf(svc *corev1.Service) *metav1.Condition {
	return meta.FindStatusCondition(svc.Status.Conditions, ConditionType)
}

// conditionChanged reports whether want differs from what svc shows, the
// transition time aside. A nil want changes nothing: a condition written
// before stays until one replaces it.
func conditionChanged(svc *corev1.Service, want *metav1.Condition) bool {
	if want == nil {
		return false
	}
	have := conditionOf(svc)
	return have == nil || have.Status != want.Status || have.Reason != want.Reason ||
		have.Message != want.Message || have.ObservedGeneration != svc.Generation
}

// statusPatch is the strategic merge patch of svc's status that sets the
// ingress to ips (when setIngress) and the condition to cond (when not
// nil), or removes the condition (when drop). Conditions merge by type, so
// other controllers' conditions stay; the ingress list is replaced, and a
// null one deletes the field.
func statusPatch(svc *corev1.Service, setIngress bool, ips []string, cond *metav1.Condition, drop bool) ([]byte, error) {
	status := map[string]any{}
	if setIngress {
		var ingress []map[string]string
		for _, ip := range ips {
			ingress = append(ingress, map[string]string{"ip": ip})
		}
		status["loadBalancer"] = map[string]any{"ingress": ingress}
	}
	switch {
	case cond != nil:
		c := *cond
		c.ObservedGeneration = svc.Generation
		c.LastTransitionTime = metav1.Now()
		if have := conditionOf(svc); have != nil && have.Status == c.Status {
			c.LastTransitionTime = have.LastTransitionTime
		}
		status["conditions"] = []any{c}
	case drop:
		status["conditions"] = []any{map[string]any{"$patch": "delete", "type": ConditionType}}
	}
	// The resource version makes the patch conditional: written from a
	// copy of the Service older than the API server's, it is refused.
	body, err := json.Marshal(map[string]any{"metadata": map[string]any{"resourceVersion": svc.ResourceVersion}, "status": status})
	if err != nil {
		return nil, fmt.Errorf("encode the status patch: %w", err)
	}
	return body, nil
}
