package apply

import (
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

	// OriginAnnotation records whether wharf created the object
	// (OriginCreated) or took over one that existed before it
	// (OriginAdopted). Pruning deletes only what wharf created; an adopted
	// object is released: wharf's labels and annotations are removed and
	// the object is left as it is.
	OriginAnnotation = "networking.wharf.dev/origin"
	OriginCreated    = "created"
	OriginAdopted    = "adopted"
)

// Owner identifies the ClusterNetworking objects are applied for. It is
// never written into them as an owner reference: the garbage collector
// would then delete CoreDNS, kube-dns and the rest whenever the resource or
// its CustomResourceDefinition is deleted, also with no manager running to
// honour spec.deletionPolicy. What wharf applied is known from the
// inventory and the labels instead.
type Owner struct {
	GVK  schema.GroupVersionKind
	Name string
	UID  types.UID
}

// Mark labels obj as managed by wharf for component.
func Mark(obj *unstructured.Unstructured, component string) {
	labels := obj.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[ManagedByLabel] = ManagedByValue
	labels[ComponentLabel] = component
	obj.SetLabels(labels)
}

// IsWharfs reports whether labels mark an object as applied by wharf for
// some component.
func IsWharfs(labels map[string]string) bool {
	return labels[ManagedByLabel] == ManagedByValue && labels[ComponentLabel] != ""
}
