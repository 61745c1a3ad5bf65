package apply

import (
	"errors"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/wharf-dev/wharf/api/v1alpha1"
)

func gvkOf(e v1alpha1.InventoryEntry) schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: e.Group, Version: e.Version, Kind: e.Kind}
}

func isNoMatch(err error) bool {
	return err != nil && meta.IsNoMatchError(err)
}

func joinErrors(errs []error) error { return errors.Join(errs...) }
