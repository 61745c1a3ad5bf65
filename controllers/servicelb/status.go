package servicelb

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/controllers/component"
)

// writeIngress sets svc's status.loadBalancer.ingress to ips (none clears
// it) with a merge patch of the status, unless it already holds them. It
// reports whether it wrote.
func (r *Reconciler) writeIngress(ctx context.Context, svc *corev1.Service, ips []string) (bool, error) {
	if sameIPs(svc.Status.LoadBalancer.Ingress, ips) {
		return false, nil
	}
	var ingress []map[string]string
	for _, ip := range ips {
		ingress = append(ingress, map[string]string{"ip": ip})
	}
	// A null ingress deletes the field.
	body, err := json.Marshal(map[string]any{"status": map[string]any{"loadBalancer": map[string]any{"ingress": ingress}}})
	if err != nil {
		return false, fmt.Errorf("encode the ingress patch: %w", err)
	}
	before := svc.ResourceVersion
	if err := r.Client.Status().Patch(ctx, svc, client.RawPatch(types.MergePatchType, body), client.FieldOwner(component.FieldManager)); err != nil {
		return false, fmt.Errorf("write the ingress of service %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	r.stale.replaced(client.ObjectKeyFromObject(svc), before)
	return true, nil
}
