// Package kstatus computes the kstatus status of a resource: the rules
// sigs.k8s.io/cli-utils/pkg/kstatus applies to resources it has no
// type-specific rules for (every custom resource), which Flux health
// checks, kpt and other GitOps tools rely on. cli-utils is not a
// dependency of wharf; the rules are short and written out here, in the
// order kstatus applies them:
//
//  1. metadata.deletionTimestamp set: Terminating.
//  2. status.observedGeneration present and different from
//     metadata.generation: InProgress (reason LatestGenerationNotObserved).
//  3. The first condition, in list order, that is Reconciling=True
//     (InProgress) or Stalled=True (Failed) decides.
//  4. A Ready condition: True is Current, False or Unknown is InProgress.
//     (The fork Flux uses, github.com/fluxcd/cli-utils, has this rule;
//     Generic leaves it out.)
//  5. Otherwise: Current.
//
// Rule 5 means a custom resource no controller has written status to yet
// is Current; wharf narrows that window by writing status on its first
// reconcile. A resource that follows kstatus well gets the same result
// with and without rule 4: it never reports Ready=False without
// Reconciling=True or Stalled=True.
package kstatus

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Status is a kstatus status.
type Status string

// The statuses kstatus computes for an existing resource.
const (
	InProgress  Status = "InProgress"
	Failed      Status = "Failed"
	Current     Status = "Current"
	Terminating Status = "Terminating"
)

// The kstatus condition types.
const (
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
	ConditionReady       = "Ready"
)

// Result is the computed status and a message saying why.
type Result struct {
	Status  Status
	Message string
	// Reason is the reason of the condition that decided, if any.
	Reason string
}

// Compute returns the kstatus status of u by rules 1 to 5. It fails only
// when a field kstatus reads has the wrong type.
func Compute(u *unstructured.Unstructured) (Result, error) { return compute(u, true) }

// Generic returns the kstatus status of u by rules 1, 2, 3 and 5, without
// looking at a Ready condition.
func Generic(u *unstructured.Unstructured) (Result, error) { return compute(u, false) }

func compute(u *unstructured.Unstructured, readyRule bool) (Result, error) {
	obj := u.UnstructuredContent()
	if ts, found, _ := unstructured.NestedString(obj, "metadata", "deletionTimestamp"); found && ts != "" {
		return Result{Status: Terminating, Message: "Resource scheduled for deletion"}, nil
	}
	if r, ok, err := checkGeneration(u); err != nil || ok {
		return r, err
	}
	conds, err := conditions(obj)
	if err != nil {
		return Result{}, err
	}
	for _, c := range conds {
		switch {
		case c.typ == ConditionReconciling && c.status == "True":
			return Result{Status: InProgress, Message: c.message, Reason: c.reason}, nil
		case c.typ == ConditionStalled && c.status == "True":
			return Result{Status: Failed, Message: c.message, Reason: c.reason}, nil
		}
	}
	for _, c := range conds {
		if !readyRule || c.typ != ConditionReady {
			continue
		}
		switch c.status {
		case "True":
			return Result{Status: Current, Message: "Resource is Ready"}, nil
		case "False", "Unknown":
			return Result{Status: InProgress, Message: c.message, Reason: c.reason}, nil
		}
	}
	return Result{Status: Current, Message: "Resource is current"}, nil
}

func checkGeneration(u *unstructured.Unstructured) (Result, bool, error) {
	gen, found, err := unstructured.NestedInt64(u.Object, "metadata", "generation")
	if err != nil {
		return Result{}, false, fmt.Errorf("read metadata.generation: %w", err)
	}
	if !found {
		return Result{}, false, nil
	}
	observed, found, err := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
	if err != nil {
		return Result{}, false, fmt.Errorf("read status.observedGeneration: %w", err)
	}
	if !found || observed == gen {
		return Result{}, false, nil
	}
	msg := fmt.Sprintf("%s generation is %d, but latest observed generation is %d", u.GetKind(), gen, observed)
	return Result{Status: InProgress, Message: msg, Reason: "LatestGenerationNotObserved"}, true, nil
}

type condition struct {
	typ, status, reason, message string
}

func conditions(obj map[string]any) ([]condition, error) {
	list, found, err := unstructured.NestedSlice(obj, "status", "conditions")
	if err != nil {
		return nil, fmt.Errorf("read status.conditions: %w", err)
	}
	if !found {
		return nil, nil
	}
	out := make([]condition, 0, len(list))
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("status.conditions[%d] is a %T, not an object", i, item)
		}
		str := func(k string) string { s, _ := m[k].(string); return s }
		out = append(out, condition{typ: str("type"), status: str("status"), reason: str("reason"), message: str("message")})
	}
	return out, nil
}
