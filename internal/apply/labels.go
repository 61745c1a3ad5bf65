package apply

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// Label keys and values wharf puts on what it applies.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "wharf"
	ComponentLabel = "networking.wharf.dev/component"

	// AppliedHashAnnotation records a digest of what wharf last applied,
	// so that a restarted manager knows an object is current without
	// applying it again.
	AppliedHashAnnotation = "networking.wharf.dev/applied-hash"
)

// Owner is the object that owns what is applied.
type Owner struct {
	GVK  schema.GroupVersionKind
	Name string
	UID  types.UID
}

// Mark labels obj as managed by wharf for component and, unless keep is
// set, makes owner its controller so that deleting the owner collects it.
// Objects that must outlive the owner (CustomResourceDefinitions holding
// users' resources) are marked with keep.
func Mark(obj *unstructured.Unstructured, component string, owner *Owner, keep bool) {
	labels := obj.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[ManagedByLabel] = ManagedByValue
	labels[ComponentLabel] = component
	obj.SetLabels(labels)
	if owner == nil || keep {
		return
	}
	yes := true
	obj.SetOwnerReferences([]metav1.OwnerReference{{
		APIVersion:         owner.GVK.GroupVersion().String(),
		Kind:               owner.GVK.Kind,
		Name:               owner.Name,
		UID:                owner.UID,
		Controller:         &yes,
		BlockOwnerDeletion: &yes,
	}})
}
