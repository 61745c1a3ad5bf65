package traefik

import (
	"context"
	"fmt"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/internal/apply"
)

// traefikGroup is the API group of Traefik's custom resources.
const traefikGroup = "traefik.io"

// FilterPrune implements component.PruneFilter. Stale traefik.io CRDs are
// kept, all of them, while any custom resource of theirs exists that is
// not itself being pruned now (users' IngressRoutes and Middlewares would
// be deleted with the CRD). Kept CRDs are checked again every minute and
// on every reconcile, and go once the last such resource is gone. CRDs
// wharf adopted (spec.adoptHelmReleases) are pruned at once: pruning
// releases them, it never deletes them.
func (c *Component) FilterPrune(ctx context.Context, stale []v1alpha1.InventoryEntry) (prune, keep []v1alpha1.InventoryEntry, err error) {
	var crds []v1alpha1.InventoryEntry
	for _, e := range stale {
		if !isTraefikCRD(e) {
			prune = append(prune, e)
			continue
		}
		adopted, err := c.adoptedCRD(ctx, e.Name)
		if err != nil {
			return nil, nil, err
		}
		if adopted {
			prune = append(prune, e)
		} else {
			crds = append(crds, e)
		}
	}
	if len(crds) == 0 {
		return prune, nil, nil
	}
	leaving := map[string]bool{}
	for _, e := range prune {
		leaving[e.Group+"/"+e.Kind+"/"+e.Namespace+"/"+e.Name] = true
	}
	for _, e := range crds {
		user, err := c.firstCustomResource(ctx, e.Name, leaving)
		if err != nil {
			return nil, nil, err
		}
		if user != "" {
			logf.FromContext(ctx).Info("keeping the traefik.io CRDs while custom resources use them", "inUse", user)
			c.scheduleRecheck()
			return prune, crds, nil
		}
	}
	return append(prune, crds...), nil, nil
}

// adoptedCRD reports whether the CRD name exists and wharf adopted it.
func (c *Component) adoptedCRD(ctx context.Context, name string) (bool, error) {
	live := &metav1.PartialObjectMetadata{}
	live.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	if err := c.deps.Reader.Get(ctx, client.ObjectKey{Name: name}, live); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("read CRD %s: %w", name, err)
	}
	return live.GetAnnotations()[apply.OriginAnnotation] == apply.OriginAdopted, nil
}

func isTraefikCRD(e v1alpha1.InventoryEntry) bool {
	return e.Group == apiextensionsv1.GroupName && e.Kind == "CustomResourceDefinition" &&
		strings.HasSuffix(e.Name, "."+traefikGroup)
}

// firstCustomResource names a resource of the CRD crdName that is not in
// leaving, or returns "" when there is none (or no such CRD).
func (c *Component) firstCustomResource(ctx context.Context, crdName string, leaving map[string]bool) (string, error) {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := c.deps.Reader.Get(ctx, client.ObjectKey{Name: crdName}, crd); err != nil {
		if apierrors.IsNotFound(err) {
			return "", nil
		}
		return "", fmt.Errorf("read CustomResourceDefinition %s: %w", crdName, err)
	}
	version := servedVersion(crd)
	if version == "" {
		return "", nil
	}
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(schema.GroupVersionKind{Group: crd.Spec.Group, Version: version, Kind: crd.Spec.Names.ListKind})
	if list.Kind == "" {
		list.Kind = crd.Spec.Names.Kind + "List"
	}
	if err := c.deps.Reader.List(ctx, list, client.Limit(50)); err != nil {
		if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			return "", nil
		}
		return "", fmt.Errorf("list %s: %w", crd.Spec.Names.Plural, err)
	}
	for _, item := range list.Items {
		if !leaving[crd.Spec.Group+"/"+crd.Spec.Names.Kind+"/"+item.Namespace+"/"+item.Name] {
			return fmt.Sprintf("%s %s/%s", crd.Spec.Names.Kind, item.Namespace, item.Name), nil
		}
	}
	if list.Continue != "" {
		return fmt.Sprintf("more than %d %s", len(list.Items), crd.Spec.Names.Plural), nil
	}
	return "", nil
}

// servedVersion is the storage version of crd, or else its first served one.
func servedVersion(crd *apiextensionsv1.CustomResourceDefinition) string {
	first := ""
	for _, v := range crd.Spec.Versions {
		if v.Storage && v.Served {
			return v.Name
		}
		if v.Served && first == "" {
			first = v.Name
		}
	}
	return first
}
