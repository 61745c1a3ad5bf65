// Package coredns manages CoreDNS from the ClusterNetworking resource: the
// coredns ServiceAccount, ClusterRole and binding, the coredns ConfigMap
// (Corefile and NodeHosts), the coredns Deployment and the kube-dns Service.
//
// The objects carry the names and labels K3s and kubeadm use. Where they
// already exist (a cluster whose CoreDNS came with K3s or kubeadm), wharf
// takes them over: server-side apply with force makes wharf the owner of
// every field it sets, and the kube-dns Service keeps its cluster IP.
package coredns

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
)

// What wharf applies for CoreDNS, and what it reads to render it:
// +kubebuilder:rbac:groups="",resources=serviceaccounts;configmaps;services,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;patch;delete
// What it reads to tell why a rollout fails (the newest ReplicaSet's pods):
// +kubebuilder:rbac:groups=apps,resources=replicasets,verbs=list
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles;clusterrolebindings,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch
// What the system:coredns ClusterRole grants, which wharf must hold to grant:
// +kubebuilder:rbac:groups="",resources=endpoints;pods;namespaces,verbs=list;watch
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=list;watch

// Component is the CoreDNS component.
type Component struct {
	deps component.Deps
}

// New returns the CoreDNS component.
func New(deps component.Deps) *Component { return &Component{deps: deps} }

// Name implements component.Component.
func (c *Component) Name() string { return "coredns" }

// ConditionType implements component.Component.
func (c *Component) ConditionType() string { return v1alpha1.ConditionCoreDNSReady }

// Enabled implements component.Component.
func (c *Component) Enabled(cn *v1alpha1.ClusterNetworking) bool { return cn.Spec.CoreDNS.IsEnabled() }

// Inputs implements component.Component: the kube-dns Service, the IPs
// recorded in status, the Nodes and the NodeHosts in the cluster (see
// gatherFacts). A cluster IP that cannot be applied returns a
// component.StalledError, and a kube-dns IP held by another Service an
// error with reason ClusterIPUnavailable; then nothing is applied.
func (c *Component) Inputs(ctx context.Context, cn *v1alpha1.ClusterNetworking) (component.Facts, error) {
	return c.gatherFacts(ctx, cn)
}

// Render implements component.Component with Render. A Corefile that would
// not load is a component.StalledError, and nothing is applied.
func (c *Component) Render(cn *v1alpha1.ClusterNetworking, facts component.Facts) ([]*unstructured.Unstructured, error) {
	objs, err := Render(&cn.Spec, facts.(Facts))
	if st, ok := component.AsStalled(err); ok && st.Reason == ReasonInvalidCorefile {
		return nil, fmt.Errorf("%w; CoreDNS keeps running the Corefile of the coredns ConfigMap, which is left as it is", err)
	}
	return objs, err
}

// OfflineInputs implements component.OfflineRenderer: no nodes, and the
// spec's cluster IPs, else those recorded in status, else the default one.
func (c *Component) OfflineInputs(cn *v1alpha1.ClusterNetworking) (component.Facts, error) {
	return Facts{ClusterIPs: orDefaultIPs(specClusterIPs(&cn.Spec.CoreDNS), recordedClusterIPs(cn))}, nil
}

// Disable implements component.Disabler: the frame prunes what wharf
// applied; the CoreDNS status goes with it.
func (c *Component) Disable(_ context.Context, _ *v1alpha1.ClusterNetworking, status *v1alpha1.ClusterNetworkingStatus) (component.Cleanup, error) {
	status.CoreDNS = nil
	return component.Cleanup{}, nil
}

var (
	_ component.Component       = (*Component)(nil)
	_ component.Disabler        = (*Component)(nil)
	_ component.Watcher         = (*Component)(nil)
	_ component.OfflineRenderer = (*Component)(nil)
)
