package v1alpha1

// Condition types written to ClusterNetworking status. Ready, Reconciling
// and Stalled follow kstatus; the others report one component each.
const (
	ConditionReady          = "Ready"
	ConditionReconciling    = "Reconciling"
	ConditionStalled        = "Stalled"
	ConditionCoreDNSReady   = "CoreDNSReady"
	ConditionTraefikReady   = "TraefikReady"
	ConditionServiceLBReady = "ServiceLBReady"
)

// Condition reasons shared by the components.
const (
	ReasonReady       = "Ready"
	ReasonDisabled    = "Disabled"
	ReasonProgressing = "Progressing"
	ReasonFailed      = "Failed"
)

// Defaults that follow the wharf release rather than being stored in the
// resource, so that upgrading wharf upgrades them.
const (
	DefaultCoreDNSImage   = "docker.io/coredns/coredns:1.12.4"
	DefaultServiceLBImage = "docker.io/rancher/klipper-lb:v0.4.13"
	DefaultNamespace      = "kube-system"
	DefaultClusterDomain  = "cluster.local"
	DefaultDNSClusterIP   = "10.43.0.10"
)

// IsEnabled reports whether CoreDNS is enabled (the default).
func (s *CoreDNSSpec) IsEnabled() bool { return s.Enabled == nil || *s.Enabled }

// NodeHostsEnabled reports whether the NodeHosts key is kept (the default).
func (s *CoreDNSSpec) NodeHostsEnabled() bool { return s.NodeHosts == nil || *s.NodeHosts }

// IsEnabled reports whether Traefik is enabled (the default).
func (s *TraefikSpec) IsEnabled() bool { return s.Enabled == nil || *s.Enabled }

// IsEnabled reports whether ServiceLB is enabled (the default).
func (s *ServiceLBSpec) IsEnabled() bool { return s.Enabled == nil || *s.Enabled }

// NamespaceOrDefault returns the CoreDNS namespace.
func (s *CoreDNSSpec) NamespaceOrDefault() string { return orDefault(s.Namespace, DefaultNamespace) }

// NamespaceOrDefault returns the Traefik namespace.
func (s *TraefikSpec) NamespaceOrDefault() string { return orDefault(s.Namespace, DefaultNamespace) }

// NamespaceOrDefault returns the namespace of the svclb DaemonSets.
func (s *ServiceLBSpec) NamespaceOrDefault() string { return orDefault(s.Namespace, DefaultNamespace) }

// ImageOrDefault returns the CoreDNS image.
func (s *CoreDNSSpec) ImageOrDefault() string { return orDefault(s.Image, DefaultCoreDNSImage) }

// ImageOrDefault returns the klipper-lb image.
func (s *ServiceLBSpec) ImageOrDefault() string { return orDefault(s.Image, DefaultServiceLBImage) }

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
