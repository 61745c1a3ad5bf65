package servicelb

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/controllers/component"
)

// statusWrite is what one status patch of a Service changes.
type statusWrite struct {
	// setIngress writes ips as status.loadBalancer.ingress (none clears it).
	setIngress bool
	ips        []string
	// cond replaces ConditionType; dropCondition removes it.
	cond          *metav1.Condition
	dropCondition bool
}

// writeStatus applies w to svc's status in one patch, leaving out what
// svc already shows, and sends nothing when that is all of it. It reports
// whether the ingress changed. The patch holds only if svc is the
// Service as the API server has it: decided from an older copy (a cache
// that has not caught up with the last write), it is refused with a
// Conflict error, and the reconcile of the newer copy decides again; so
// no write and no Event is repeated, whatever the staleness guard
// remembers.
func (r *Reconciler) writeStatus(ctx context.Context, svc *corev1.Service, w statusWrite) (bool, error) {
	w.setIngress = w.setIngress && !sameIPs(svc.Status.LoadBalancer.Ingress, w.ips)
	if !conditionChanged(svc, w.cond) {
		w.cond = nil
	}
	w.dropCondition = w.dropCondition && conditionOf(svc) != nil
	if !w.setIngress && w.cond == nil && !w.dropCondition {
		return false, nil
	}
	body, err := statusPatch(svc, w.setIngress, w.ips, w.cond, w.dropCondition)
	if err != nil {
		return false, err
	}
	before := svc.ResourceVersion
	if err := r.Client.Status().Patch(ctx, svc, client.RawPatch(types.StrategicMergePatchType, body), client.FieldOwner(component.FieldManager)); err != nil {
		return false, fmt.Errorf("write the status of service %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	r.stale.replaced(before, svc)
	return w.setIngress, nil
}
