package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
)

// Entry returns the inventory entry of obj for component.
func Entry(component string, obj *unstructured.Unstructured) v1alpha1.InventoryEntry {
	gvk := obj.GroupVersionKind()
	return v1alpha1.InventoryEntry{
		Component: component,
		Group:     gvk.Group,
		Version:   gvk.Version,
		Kind:      gvk.Kind,
		Namespace: obj.GetNamespace(),
		Name:      obj.GetName(),
	}
}

// identity is an entry without its version: an object keeps its identity
// when it is applied at another version of its kind.
func identity(e v1alpha1.InventoryEntry) string {
	return e.Group + "/" + e.Kind + "/" + e.Namespace + "/" + e.Name
}

// Stale returns the entries of old that are not in current.
func Stale(old, current []v1alpha1.InventoryEntry) []v1alpha1.InventoryEntry {
	keep := make(map[string]bool, len(current))
	for _, e := range current {
		keep[identity(e)] = true
	}
	var stale []v1alpha1.InventoryEntry
	for _, e := range old {
		if !keep[identity(e)] {
			stale = append(stale, e)
		}
	}
	return stale
}

// OfComponent returns the entries of inv that belong to component.
func OfComponent(inv []v1alpha1.InventoryEntry, component string) []v1alpha1.InventoryEntry {
	var out []v1alpha1.InventoryEntry
	for _, e := range inv {
		if e.Component == component {
			out = append(out, e)
		}
	}
	return out
}

// SortEntries orders an inventory by component, then the way objects are
// applied is irrelevant: by group, kind, namespace and name, so that status
// does not change when the render order does.
func SortEntries(inv []v1alpha1.InventoryEntry) {
	sort.Slice(inv, func(i, j int) bool {
		a, b := inv[i], inv[j]
		if a.Component != b.Component {
			return a.Component < b.Component
		}
		return identity(a) < identity(b)
	})
}

// PruneAction returns what Prune does to live, the object of a stale
// inventory entry of component, when fieldManager is wharf's field
// manager: Skipped when someone else holds it now (wharf's labels removed,
// or another component's), Released when wharf adopted it, else Deleted.
func PruneAction(live metav1.Object, component, fieldManager string) Action {
	switch {
	case !IsWharfs(live.GetLabels()) || live.GetLabels()[ComponentLabel] != component:
		return Skipped
	case originOf(live, fieldManager) == OriginAdopted:
		return Released
	default:
		return Deleted
	}
}

// Prune removes the objects of stale entries, in reverse order, and
// forgets them: an object wharf created is deleted; one it adopted is
// released (see release) and left in place. An object already gone is
// fine; one someone else took over (wharf's labels removed) or another
// component holds now is left alone.
func (a *Applier) Prune(ctx context.Context, entries []v1alpha1.InventoryEntry) (*ChangeSet, error) {
	cs := &ChangeSet{}
	var errs []error
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		live := &metav1.PartialObjectMetadata{}
		live.SetGroupVersionKind(gvkOf(e))
		err := a.reader.Get(ctx, client.ObjectKey{Namespace: e.Namespace, Name: e.Name}, live)
		if apierrors.IsNotFound(err) || isNoMatch(err) {
			a.forget(live)
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("read %s %s: %w", e.Kind, e.Name, err))
			continue
		}
		switch PruneAction(live, e.Component, a.fieldManager) {
		case Skipped:
			cs.add(describe(live), Skipped)
			continue
		case Released:
			if err := a.release(ctx, live); err != nil {
				errs = append(errs, err)
				continue
			}
			cs.add(describe(live), Released)
			continue
		}
		if _, err := a.Delete(ctx, live); err != nil {
			errs = append(errs, err)
			continue
		}
		cs.add(describe(live), Deleted)
	}
	return cs, joinErrors(errs)
}

// helmReleaseNameAnnotation is the annotation Helm records the release
// owning an object in. Helm installs or upgrades a release over an
// existing object only when it carries that annotation and the
// app.kubernetes.io/managed-by label says Helm (helm.sh/helm/v3 pkg/action,
// existingResourceConflict).
const helmReleaseNameAnnotation = "meta.helm.sh/release-name"

// helmManagedBy is the managed-by label value of objects Helm installed.
const helmManagedBy = "Helm"

