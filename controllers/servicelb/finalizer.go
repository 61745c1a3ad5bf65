package servicelb

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/controllers/component"
)

// ensureFinalizer adds the finalizer to svc unless it has it, with a merge
// patch that fails on a conflicting change instead of dropping it.
func (r *Reconciler) ensureFinalizer(ctx context.Context, svc *corev1.Service) error {
	if hasFinalizer(svc) {
		return nil
	}
	base := svc.DeepCopy()
	svc.Finalizers = append(svc.Finalizers, Finalizer)
	return r.patchFinalizers(ctx, svc, base)
}

// removeFinalizer removes the finalizer from svc if it has it.
func (r *Reconciler) removeFinalizer(ctx context.Context, svc *corev1.Service) error {
	if !hasFinalizer(svc) {
		return nil
	}
	base := svc.DeepCopy()
	svc.Finalizers = slices.DeleteFunc(svc.Finalizers, func(f string) bool { return f == Finalizer })
	return r.patchFinalizers(ctx, svc, base)
}

// removeLegacyFinalizer removes the finalizer older K3s releases added
// (LegacyFinalizer), which nothing would remove otherwise: a Service with
// it could never be deleted.
func (r *Reconciler) removeLegacyFinalizer(ctx context.Context, svc *corev1.Service) error {
	base := svc.DeepCopy()
	svc.Finalizers = slices.DeleteFunc(svc.Finalizers, func(f string) bool { return f == LegacyFinalizer })
	return r.patchFinalizers(ctx, svc, base)
}

func hasLegacyFinalizer(svc *corev1.Service) bool {
	return slices.Contains(svc.Finalizers, LegacyFinalizer)
}

func (r *Reconciler) patchFinalizers(ctx context.Context, svc, base *corev1.Service) error {
	patch := client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})
	if err := r.Client.Patch(ctx, svc, patch, client.FieldOwner(component.FieldManager)); err != nil {
		return fmt.Errorf("update the finalizers of service %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	r.stale.replaced(base.ResourceVersion, svc)
	return nil
}

// ownsFinalizer reports whether wharf's field manager added the finalizer.
func ownsFinalizer(svc *corev1.Service) bool {
	value := fmt.Sprintf("v:%q", Finalizer)
	return ownsField(svc, "", "f:metadata", "f:finalizers", value)
}

// ownsIngress reports whether wharf's field manager wrote the ingress.
func ownsIngress(svc *corev1.Service) bool {
	return ownsField(svc, "status", "f:status", "f:loadBalancer", "f:ingress")
}

// ownsField reports whether the wharf field manager owns the field at path
// of svc's subresource.
func ownsField(svc *corev1.Service, subresource string, path ...string) bool {
	for _, mf := range svc.ManagedFields {
		if mf.Manager != component.FieldManager || mf.Subresource != subresource || mf.FieldsV1 == nil {
			continue
		}
		if fieldsHave(mf.FieldsV1, path) {
			return true
		}
	}
	return false
}

func fieldsHave(f *metav1.FieldsV1, path []string) bool {
	var node map[string]json.RawMessage
	raw := f.GetRawBytes()
	for _, p := range path {
		if err := json.Unmarshal(raw, &node); err != nil {
			return false
		}
		next, ok := node[p]
		if !ok || bytes.Equal(bytes.TrimSpace(next), []byte("null")) {
			return false
		}
		raw = next
	}
	return true
}
