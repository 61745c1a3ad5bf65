package coredns

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
)

// Observe implements component.Component: it fills status.coredns from the
// cache and reports the Deployment's readiness.
func (c *Component) Observe(ctx context.Context, cn *v1alpha1.ClusterNetworking, status *v1alpha1.ClusterNetworkingStatus) (component.Health, error) {
	spec := &cn.Spec.CoreDNS
	ns := spec.NamespaceOrDefault()
	st := &v1alpha1.CoreDNSStatus{}
	ip, err := c.liveClusterIP(ctx, ns)
	if err != nil {
		return component.Health{}, err
	}
	// The cache may not hold a Service created moments ago yet.
	st.ClusterIP, _ = ChooseClusterIP(spec.ClusterIP, ip)
	if spec.NodeHostsEnabled() {
		lines, err := c.nodeHosts(ctx)
		if err != nil {
			return component.Health{}, err
		}
		st.NodeHosts = int32(len(lines))
	}
	status.CoreDNS = st

	d := &appsv1.Deployment{}
	err = c.deps.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: DeploymentName}, d)
	if apierrors.IsNotFound(err) {
		return component.Progressing(fmt.Sprintf("waiting for Deployment %s/%s to show up", ns, DeploymentName)), nil
	}
	if err != nil {
		return component.Health{}, fmt.Errorf("read Deployment %s/%s: %w", ns, DeploymentName, err)
	}
	st.ReadyReplicas = d.Status.ReadyReplicas
	return DeploymentHealth(d, st.ClusterIP), nil
}

// DeploymentHealth reports the CoreDNS Deployment ready once its current
// spec is rolled out to every replica and at least one replica is ready.
func DeploymentHealth(d *appsv1.Deployment, clusterIP string) component.Health {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	switch {
	case s.ObservedGeneration < d.Generation:
		return component.Progressing("the coredns Deployment's latest spec is not rolled out yet")
	case s.UpdatedReplicas < want:
		return component.Progressing(fmt.Sprintf("coredns: %d of %d replicas updated", s.UpdatedReplicas, want))
	case s.ReadyReplicas < 1:
		return component.Progressing(fmt.Sprintf("coredns: no replica ready yet (0 of %d)", want))
	}
	return component.Ready(fmt.Sprintf("coredns: %d of %d replicas ready, serving %s", s.ReadyReplicas, want, clusterIP))
}