// release hands an object wharf adopted back: it removes wharf's labels,
// annotations and any owner reference to a ClusterNetworking, and leaves
// the object otherwise as it is. An object a Helm release installed (it
// carries helmReleaseNameAnnotation) gets its managed-by label back as
// Helm set it, so that installing the release again (K3s's Traefik
// re-enabled) takes the object back instead of failing. live needs its
// kind, name, namespace, resource version and metadata.
func (a *Applier) release(ctx context.Context, live *metav1.PartialObjectMetadata) error {
	meta := map[string]any{"resourceVersion": live.GetResourceVersion()}
	labels := map[string]any{}
	for _, k := range []string{ManagedByLabel, ComponentLabel} {
		if _, ok := live.GetLabels()[k]; ok {
			labels[k] = nil
		}
	}
	if _, ok := live.GetAnnotations()[helmReleaseNameAnnotation]; ok {
		labels[ManagedByLabel] = helmManagedBy
	}
	annotations := map[string]any{}
	for _, k := range []string{AppliedHashAnnotation, OriginAnnotation} {
		if _, ok := live.GetAnnotations()[k]; ok {
			annotations[k] = nil
		}
	}
	if len(labels) > 0 {
		meta["labels"] = labels
	}
	if len(annotations) > 0 {
		meta["annotations"] = annotations
	}
	if refs, changed := withoutWharfOwners(live.GetOwnerReferences()); changed {
		meta["ownerReferences"] = refs
	}
	if len(meta) == 1 {
		return nil
	}
	if err := a.patchMetadata(ctx, live, meta); err != nil {
		return fmt.Errorf("release %s: %w", describe(live), err)
	}
	a.forget(live)
	return nil
}

// Disown removes owner references to a ClusterNetworking from live, so
// that deleting the resource or its CustomResourceDefinition never lets
// the garbage collector delete the object. wharf no longer sets such
// references; objects applied by earlier versions may carry them.
func (a *Applier) Disown(ctx context.Context, live *metav1.PartialObjectMetadata) error {
	refs, changed := withoutWharfOwners(live.GetOwnerReferences())
	if !changed {
		return nil
	}
	meta := map[string]any{"resourceVersion": live.GetResourceVersion(), "ownerReferences": refs}
	if err := a.patchMetadata(ctx, live, meta); err != nil {
		return fmt.Errorf("remove the owner references of %s: %w", describe(live), err)
	}
	return nil
}

// DisownEntries is Disown for each object of entries that exists.
func (a *Applier) DisownEntries(ctx context.Context, entries []v1alpha1.InventoryEntry) error {
	var errs []error
	for _, e := range entries {
		live := &metav1.PartialObjectMetadata{}
		live.SetGroupVersionKind(gvkOf(e))
		err := a.reader.Get(ctx, client.ObjectKey{Namespace: e.Namespace, Name: e.Name}, live)
		if apierrors.IsNotFound(err) || isNoMatch(err) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("read %s %s: %w", e.Kind, e.Name, err))
			continue
		}
		if err := a.Disown(ctx, live); err != nil {
			errs = append(errs, err)
		}
	}
	return joinErrors(errs)
}

func (a *Applier) patchMetadata(ctx context.Context, live *metav1.PartialObjectMetadata, meta map[string]any) error {
	body, err := json.Marshal(map[string]any{"metadata": meta})
	if err != nil {
		return err
	}
	obj := &metav1.PartialObjectMetadata{}
	obj.SetGroupVersionKind(live.GroupVersionKind())
	obj.SetNamespace(live.GetNamespace())
	obj.SetName(live.GetName())
	return a.client.Patch(ctx, obj, client.RawPatch(types.MergePatchType, body), client.FieldOwner(a.fieldManager))
}

// withoutWharfOwners returns refs without references to a ClusterNetworking,
// and whether there were any.
func withoutWharfOwners(refs []metav1.OwnerReference) ([]metav1.OwnerReference, bool) {
	out := make([]metav1.OwnerReference, 0, len(refs))
	for _, r := range refs {
		if r.Kind == "ClusterNetworking" && strings.HasPrefix(r.APIVersion, v1alpha1.GroupVersion.Group+"/") {
			continue
		}
		out = append(out, r)
	}
	return out, len(out) != len(refs)
}

// Identity names the object of e by group, kind, namespace and name, as
// Key names an object.
func Identity(e v1alpha1.InventoryEntry) string { return identity(e) }
