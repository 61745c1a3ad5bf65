package servicelb

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/internal/apply"
)

// finish lets a served Service that is being deleted go: its DaemonSet is
// deleted first, then the finalizer is released.
func (r *Reconciler) finish(ctx context.Context, svc *corev1.Service) error {
	key := client.ObjectKeyFromObject(svc)
	if _, err := r.deleteDaemonSets(ctx, key, svc, types.NamespacedName{}); err != nil {
		return err
	}
	if err := r.removeFinalizer(ctx, svc); err != nil {
		return err
	}
	r.built.forget(key)
	r.refused.reset(key)
	return nil
}

// release undoes what wharf did for a Service it no longer serves (its
// type or class changed, ServiceLB was disabled, the ClusterNetworking is
// gone), its condition included, and forgets it.
func (r *Reconciler) release(ctx context.Context, svc *corev1.Service) error {
	key := client.ObjectKeyFromObject(svc)
	r.built.forget(key)
	r.refused.reset(key)
	return r.undo(ctx, svc, nil)
}

// undo deletes the Service's DaemonSets, then clears the ingress wharf
// wrote, sets the Service's condition to cond (nil removes it) and removes
// wharf's finalizer. A Service wharf never touched, without the condition,
// costs no write. (A Service changed away from LoadBalancer loses its
// ingress, whoever wrote it, by the API server itself.)
func (r *Reconciler) undo(ctx context.Context, svc *corev1.Service, cond *metav1.Condition) error {
	key := client.ObjectKeyFromObject(svc)
	deleted, err := r.deleteDaemonSets(ctx, key, svc, types.NamespacedName{})
	if err != nil {
		return err
	}
	// wharf writes the ingress only while its finalizer is on the Service
	// and clears it before removing the finalizer: without the finalizer,
	// the ingress (if any) is another load balancer's.
	if !hasFinalizer(svc) && deleted == 0 {
		_, err := r.writeStatus(ctx, svc, statusWrite{cond: cond, dropCondition: cond == nil})
		return client.IgnoreNotFound(err)
	}
	// The cache drops managed fields: read them to know what wharf wrote.
	live := &corev1.Service{}
	if err := r.Reader.Get(ctx, key, live); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("read service %s: %w", key, err))
	}
	w := statusWrite{cond: cond, dropCondition: cond == nil, setIngress: ownsIngress(live) && len(live.Status.LoadBalancer.Ingress) > 0}
	if _, err := r.writeStatus(ctx, live, w); err != nil {
		return err
	}
	// Once a Service is no longer of type LoadBalancer, no load balancer
	// needs the cleanup finalizer, whoever added it (K3s's cloud provider,
	// say): left there, it would block the Service's deletion for good.
	if hasFinalizer(live) && (deleted > 0 || ownsFinalizer(live) || live.Spec.Type != corev1.ServiceTypeLoadBalancer) {
		return r.removeFinalizer(ctx, live)
	}
	return nil
}

// deleteDaemonSets deletes the svclb DaemonSets of the Service key, except
// keep, and says how many it deleted. svc, when known, gets an Event.
func (r *Reconciler) deleteDaemonSets(ctx context.Context, key types.NamespacedName, svc *corev1.Service, keep types.NamespacedName) (int, error) {
	list := daemonSetMetadataList()
	if err := r.Client.List(ctx, list, client.MatchingLabels{apply.ManagedByLabel: apply.ManagedByValue},
		client.MatchingFields{ServiceKeyIndex: key.Namespace + "/" + key.Name}); err != nil {
		return 0, fmt.Errorf("list svclb daemonsets of %s: %w", key, err)
	}
	deleted := 0
	for i := range list.Items {
		ds := &list.Items[i]
		if client.ObjectKeyFromObject(ds) == keep || !ds.DeletionTimestamp.IsZero() {
			continue
		}
		gone, err := r.Applier.Delete(ctx, ds)
		if err != nil {
			return deleted, err
		}
		if !gone {
			continue
		}
		deleted++
		if svc != nil {
			r.event(svc, corev1.EventTypeNormal, ReasonDeletedDaemonSet, "DeleteDaemonSet", "Deleted LoadBalancer DaemonSet %s/%s", ds.Namespace, ds.Name)
		}
	}
	return deleted, nil
}
