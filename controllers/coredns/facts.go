package coredns

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
)

// ReasonClusterIPImmutable is the CoreDNSReady reason for a
// spec.coredns.clusterIP that differs from the running kube-dns Service's.
const ReasonClusterIPImmutable = "ClusterIPImmutable"

// gatherFacts reads, from the manager's cache, the kube-dns Service and,
// when NodeHosts is kept, the Nodes.
func (c *Component) gatherFacts(ctx context.Context, spec *v1alpha1.CoreDNSSpec) (Facts, error) {
	existing, err := c.liveClusterIP(ctx, spec.NamespaceOrDefault())
	if err != nil {
		return Facts{}, err
	}
	ip, err := ChooseClusterIP(spec.ClusterIP, existing)
	if err != nil {
		return Facts{}, err
	}
	facts := Facts{ClusterIP: ip}
	if spec.NodeHostsEnabled() {
		if facts.NodeHosts, err = c.nodeHosts(ctx); err != nil {
			return Facts{}, err
		}
	}
	return facts, nil
}

// liveClusterIP returns the cluster IP of the kube-dns Service in
// namespace, or "" when there is none.
func (c *Component) liveClusterIP(ctx context.Context, namespace string) (string, error) {
	svc := &corev1.Service{}
	err := c.deps.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ServiceName}, svc)
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read Service %s/%s: %w", namespace, ServiceName, err)
	}
	return svc.Spec.ClusterIP, nil
}

func (c *Component) nodeHosts(ctx context.Context) ([]string, error) {
	nodes := &corev1.NodeList{}
	if err := c.deps.Client.List(ctx, nodes); err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	return NodeHostsLines(nodes.Items), nil
}

// ChooseClusterIP returns the cluster IP for kube-dns: the running
// Service's (existing) if there is one, else the spec's, else
// v1alpha1.DefaultDNSClusterIP. A spec IP other than the running one is a
// component.StalledError: a Service's cluster IP cannot change in place,
// and nothing is applied.
func ChooseClusterIP(specIP, existing string) (string, error) {
	switch {
	case existing == "":
		return orDefault(specIP, v1alpha1.DefaultDNSClusterIP), nil
	case specIP == "" || specIP == existing:
		return existing, nil
	default:
		return "", component.Stalledf(ReasonClusterIPImmutable,
			"the %s Service already has cluster IP %s and spec.coredns.clusterIP %s cannot be applied in place: "+
				"a Service's cluster IP cannot change. Set spec.coredns.clusterIP to %s (or remove it) to keep the running DNS; "+
				"to move DNS to %s, delete the %s Service so wharf recreates it with the new IP, and point the kubelets' "+
				"clusterDNS at it (pods resolve through the old IP until they are recreated)",
			ServiceName, existing, specIP, existing, specIP, ServiceName)
	}
}
