package clusternetworking

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
	"github.com/wharf-dev/wharf/internal/apply"
)

// statusBuilder collects what the components report during one reconcile
// and turns it into the status written at the end.
type statusBuilder struct {
	generation int64
	status     v1alpha1.ClusterNetworkingStatus
	inventory  []v1alpha1.InventoryEntry
	health     []componentHealth
}

type componentHealth struct {
	condition string
	health    component.Health
	stalled   bool
}

func newStatusBuilder(cn *v1alpha1.ClusterNetworking) *statusBuilder {
	st := cn.Status.DeepCopy()
	st.Inventory = nil
	return &statusBuilder{generation: cn.Generation, status: *st}
}

func (s *statusBuilder) keepInventory(entries []v1alpha1.InventoryEntry) {
	s.inventory = append(s.inventory, entries...)
}

func (s *statusBuilder) setHealth(c component.Component, h component.Health) {
	s.health = append(s.health, componentHealth{condition: c.ConditionType(), health: h})
}

// fail records err for c: a StalledError with its own reason and Stalled
// set, any other error with reason and a retry to come.
func (s *statusBuilder) fail(c component.Component, reason string, err error) {
	ch := componentHealth{condition: c.ConditionType(), health: component.Health{Reason: reason, Message: err.Error()}}
	var reasoned interface{ ConditionReason() string }
	if errors.As(err, &reasoned) && reasoned.ConditionReason() != "" {
		ch.health.Reason = reasoned.ConditionReason()
	}
	if st, ok := component.AsStalled(err); ok {
		ch.health.Reason, ch.stalled = st.Reason, true
	}
	s.health = append(s.health, ch)
}

func (s *statusBuilder) allReady() bool {
	for _, h := range s.health {
		if !h.health.Ready {
			return false
		}
	}
	return true
}

func (s *statusBuilder) anyStalled() bool {
	for _, h := range s.health {
		if h.stalled {
			return true
		}
	}
	return false
}

// build returns the status: component conditions, then the kstatus
// conditions Ready, Reconciling and Stalled summarising them, each with the
// generation they describe.
func (s *statusBuilder) build() v1alpha1.ClusterNetworkingStatus {
	st := *s.status.DeepCopy()
	st.ObservedGeneration = s.generation
	st.Inventory = dedupe(s.inventory)
	var notReady, stalled []string
	for _, h := range s.health {
		setCondition(&st, s.generation, h.condition, h.health.Ready, h.health.Reason, h.health.Message)
		switch {
		case h.stalled:
			stalled = append(stalled, fmt.Sprintf("%s: %s", h.condition, h.health.Message))
		case !h.health.Ready:
			notReady = append(notReady, fmt.Sprintf("%s: %s", h.condition, h.health.Message))
		}
	}
	switch {
	case len(stalled) > 0:
		msg := strings.Join(stalled, "; ")
		setCondition(&st, s.generation, v1alpha1.ConditionStalled, true, s.firstStalledReason(), msg)
		setCondition(&st, s.generation, v1alpha1.ConditionReconciling, false, "Stalled", "waiting for the resource or its inputs to change")
		setCondition(&st, s.generation, v1alpha1.ConditionReady, false, "Stalled", msg)
	case len(notReady) > 0:
		msg := strings.Join(notReady, "; ")
		setCondition(&st, s.generation, v1alpha1.ConditionStalled, false, "NotStalled", "no error that needs a change to the resource")
		setCondition(&st, s.generation, v1alpha1.ConditionReconciling, true, v1alpha1.ReasonProgressing, msg)
		setCondition(&st, s.generation, v1alpha1.ConditionReady, false, v1alpha1.ReasonProgressing, msg)
	default:
		setCondition(&st, s.generation, v1alpha1.ConditionStalled, false, "NotStalled", "no error that needs a change to the resource")
		setCondition(&st, s.generation, v1alpha1.ConditionReconciling, false, v1alpha1.ReasonReady, "all enabled components are ready")
		setCondition(&st, s.generation, v1alpha1.ConditionReady, true, v1alpha1.ReasonReady, "all enabled components are ready")
	}
	return st
}

func (s *statusBuilder) firstStalledReason() string {
	for _, h := range s.health {
		if h.stalled {
			return h.health.Reason
		}
	}
	return "Stalled"
}

func setCondition(st *v1alpha1.ClusterNetworkingStatus, gen int64, typ string, ok bool, reason, msg string) {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	if reason == "" {
		reason = "Unknown"
	}
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: truncate(msg, 32768), ObservedGeneration: gen,
	})
}

func dedupe(inv []v1alpha1.InventoryEntry) []v1alpha1.InventoryEntry {
	apply.SortEntries(inv)
	out := inv[:0]
	for i, e := range inv {
		if i > 0 && out[len(out)-1] == e {
			continue
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// writeStatus applies the status with its own field manager, unless it is
// what the resource already reports.
func (r *Reconciler) writeStatus(ctx context.Context, cn *v1alpha1.ClusterNetworking, st v1alpha1.ClusterNetworkingStatus) error {
	sort.SliceStable(st.Conditions, func(i, j int) bool {
		return conditionRank(st.Conditions[i].Type) < conditionRank(st.Conditions[j].Type)
	})
	if equality.Semantic.DeepEqual(cn.Status, st) {
		return nil
	}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&st)
	if err != nil {
		return fmt.Errorf("convert status: %w", err)
	}
	u := &unstructured.Unstructured{Object: map[string]any{"status": content}}
	u.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("ClusterNetworking"))
	u.SetName(cn.Name)
	if err := r.Client.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(StatusFieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("write status: %w", err)
	}
	return nil
}

var conditionOrder = []string{
	v1alpha1.ConditionReady, v1alpha1.ConditionReconciling, v1alpha1.ConditionStalled,
	v1alpha1.ConditionCoreDNSReady, v1alpha1.ConditionTraefikReady, v1alpha1.ConditionServiceLBReady,
}

func conditionRank(t string) int {
	for i, c := range conditionOrder {
		if c == t {
			return i
		}
	}
	return len(conditionOrder)
}
