package traefik

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
)

// Observe implements component.Component: it reports the Traefik
// Deployment's readiness, read from the manager's cache, and fills
// status.traefik. A dashboard that could not be exposed makes Traefik not
// ready, with reason DashboardSecretInvalid.
func (c *Component) Observe(ctx context.Context, cn *v1alpha1.ClusterNetworking, fs component.Facts, status *v1alpha1.ClusterNetworkingStatus) (component.Health, error) {
	f := fs.(facts)
	// The render of these facts, from the cache Render filled.
	r, err := c.cache.view(&cn.Spec.Traefik, f.in, f.chartID)
	if err != nil {
		return component.Health{}, err
	}
	st := &v1alpha1.TraefikStatus{DashboardSecret: f.dashboardSecret, Chart: r.chart, DashboardURL: r.dashboardURL}
	status.Traefik = st
	health, err := c.deploymentHealth(ctx, r.workload, st)
	if err != nil {
		return component.Health{}, err
	}
	if f.dashboardProblem != nil {
		return dashboardProblemHealth(f.dashboardProblem), nil
	}
	return health, nil
}

// deploymentHealth reads the rendered Deployment or DaemonSet and
// records its ready pods in st. A Deployment comes from the cache; a
// DaemonSet from the API server, since the cache keeps DaemonSets as
// metadata only (the svclb ones are all it needs).
func (c *Component) deploymentHealth(ctx context.Context, w workload, st *v1alpha1.TraefikStatus) (component.Health, error) {
	if w.key.Name == "" {
		return component.Ready("the values render no Traefik workload"), nil
	}
	var obj client.Object = &appsv1.Deployment{}
	var reader client.Reader = c.deps.Client
	if w.kind == "DaemonSet" {
		obj, reader = &appsv1.DaemonSet{}, c.deps.Reader
	}
	if err := reader.Get(ctx, w.key, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return component.Progressing(fmt.Sprintf("waiting for %s %s", w.kind, w.key)), nil
		}
		return component.Health{}, fmt.Errorf("read %s %s: %w", w.kind, w.key, err)
	}
	if ds, ok := obj.(*appsv1.DaemonSet); ok {
		st.ReadyReplicas = ds.Status.NumberReady
		return daemonSetReadiness(ds), nil
	}
	d := obj.(*appsv1.Deployment)
	st.ReadyReplicas = d.Status.ReadyReplicas
	return deploymentReadiness(d), nil
}

// daemonSetReadiness is Ready once the current generation is rolled out
// to every node that should run Traefik, and at least one pod is ready.
func daemonSetReadiness(ds *appsv1.DaemonSet) component.Health {
	s := ds.Status
	msg := fmt.Sprintf("DaemonSet %s/%s: %d/%d pods ready", ds.Namespace, ds.Name, s.NumberReady, s.DesiredNumberScheduled)
	switch {
	case s.ObservedGeneration < ds.Generation:
		return component.Progressing(fmt.Sprintf("DaemonSet %s/%s: rolling out generation %d", ds.Namespace, ds.Name, ds.Generation))
	case s.DesiredNumberScheduled == 0:
		return component.Progressing(fmt.Sprintf("DaemonSet %s/%s: no node to run on", ds.Namespace, ds.Name))
	case s.UpdatedNumberScheduled < s.DesiredNumberScheduled || s.NumberAvailable < s.DesiredNumberScheduled || s.NumberReady < 1:
		return component.Progressing(msg)
	default:
		return component.Ready(msg)
	}
}

// deploymentReadiness is Ready once the current generation is rolled out
// and every wanted replica is updated and available.
func deploymentReadiness(d *appsv1.Deployment) component.Health {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	msg := fmt.Sprintf("Deployment %s/%s: %d/%d replicas ready", d.Namespace, d.Name, d.Status.ReadyReplicas, want)
	switch {
	case d.Status.ObservedGeneration < d.Generation:
		return component.Progressing(fmt.Sprintf("Deployment %s/%s: rolling out generation %d", d.Namespace, d.Name, d.Generation))
	case d.Status.UpdatedReplicas < want || d.Status.AvailableReplicas < want || d.Status.ReadyReplicas < want:
		return component.Progressing(msg)
	default:
		return component.Ready(msg)
	}
}
