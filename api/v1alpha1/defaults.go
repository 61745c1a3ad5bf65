package v1alpha1

// Defaults live in the CRD: each +kubebuilder:default marker in
// clusternetworking_types.go is the one source of that default, filled by
// the API server, and by internal/defaults from the same CRD for the paths
// that see a resource no API server defaulted (`manager render -f`,
// kubectl-wharf). Code reads the fields as they are.
//
// The values below are not in the CRD on purpose: they follow the wharf
// release rather than being stored in the resource, so that upgrading wharf
// upgrades them (images), or they depend on the cluster (the DNS IP).
const (
	DefaultCoreDNSImage   = "docker.io/coredns/coredns:1.12.4"
	DefaultServiceLBImage = "docker.io/rancher/klipper-lb:v0.4.13"
	// DefaultDNSClusterIP is kube-dns's IP when no kube-dns Service exists
	// and neither the spec nor status names one (K3s's default).
	DefaultDNSClusterIP = "10.43.0.10"
)

// IsEnabled reports whether CoreDNS is enabled. Unset counts as the CRD's
// default (true), which internal/preview's TestGoReadsOfUnsetFieldsMatchTheCRD checks.
func (s *CoreDNSSpec) IsEnabled() bool { return s.Enabled == nil || *s.Enabled }

// NodeHostsEnabled reports whether the NodeHosts key is kept. Unset
// counts as the CRD's default (true).
func (s *CoreDNSSpec) NodeHostsEnabled() bool { return s.NodeHosts == nil || *s.NodeHosts }

// IsEnabled reports whether Traefik is enabled. Unset counts as the CRD's
// default (true).
func (s *TraefikSpec) IsEnabled() bool { return s.Enabled == nil || *s.Enabled }

// IsEnabled reports whether ServiceLB is enabled. Unset counts as the
// CRD's default (true).
func (s *ServiceLBSpec) IsEnabled() bool { return s.Enabled == nil || *s.Enabled }

// ImageOrDefault returns the CoreDNS image: the spec's, else the release's.
func (s *CoreDNSSpec) ImageOrDefault() string { return orDefault(s.Image, DefaultCoreDNSImage) }

// ImageOrDefault returns the klipper-lb image: the spec's, else the release's.
func (s *ServiceLBSpec) ImageOrDefault() string { return orDefault(s.Image, DefaultServiceLBImage) }

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
