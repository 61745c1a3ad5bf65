package apply

import (
	"context"
	"fmt"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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

// Prune deletes the objects of entries that still carry wharf's
// managed-by label, in reverse order, and forgets them. Objects already gone
// are fine; an object someone else took over (label removed) is left alone.
func (a *Applier) Prune(ctx context.Context, entries []v1alpha1.InventoryEntry) error {
	var errs []error
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		live := &metav1.PartialObjectMetadata{}
		live.SetGroupVersionKind(gvkOf(e))
		err := a.reader.Get(ctx, client.ObjectKey{Namespace: e.Namespace, Name: e.Name}, live)
		if apierrors.IsNotFound(err) || isNoMatch(err) {
			a.Forget(live)
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("read %s %s: %w", e.Kind, e.Name, err))
			continue
		}
		if live.GetLabels()[ManagedByLabel] != ManagedByValue {
			continue
		}
		if err := a.client.Delete(ctx, live, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete %s %s: %w", e.Kind, e.Name, err))
			continue
		}
		a.Forget(live)
	}
	return joinErrors(errs)
}
