package coredns

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
)

// Reasons of the CoreDNSReady condition about the kube-dns cluster IPs.
const (
	// ReasonClusterIPImmutable: spec.coredns.clusterIP(s) differ from the
	// running kube-dns Service's.
	ReasonClusterIPImmutable = "ClusterIPImmutable"
	// ReasonClusterIPChanged: kube-dns was re-created by someone else on
	// another IP than the one wharf recorded.
	ReasonClusterIPChanged = "ClusterIPChanged"
	// ReasonClusterIPUnavailable: kube-dns is gone and the IP it must come
	// back on is allocated to another Service.
	ReasonClusterIPUnavailable = "ClusterIPUnavailable"
)

// reasonError is an error that names its CoreDNSReady reason; it is
// retried, unlike a component.StalledError.
type reasonError struct {
	reason string
	err    error
}

func (e *reasonError) Error() string           { return e.err.Error() }
func (e *reasonError) Unwrap() error           { return e.err }
func (e *reasonError) ConditionReason() string { return e.reason }

// gatherFacts reads the kube-dns Service and, when NodeHosts is kept, the
// Nodes from the manager's cache, the coredns ConfigMap from the API server
// (the cache holds ConfigMaps' metadata only), and the kube-dns IPs wharf
// recorded from the resource's status.
func (c *Component) gatherFacts(ctx context.Context, cn *v1alpha1.ClusterNetworking) (Facts, error) {
	spec := &cn.Spec.CoreDNS
	ns := spec.Namespace
	live, err := c.liveClusterIPs(ctx, ns)
	if err != nil {
		return Facts{}, err
	}
	ips, err := ChooseClusterIPs(specClusterIPs(spec), live, recordedClusterIPs(cn))
	if err != nil {
		return Facts{}, err
	}
	if len(live) == 0 {
		if err := c.checkClusterIPsFree(ctx, ns, ips); err != nil {
			return Facts{}, err
		}
	}
	facts := Facts{ClusterIPs: ips}
	if spec.NodeHostsEnabled() {
		if facts.NodeHosts, err = c.nodeHosts(ctx); err != nil {
			return Facts{}, err
		}
		cm := &corev1.ConfigMap{}
		err := c.deps.Reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: ConfigMapName}, cm)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return Facts{}, fmt.Errorf("read ConfigMap %s/%s: %w", ns, ConfigMapName, err)
		default:
			facts.CurrentNodeHosts = cm.Data[NodeHostsKey]
			if names := cm.Annotations[NodeHostsAnno]; names != "" {
				facts.WrittenNodes = strings.Split(names, ",")
			}
		}
	}
	return facts, nil
}

// liveClusterIPs returns the cluster IPs of the kube-dns Service in
// namespace, primary first, or nil when there is none.
func (c *Component) liveClusterIPs(ctx context.Context, namespace string) ([]string, error) {
	svc := &corev1.Service{}
	err := c.deps.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ServiceName}, svc)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read Service %s/%s: %w", namespace, ServiceName, err)
	}
	return serviceIPs(svc), nil
}

func serviceIPs(svc *corev1.Service) []string {
	if len(svc.Spec.ClusterIPs) > 0 {
		return svc.Spec.ClusterIPs
	}
	if svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone {
		return []string{svc.Spec.ClusterIP}
	}
	return nil
}

// checkClusterIPsFree returns a ClusterIPUnavailable error naming the
// Service that holds one of ips, if any: kube-dns cannot be created on an
// allocated IP, and moving it elsewhere would strand every pod whose
// resolv.conf points at it.
func (c *Component) checkClusterIPsFree(ctx context.Context, namespace string, ips []string) error {
	services := &corev1.ServiceList{}
	if err := c.deps.Client.List(ctx, services); err != nil {
		return fmt.Errorf("list services: %w", err)
	}
	for i := range services.Items {
		svc := &services.Items[i]
		if svc.Namespace == namespace && svc.Name == ServiceName {
			continue
		}
		for _, ip := range ips {
			if slices.Contains(serviceIPs(svc), ip) {
				return &reasonError{reason: ReasonClusterIPUnavailable, err: fmt.Errorf(
					"the %s Service is gone and must come back on %s, which every pod's resolv.conf points at, "+
						"but Service %s/%s holds that IP: delete or re-create that Service on another IP, "+
						"and wharf re-creates %s on %s",
					ServiceName, ip, svc.Namespace, svc.Name, ServiceName, ip)}
			}
		}
	}
	return nil
}

