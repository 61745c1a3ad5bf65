package apply

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ObjectSetPrefix starts the label and annotation keys with which K3s's
// deploy controller (through wrangler's apply package) marks the objects
// of a packaged component: the label objectset.rio.cattle.io/hash and the
// annotations objectset.rio.cattle.io/id, owner-gvk, owner-name,
// owner-namespace and applied. Disabling the component
// (k3s --disable coredns) deletes every object that label selects.
const ObjectSetPrefix = "objectset.rio.cattle.io/"

// ObjectSetHashLabel is the label K3s selects its objects by when it
// deletes a disabled component.
const ObjectSetHashLabel = ObjectSetPrefix + "hash"

// ObjectSetMarkers returns the label and annotation keys of live that
// start with ObjectSetPrefix.
func ObjectSetMarkers(live metav1.Object) (labels, annotations []string) {
	for k := range live.GetLabels() {
		if strings.HasPrefix(k, ObjectSetPrefix) {
			labels = append(labels, k)
		}
	}
	for k := range live.GetAnnotations() {
		if strings.HasPrefix(k, ObjectSetPrefix) {
			annotations = append(annotations, k)
		}
	}
	return labels, annotations
}

// removeMetadata removes the label and annotation keys from live in one
// JSON merge patch (server-side apply cannot remove fields another manager
// owns). Nothing is written when both are empty.
func (a *Applier) removeMetadata(ctx context.Context, live *metav1.PartialObjectMetadata, labelKeys, annotationKeys []string) error {
	if len(labelKeys) == 0 && len(annotationKeys) == 0 {
		return nil
	}
	meta := map[string]any{}
	if len(labelKeys) > 0 {
		labels := make(map[string]any, len(labelKeys))
		for _, k := range labelKeys {
			labels[k] = nil
		}
		meta["labels"] = labels
	}
	if len(annotationKeys) > 0 {
		annotations := make(map[string]any, len(annotationKeys))
		for _, k := range annotationKeys {
			annotations[k] = nil
		}
		meta["annotations"] = annotations
	}
	if err := a.patchMetadata(ctx, live, meta); err != nil {
		return fmt.Errorf("remove labels %v and annotations %v of %s: %w", labelKeys, annotationKeys, describe(live), err)
	}
	return nil
}
