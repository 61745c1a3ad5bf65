package servicelb

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
	"github.com/wharf-dev/wharf/internal/apply"
	"github.com/wharf-dev/wharf/internal/render"
)

// ReasonServicesPending is the ServiceLBReady reason while some Services
// cannot get a node. The condition stays True: ServiceLB works, those
// Services wait for a free port or an eligible node, as in K3s, or fail on
// their own (each has Events and a pending entry).
const ReasonServicesPending = "ServicesPending"

// ReasonDaemonSetsFailing is the ServiceLBReady reason, with the condition
// False, while every served Service fails: the API server refuses each
// svclb DaemonSet, or the DaemonSet controller each one's pods.
const ReasonDaemonSetsFailing = "DaemonSetsFailing"

// ReasonPriorityClassNotFound is the ServiceLBReady reason, with the
// condition False, while the priority class spec.serviceLB names does not
// exist: no svclb pod can be created.
const ReasonPriorityClassNotFound = "PriorityClassNotFound"

// Component is the ServiceLB component of the ClusterNetworking: it renders
// the svclb ServiceAccount and sums up what the Service reconciler wrote
// on the Services. The svclb DaemonSets themselves are applied by the
// Service reconciler.
type Component struct {
	deps component.Deps
}

// New returns the ServiceLB component.
func New(deps component.Deps) *Component { return &Component{deps: deps} }

// Name implements component.Component.
func (c *Component) Name() string { return ComponentName }

// ConditionType implements component.Component.
func (c *Component) ConditionType() string { return v1alpha1.ConditionServiceLBReady }

// Enabled implements component.Component.
func (c *Component) Enabled(cn *v1alpha1.ClusterNetworking) bool {
	return cn.Spec.ServiceLB.IsEnabled()
}

// Inputs implements component.Component: ServiceLB renders from the spec
// alone.
func (c *Component) Inputs(context.Context, *v1alpha1.ClusterNetworking) (component.Facts, error) {
	return nil, nil
}

// OfflineInputs implements component.OfflineRenderer.
func (c *Component) OfflineInputs(*v1alpha1.ClusterNetworking) (component.Facts, error) {
	return nil, nil
}

// Render implements component.Component: the namespace of the svclb pods
// (created when missing, as K3s does, and never deleted: see
// apply.Inventoried) and the svclb ServiceAccount in it.
func (c *Component) Render(cn *v1alpha1.ClusterNetworking, _ component.Facts) ([]*unstructured.Unstructured, error) {
	ns, err := render.FromTyped(corev1ac.Namespace(cn.Spec.ServiceLB.Namespace))
	if err != nil {
		return nil, err
	}
	sa, err := render.FromTyped(corev1ac.ServiceAccount(ServiceAccountName, cn.Spec.ServiceLB.Namespace).
		WithAutomountServiceAccountToken(false))
	if err != nil {
		return nil, err
	}
	return []*unstructured.Unstructured{ns, sa}, nil
}

// Observe implements component.Component: it sums up the Services, read
// from the cache (see Summarize), into status and says how many are served
// and pending. Their conditions are in the cluster, so a restarted manager
// reports the same at once.
func (c *Component) Observe(ctx context.Context, cn *v1alpha1.ClusterNetworking, _ component.Facts, status *v1alpha1.ClusterNetworkingStatus) (component.Health, error) {
	list := &corev1.ServiceList{}
	if err := c.deps.Client.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
		return component.Health{}, fmt.Errorf("list services: %w", err)
	}
	sum := Summarize(list.Items, &cn.Spec.ServiceLB)
	status.ServiceLB = &sum.Status
	msg := summaryMessage(sum.Status)
	if missing, err := c.priorityClassMissing(ctx, &cn.Spec.ServiceLB); err != nil {
		return component.Health{}, err
	} else if missing != "" {
		return component.Health{Reason: ReasonPriorityClassNotFound, Message: fmt.Sprintf(
			"the priority class %q of spec.serviceLB.priorityClassName does not exist: no svclb pod can be created; %s", missing, msg)}, nil
	}
	if sum.Failing > 0 && sum.Failing == int(sum.Status.Services) {
		return component.Health{Reason: ReasonDaemonSetsFailing, Message: fmt.Sprintf(
			"every served service fails: %s; %s", sum.FirstFailing, msg)}, nil
	}
	h := component.Ready(msg)
	if sum.Status.PendingTotal > 0 {
		h.Reason = ReasonServicesPending
	}
	return h, nil
}