func (c *Component) nodeHosts(ctx context.Context) ([]string, error) {
	nodes := &corev1.NodeList{}
	if err := c.deps.Client.List(ctx, nodes); err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	return NodeHostsLines(nodes.Items), nil
}

// specClusterIPs returns the kube-dns addresses the spec asks for, primary
// first, or nil.
func specClusterIPs(spec *v1alpha1.CoreDNSSpec) []string {
	if len(spec.ClusterIPs) > 0 {
		return spec.ClusterIPs
	}
	if spec.ClusterIP != "" {
		return []string{spec.ClusterIP}
	}
	return nil
}

// recordedClusterIPs returns the kube-dns addresses recorded in the
// resource's status, primary first, or nil.
func recordedClusterIPs(cn *v1alpha1.ClusterNetworking) []string {
	st := cn.Status.CoreDNS
	switch {
	case st == nil:
		return nil
	case len(st.ClusterIPs) > 0:
		return st.ClusterIPs
	case st.ClusterIP != "":
		return []string{st.ClusterIP}
	}
	return nil
}

func orDefaultIPs(ips, def []string) []string {
	if len(ips) == 0 {
		return def
	}
	return ips
}

// ChooseClusterIPs returns the cluster IPs of kube-dns, primary first, from
// the spec's (specIPs), the running Service's (live) and those wharf
// recorded in status (recorded):
//
//   - kube-dns runs: its IPs. A spec naming other IPs is a
//     component.StalledError (ClusterIPImmutable), except that it may add
//     a second IP family to a single-stack kube-dns. Without such a spec,
//     a kube-dns whose primary IP is not the recorded one (someone
//     re-created it elsewhere) is an error with reason ClusterIPChanged.
//   - kube-dns is gone: the spec's IPs, else the recorded ones (so that a
//     deleted kube-dns comes back where every pod's resolv.conf points),
//     else v1alpha1.DefaultDNSClusterIP.
func ChooseClusterIPs(specIPs, live, recorded []string) ([]string, error) {
	switch {
	case len(live) == 0:
		return orDefaultIPs(specIPs, orDefaultIPs(recorded, []string{v1alpha1.DefaultDNSClusterIP})), nil
	case len(specIPs) > 0:
		if slices.Equal(specIPs, live) {
			return live, nil
		}
		if len(live) == 1 && len(specIPs) == 2 && specIPs[0] == live[0] {
			return specIPs, nil // a Service may gain a second IP family in place
		}
		want, running := strings.Join(specIPs, ","), strings.Join(live, ",")
		return nil, component.Stalledf(ReasonClusterIPImmutable,
			"the %s Service already has cluster IP %s and spec.coredns.clusterIP(s) %s cannot be applied in place: "+
				"a Service's cluster IP cannot change. Set spec.coredns.clusterIP to %s (or remove it) to keep the running DNS; "+
				"to move DNS to %s, delete the %s Service so wharf recreates it with the new IP, and point the kubelets' "+
				"clusterDNS at it (pods resolve through the old IP until they are recreated)",
			ServiceName, running, want, live[0], want, ServiceName)
	case len(recorded) > 0 && recorded[0] != live[0]:
		// Retried rather than stalled: deleting that Service (which wharf
		// does not own, so no event reaches it) is one of the ways out.
		return nil, &reasonError{reason: ReasonClusterIPChanged, err: fmt.Errorf(
			"the %s Service has cluster IP %s, but wharf recorded %s, which the kubelets hand to every pod as its DNS server: "+
				"delete the %s Service and wharf re-creates it on %s, or set spec.coredns.clusterIP to %s to keep the new IP",
			ServiceName, live[0], recorded[0], ServiceName, recorded[0], live[0])}
	default:
		return live, nil
	}
}
