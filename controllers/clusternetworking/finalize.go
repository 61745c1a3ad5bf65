package clusternetworking

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
	"github.com/wharf-dev/wharf/controllers/servicelb"
	"github.com/wharf-dev/wharf/internal/apply"
	"github.com/wharf-dev/wharf/internal/requeue"
)

// Finalizer keeps the ClusterNetworking until wharf has done what
// spec.deletionPolicy says: orphaned everything (Orphan, the default) or
// deleted what it created (Delete). Deleting the CustomResourceDefinition
// deletes the resource, so it goes the same way while the manager runs.
const Finalizer = "networking.wharf.dev/cleanup"

// ServiceFinalizer is the finalizer ServiceLB puts on the Services it
// serves (the one K3s uses).
const ServiceFinalizer = servicelb.Finalizer

// ensureFinalizer adds Finalizer to cn unless it has it.
func (r *Reconciler) ensureFinalizer(ctx context.Context, cn *v1alpha1.ClusterNetworking) error {
	if controllerutil.ContainsFinalizer(cn, Finalizer) {
		return nil
	}
	base := cn.DeepCopy()
	controllerutil.AddFinalizer(cn, Finalizer)
	if err := r.Client.Patch(ctx, cn, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("add the finalizer: %w", err)
	}
	return nil
}

// finalize does what the deletion policy says and then drops the
// finalizer, so the resource goes. Until every step succeeded the
// finalizer stays: an error is retried with backoff, cleanup still under
// way (ServiceLB's reconciler removing svclb DaemonSets) is looked at
// again after the result's delay.
func (r *Reconciler) finalize(ctx context.Context, cn *v1alpha1.ClusterNetworking) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(cn, Finalizer) {
		return ctrl.Result{}, nil
	}
	log := ctrl.LoggerFrom(ctx).WithValues("deletionPolicy", string(cn.Spec.DeletionPolicy))
	var err error
	var cleanup component.Cleanup
	if cn.Spec.DeletionPolicy == v1alpha1.DeletionPolicyDelete {
		cleanup, err = r.deleteCreated(ctx, cn)
	} else {
		err = r.orphan(ctx, cn)
	}
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("finalize (deletionPolicy %s): %w", policyName(cn), err)
	}
	if !cleanup.Done() {
		log.V(1).Info("the finalizer stays while cleanup is under way", "left", cleanup.Left)
		return requeue.After(cleanup.RecheckAfter), nil
	}
	base := cn.DeepCopy()
	controllerutil.RemoveFinalizer(cn, Finalizer)
	if err := r.Client.Patch(ctx, cn, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("remove the finalizer: %w", err)
	}
	log.Info("the ClusterNetworking is deleted; what wharf deployed was handled as its deletion policy says")
	return ctrl.Result{}, nil
}

func policyName(cn *v1alpha1.ClusterNetworking) v1alpha1.DeletionPolicy {
	if cn.Spec.DeletionPolicy == "" {
		return v1alpha1.DeletionPolicyOrphan
	}
	return cn.Spec.DeletionPolicy
}

// orphan leaves every component running: it removes owner references to
// the ClusterNetworking that earlier versions of wharf set (from the
// inventory, the svclb DaemonSets and the Secrets wharf generated), so
// that the garbage collector keeps them, and removes ServiceLB's finalizer
// from the Services, so that they can be deleted without wharf. The
// objects keep wharf's labels: a ClusterNetworking created again takes
// them back.
func (r *Reconciler) orphan(ctx context.Context, cn *v1alpha1.ClusterNetworking) error {
	var errs []error
	if err := r.Applier.DisownEntries(ctx, cn.Status.Inventory); err != nil {
		errs = append(errs, err)
	}
	for _, gvk := range []schema.GroupVersionKind{
		appsv1.SchemeGroupVersion.WithKind("DaemonSet"), corev1.SchemeGroupVersion.WithKind("Secret"),
	} {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := r.Client.List(ctx, list, client.MatchingLabels{apply.ManagedByLabel: apply.ManagedByValue}); err != nil {
			errs = append(errs, fmt.Errorf("list %ss: %w", gvk.Kind, err))
			continue
		}
		for i := range list.Items {
			item := &list.Items[i]
			item.SetGroupVersionKind(gvk)
			if err := r.Applier.Disown(ctx, item); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, err)
			}
		}
	}
	if err := r.releaseServiceFinalizers(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// releaseServiceFinalizers removes ServiceFinalizer from every Service. The
// svclb DaemonSets stay and keep serving; the ServiceLB reconciler leaves
// Services alone while the ClusterNetworking is deleted with the Orphan
// policy, so it does not add the finalizer back.
func (r *Reconciler) releaseServiceFinalizers(ctx context.Context) error {
	list := &corev1.ServiceList{}
	if err := r.Client.List(ctx, list); err != nil {
		return fmt.Errorf("list services: %w", err)
	}
	var errs []error
	for i := range list.Items {
		svc := &list.Items[i]
		if !slices.Contains(svc.Finalizers, ServiceFinalizer) {
			continue
		}
		base := svc.DeepCopy()
		svc.Finalizers = slices.DeleteFunc(svc.Finalizers, func(f string) bool { return f == ServiceFinalizer })
		err := r.Client.Patch(ctx, svc, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}), client.FieldOwner(component.FieldManager))
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove the finalizer of service %s/%s: %w", svc.Namespace, svc.Name, err))
		}
	}
	return errors.Join(errs...)
}

// deleteCreated removes every component as if it were disabled: what
// wharf created is deleted, what it adopted is released, and each
// component cleans up after itself (ServiceLB's reconciler deletes the
// svclb DaemonSets and releases the Services). CustomResourceDefinitions
// that still hold custom resources are kept, unowned.
//
// The Cleanup returned says what the components still have to remove,
// with the soonest recheck any of them asks for.
func (r *Reconciler) deleteCreated(ctx context.Context, cn *v1alpha1.ClusterNetworking) (component.Cleanup, error) {
	s := newStatusBuilder(cn)
	var errs []error
	var left []string
	var rechecks []ctrl.Result
	for _, c := range r.Components {
		cleanup, err := r.disable(ctx, cn, c, apply.OfComponent(cn.Status.Inventory, c.Name()), s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.Name(), err))
		}
		if !cleanup.Done() {
			left = append(left, c.Name()+": "+cleanup.Left)
			rechecks = append(rechecks, requeue.After(cleanup.RecheckAfter))
		}
	}
	return component.Cleanup{Left: strings.Join(left, "; "), RecheckAfter: requeue.Soonest(rechecks...).RequeueAfter}, errors.Join(errs...)
}