// priorityClassMissing returns the spec's priority class when it does not
// exist, or "". One read per ClusterNetworking reconcile.
func (c *Component) priorityClassMissing(ctx context.Context, spec *v1alpha1.ServiceLBSpec) (string, error) {
	if c.deps.Reader == nil {
		return "", nil
	}
	name := spec.PriorityClassName
	pc := &metav1.PartialObjectMetadata{}
	pc.SetGroupVersionKind(schedulingv1.SchemeGroupVersion.WithKind("PriorityClass"))
	switch err := c.deps.Reader.Get(ctx, client.ObjectKey{Name: name}, pc); {
	case apierrors.IsNotFound(err):
		return name, nil
	case err != nil:
		return "", fmt.Errorf("read priority class %s: %w", name, err)
	}
	return "", nil
}

// cleanupRecheck is how often a disabled ServiceLB looks again at what the
// Service reconciler has still to remove. The Services' change events
// usually come first; this catches a DaemonSet deletion the cache had not
// seen yet when the last Service was released.
const cleanupRecheck = time.Second

// Disable implements component.Disabler: the Service reconciler removes the
// DaemonSets, finalizers and ingress when it sees ServiceLB disabled. This
// checks, without waiting, whether it is done, and says what is left.
func (c *Component) Disable(ctx context.Context, _ *v1alpha1.ClusterNetworking, status *v1alpha1.ClusterNetworkingStatus) (component.Cleanup, error) {
	status.ServiceLB = nil
	if c.deps.Client == nil {
		return component.Cleanup{}, nil
	}
	left, err := c.daemonSetsLeft(ctx)
	if err != nil {
		return component.Cleanup{}, err
	}
	services, err := c.servicesLeft(ctx)
	if err != nil {
		return component.Cleanup{}, err
	}
	if left > 0 || services > 0 {
		return component.Cleanup{
			Left:         fmt.Sprintf("the Service controller is still to remove %d svclb DaemonSets and release %d Services", left, services),
			RecheckAfter: cleanupRecheck,
		}, nil
	}
	return component.Cleanup{}, nil
}

// daemonSetsLeft counts the svclb DaemonSets in the cache.
func (c *Component) daemonSetsLeft(ctx context.Context) (int, error) {
	list := daemonSetMetadataList()
	if err := c.deps.Client.List(ctx, list, client.MatchingLabels{
		apply.ManagedByLabel: apply.ManagedByValue, apply.ComponentLabel: ComponentName,
	}); err != nil {
		return 0, fmt.Errorf("list svclb DaemonSets: %w", err)
	}
	return len(list.Items), nil
}

// servicesLeft counts, in the cache, the Services that still carry
// ServiceLB's condition: the Service reconciler removes it when it
// releases a Service.
func (c *Component) servicesLeft(ctx context.Context) (int, error) {
	list := &corev1.ServiceList{}
	if err := c.deps.Client.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
		return 0, fmt.Errorf("list services: %w", err)
	}
	n := 0
	for i := range list.Items {
		if conditionOf(&list.Items[i]) != nil {
			n++
		}
	}
	return n, nil
}

// SetupWatches implements component.Watcher: a Service change that moves
// the summary reconciles the ClusterNetworking (see summaryChanges).
func (c *Component) SetupWatches(b *builder.Builder) *builder.Builder {
	return b.Watches(&corev1.Service{}, summaryChanges())
}

// summaryMessage says, e.g., "3 services served (2 with ingress), 1 pending:
// default/web2: port 8888/TCP is already in use on every eligible node (master02)".
func summaryMessage(s v1alpha1.ServiceLBStatus) string {
	msg := fmt.Sprintf("%s served (%d with ingress), %d pending", plural(int(s.Services), "service"), s.Ready, s.PendingTotal)
	if len(s.Pending) == 0 {
		return msg
	}
	var parts []string
	for i, p := range s.Pending {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", int(s.PendingTotal)-3))
			break
		}
		parts = append(parts, fmt.Sprintf("%s/%s: %s", p.Namespace, p.Name, p.Reason))
	}
	return msg + ": " + strings.Join(parts, "; ")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
