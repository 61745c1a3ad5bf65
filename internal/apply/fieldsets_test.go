package apply

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A cached object whose field sets CompactFieldSets replaced must look
// exactly as owned as the object the API server returned, or every
// reconcile would re-apply; and a change of the fields must still show.
func TestCompactFieldSetsKeepsOwnership(t *testing.T) {
	object := func(fields string) *metav1.ObjectMeta {
		return &metav1.ObjectMeta{ManagedFields: []metav1.ManagedFieldsEntry{
			{Manager: "wharf", Operation: metav1.ManagedFieldsOperationApply, APIVersion: "apps/v1",
				FieldsV1: metav1.NewFieldsV1(fields)},
			{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate,
				FieldsV1: metav1.NewFieldsV1(`{"f:status":{}}`)},
		}}
	}
	full := object(`{"f:spec":{"f:template":{"f:spec":{"f:containers":{}}}}}`)
	compact := object(`{"f:spec":{"f:template":{"f:spec":{"f:containers":{}}}}}`)
	CompactFieldSets(compact, "wharf")

	if raw := compact.ManagedFields[0].FieldsV1.GetRawString(); !strings.HasPrefix(raw, fieldSetDigestPrefix) || len(raw) > 80 {
		t.Errorf("wharf's field set was not replaced by a digest: %q", raw)
	}
	if raw := compact.ManagedFields[1].FieldsV1.GetRawString(); raw != `{"f:status":{}}` {
		t.Errorf("another manager's field set changed: %q", raw)
	}
	if ownedFields(compact, "wharf") != ownedFields(full, "wharf") {
		t.Error("the compacted object's owned fields differ from the full object's")
	}
	CompactFieldSets(compact, "wharf")
	if ownedFields(compact, "wharf") != ownedFields(full, "wharf") {
		t.Error("compacting twice changed the owned fields")
	}
	if ownedFields(object(`{"f:spec":{}}`), "wharf") == ownedFields(full, "wharf") {
		t.Error("a different field set hashes the same")
	}
}
