package traefik

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
)

// Observe implements component.Component: it reports the Traefik
// Deployment's readiness, read from the manager's cache, and fills
// status.traefik. A dashboard that could not be exposed makes Traefik not
// ready, with reason DashboardSecretInvalid.
func (c *Component) Observe(ctx context.Context, cn *v1alpha1.ClusterNetworking, status *v1alpha1.ClusterNetworkingStatus) (component.Health, error) {
	last := c.lastRender()
	st := &v1alpha1.TraefikStatus{DashboardSecret: last.dashboardSecret}
	if last.rendered != nil {
		st.Chart, st.DashboardURL = last.chart, last.dashboardURL
	}
	status.Traefik = st
	health, err := c.deploymentHealth(ctx, last, st)
	if err != nil {
		return component.Health{}, err
	}
	if last.dashboardProblem != nil {
		return dashboardProblemHealth(last.dashboardProblem), nil
	}
	return health, nil
}

// deploymentHealth reads the rendered Deployment and records its ready
// replicas in st.
func (c *Component) deploymentHealth(ctx context.Context, last lastRender, st *v1alpha1.TraefikStatus) (component.Health, error) {
	if last.rendered == nil || last.deployment.Name == "" {
		return component.Ready("the values render no Traefik Deployment"), nil
	}
	d := &appsv1.Deployment{}
	if err := c.deps.Client.Get(ctx, last.deployment, d); err != nil {
		if apierrors.IsNotFound(err) {
			return component.Progressing(fmt.Sprintf("waiting for Deployment %s", last.deployment)), nil
		}
		return component.Health{}, fmt.Errorf("read Deployment %s: %w", last.deployment, err)
	}
	st.ReadyReplicas = d.Status.ReadyReplicas
	return deploymentReadiness(d), nil
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
