package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SingletonName is the only name a ClusterNetworking may have.
const SingletonName = "cluster"

// ClusterNetworking declares the networking add-ons of a cluster: CoreDNS,
// the Traefik ingress controller and the ServiceLB node-port load balancer.
// There is one per cluster and it is named "cluster".
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=cn
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="CoreDNS",type=string,JSONPath=`.status.conditions[?(@.type=="CoreDNSReady")].reason`
// +kubebuilder:printcolumn:name="Traefik",type=string,JSONPath=`.status.conditions[?(@.type=="TraefikReady")].reason`
// +kubebuilder:printcolumn:name="ServiceLB",type=string,JSONPath=`.status.conditions[?(@.type=="ServiceLBReady")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name == 'cluster'",fieldPath=".metadata",message="there is one ClusterNetworking per cluster and it must be named 'cluster'"
type ClusterNetworking struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec declares what the cluster's networking add-ons should be.
	// +kubebuilder:default={}
	Spec ClusterNetworkingSpec `json:"spec,omitempty"`

	// status reports what wharf observed and did.
	Status ClusterNetworkingStatus `json:"status,omitempty"`
}

// ClusterNetworkingSpec declares the three add-ons. Each is enabled unless
// turned off.
type ClusterNetworkingSpec struct {
	// deletionPolicy says what deleting this resource (or the CRD, or
	// uninstalling wharf) does to what wharf deployed. Orphan (the
	// default) leaves CoreDNS, kube-dns, Traefik and the svclb DaemonSets
	// running, unowned, and removes wharf's finalizers from Services so
	// deleting them never hangs. Delete removes everything wharf created;
	// objects wharf adopted are released, never deleted.
	// +kubebuilder:default=Orphan
	// +kubebuilder:validation:Enum=Orphan;Delete
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// systemDefaultRegistry prefixes every image wharf deploys (CoreDNS,
	// Traefik, klipper-lb) with a registry host, as K3s's
	// --system-default-registry does, for air-gapped clusters: with
	// "registry.example.com:5000", docker.io/coredns/coredns:1.12.4
	// becomes registry.example.com:5000/coredns/coredns:1.12.4. Images
	// set explicitly in this resource are used as they are.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-zA-Z0-9]([-a-zA-Z0-9.]*[a-zA-Z0-9])?(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*$')",message="systemDefaultRegistry must be a registry host such as registry.example.com:5000, optionally with a path, without a scheme"
	// +optional
	SystemDefaultRegistry string `json:"systemDefaultRegistry,omitempty"`

	// imagePullSecrets are added to every pod wharf deploys. Each Secret
	// must exist in the namespace of the component that uses it.
	// +kubebuilder:validation:MaxItems=16
	// +listType=map
	// +listMapKey=name
	// +optional
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`

	// coredns configures the cluster DNS server.
	// +kubebuilder:default={}
	CoreDNS CoreDNSSpec `json:"coredns,omitempty"`

	// traefik configures the Traefik ingress controller and its dashboard.
	// +kubebuilder:default={}
	Traefik TraefikSpec `json:"traefik,omitempty"`

	// serviceLB configures the node-port load balancer that serves
	// Services of type LoadBalancer from svclb-* DaemonSets.
	// +kubebuilder:default={}
	ServiceLB ServiceLBSpec `json:"serviceLB,omitempty"`
}

// CoreDNSSpec configures CoreDNS. The Corefile is built from these fields;
// snippets carry what is not typed.
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.namespace) || !has(self.namespace) || self.namespace in [oldSelf.namespace] || (has(oldSelf.enabled) && !oldSelf.enabled)",message="the CoreDNS namespace cannot change while CoreDNS is enabled: wharf will not strand the running CoreDNS. To move it, set coredns.enabled: false, apply, then set the new namespace and enabled: true"
// +kubebuilder:validation:XValidation:rule="!has(self.clusterIP) || !has(self.clusterIPs) || size(self.clusterIPs) == 0 || self.clusterIPs[0] == self.clusterIP",message="clusterIP must be the first of clusterIPs"
type CoreDNSSpec struct {
	// enabled deploys CoreDNS. Setting it to false removes what wharf
	// deployed for CoreDNS and nothing else.
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// namespace CoreDNS runs in.
	// +kubebuilder:default=kube-system
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$')",message="namespace must be a lowercase RFC 1123 label such as kube-system"
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// image of CoreDNS. Empty means the image this wharf release was
	// tested with, so upgrading wharf upgrades CoreDNS.
	// +kubebuilder:validation:MaxLength=512
	// +optional
	Image string `json:"image,omitempty"`

	// replicas of the CoreDNS Deployment. Unset, wharf does not manage
	// the replica count, as K3s's manifest does not: a new Deployment
	// starts with one, and `kubectl scale` or an autoscaler sticks. Set,
	// it wins.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// clusterIP of the kube-dns Service. Empty keeps the IP of an existing
	// kube-dns Service, else uses 10.43.0.10. A Service's cluster IP cannot
	// change in place: a different IP than the running one is refused in
	// the CoreDNSReady condition.
	// +kubebuilder:validation:MaxLength=45
	// +kubebuilder:validation:XValidation:rule="isIP(self)",message="clusterIP must be an IPv4 or IPv6 address such as 10.43.0.10"
	// +optional
	ClusterIP string `json:"clusterIP,omitempty"`

	// clusterIPs are every cluster DNS address of kube-dns for dual-stack
	// clusters, one per IP family (clusterIP, when set, must be the
	// first). Empty keeps the running kube-dns addresses. Like clusterIP,
	// it never moves a running kube-dns.
	// +kubebuilder:validation:MaxItems=2
	// +kubebuilder:validation:items:MaxLength=45
	// +kubebuilder:validation:XValidation:rule="self.all(ip, isIP(ip))",message="clusterIPs must be IPv4 or IPv6 addresses such as 10.43.0.10 and 2001:cafe:43::a"
	// +kubebuilder:validation:XValidation:rule="size(self) < 2 || ip(self[0]).family() != ip(self[1]).family()",message="clusterIPs holds at most one address per IP family"
	// +listType=atomic
	// +optional
	ClusterIPs []string `json:"clusterIPs,omitempty"`

	// clusterDomain is the DNS domain of the cluster.
	// +kubebuilder:default=cluster.local
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$')",message="clusterDomain must be a lowercase DNS name such as cluster.local"
	// +optional
	ClusterDomain string `json:"clusterDomain,omitempty"`

	// extraHosts are static host entries served by the hosts plugin, like
	// lines of /etc/hosts ("10.0.0.51 k3s.test.org").
	// +listType=map
	// +listMapKey=ip
	// +kubebuilder:validation:MaxItems=256
	// +optional
	ExtraHosts []HostEntry `json:"extraHosts,omitempty"`

	// nodeHosts keeps the NodeHosts key of the coredns ConfigMap filled
	// with "<InternalIP> <node name>" for every Node, so node names resolve.
	// +kubebuilder:default=true
	// +optional
	NodeHosts *bool `json:"nodeHosts,omitempty"`

	// upstreams are the forward targets for names outside the cluster:
	// a resolv.conf path, or addresses such as 1.1.1.1, 8.8.8.8:53 or
	// tls://9.9.9.9.
	// +kubebuilder:default={"/etc/resolv.conf"}
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=15
	// +optional
	Upstreams []Upstream `json:"upstreams,omitempty"`

	// cache sets how long answers are cached.
	// +kubebuilder:default={}
	// +optional
	Cache CacheSpec `json:"cache,omitempty"`

	// snippets are raw Corefile text inserted at named points, for what
	// the typed fields do not cover. A Corefile that does not parse is
	// refused in the CoreDNSReady condition and the running one is kept.
	// +optional
	Snippets CorefileSnippets `json:"snippets,omitempty"`

	// nodePlacement constrains the nodes CoreDNS pods run on.
	// +optional
	NodePlacement NodePlacement `json:"nodePlacement,omitempty"`

	// resources of the CoreDNS container. Empty means 100m CPU and 70Mi
	// memory requested and a 170Mi memory limit.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`
}

// HostEntry is one static hosts line: an IP and the names that resolve to it.
type HostEntry struct {
	// ip the hostnames resolve to.
	// +kubebuilder:validation:MaxLength=45
	// +kubebuilder:validation:XValidation:rule="isIP(self)",message="ip must be an IPv4 or IPv6 address such as 10.0.0.51"
	IP string `json:"ip"`

	// hostnames that resolve to ip.
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	Hostnames []Hostname `json:"hostnames"`
}

// Upstream is a forward target of the CoreDNS forward plugin: an IP
// address with an optional port (1.1.1.1, 8.8.8.8:53, [2606:4700::1111]:53),
// the same with a dns:// or tls:// scheme (tls://9.9.9.9), or the path of
// a resolv.conf file (/etc/resolv.conf, /run/systemd/resolve/resolv.conf).
// Anything else makes CoreDNS exit at start, so the API server refuses it.
//
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=253
// +kubebuilder:validation:XValidation:rule="self.matches('^/([-a-zA-Z0-9_.]+/)*[-a-zA-Z0-9_.]*resolv[.]conf$') && !self.contains('/../') || self.matches('^((tls|dns)://)?[^/]+$') && (isIP((self.contains('://') ? self.substring(6) : self)) || (self.contains('://') ? self.substring(6) : self).matches('^[0-9.]+:[0-9]{1,5}$') && isIP((self.contains('://') ? self.substring(6) : self).split(':')[0]) || (self.contains('://') ? self.substring(6) : self).matches('^[[][0-9a-fA-F:.]+[]]:[0-9]{1,5}$') && isIP((self.contains('://') ? self.substring(6) : self).split(']')[0].substring(1)))",message="upstream must be an IP address with an optional port (1.1.1.1, 8.8.8.8:53, [2606:4700::1111]:53), optionally after dns:// or tls://, or the path of a resolv.conf file such as /etc/resolv.conf"
type Upstream string

// Hostname is an RFC 1123 DNS name.
//
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=253
// +kubebuilder:validation:XValidation:rule="self.matches('(?i)^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?([.][a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$')",message="hostname must be an RFC 1123 DNS name such as k3s.test.org: labels of at most 63 letters, digits and '-', separated by '.', each starting and ending with a letter or digit"
type Hostname string

// CacheSpec configures the cache plugin.
type CacheSpec struct {
	// successTTL caps, in seconds, how long positive answers are cached.
	// +kubebuilder:default=30
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=86400
	// +optional
	SuccessTTL int32 `json:"successTTL,omitempty"`

	// denialTTL caps, in seconds, how long negative answers are cached.
	// +kubebuilder:default=30
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=86400
	// +optional
	DenialTTL int32 `json:"denialTTL,omitempty"`
}

// CorefileSnippets are raw Corefile fragments placed at fixed points of the
// rendered Corefile.
type CorefileSnippets struct {
	// beforeKubernetes goes inside the .:53 server block before the
	// kubernetes plugin, e.g. rewrite rules.
	// +kubebuilder:validation:MaxLength=32768
	// +optional
	BeforeKubernetes string `json:"beforeKubernetes,omitempty"`

	// serverBlock goes inside the .:53 server block after the typed plugins.
	// +kubebuilder:validation:MaxLength=32768
	// +optional
	ServerBlock string `json:"serverBlock,omitempty"`

	// extraServers are whole server blocks appended after .:53, e.g. a
	// stub domain forwarded elsewhere.
	// +kubebuilder:validation:MaxLength=65536
	// +optional
	ExtraServers string `json:"extraServers,omitempty"`
}

// NodePlacement constrains where pods run.
type NodePlacement struct {
	// nodeSelector pods must match.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// tolerations added to the built-in ones.
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
}

// TraefikSpec configures the Traefik ingress controller, deployed from a
// Helm chart embedded in wharf or fetched from a repository.
//
// +kubebuilder:validation:XValidation:rule="!has(self.chart) || (has(self.chart.repository) && has(self.chart.name) && has(self.chart.version))",message="chart needs repository, name and version"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.namespace) || !has(self.namespace) || self.namespace in [oldSelf.namespace] || (has(oldSelf.enabled) && !oldSelf.enabled)",message="the Traefik namespace cannot change while Traefik is enabled: wharf will not strand the running Traefik. To move it, set traefik.enabled: false, apply, then set the new namespace and enabled: true"
type TraefikSpec struct {
	// enabled deploys Traefik. Setting it to false removes what wharf
	// deployed for Traefik; the traefik.io CRDs stay while any
	// IngressRoute uses them.
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// namespace Traefik runs in.
	// +kubebuilder:default=kube-system
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$')",message="namespace must be a lowercase RFC 1123 label such as kube-system"
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// values are Helm values for the traefik chart, merged over the chart's
	// defaults and over valuesFrom.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	// +optional
	Values *apiextensionsv1.JSON `json:"values,omitempty"`

	// valuesFrom are ConfigMap or Secret keys holding Helm values documents,
	// merged in order before values. A change to any of them re-renders.
	// +kubebuilder:validation:MaxItems=16
	// +optional
	ValuesFrom []ValuesReference `json:"valuesFrom,omitempty"`

	// chart, when set, renders this chart from a repository instead of the
	// embedded one.
	// +optional
	Chart *ChartSource `json:"chart,omitempty"`

	// dashboard exposes the Traefik dashboard through an IngressRoute
	// protected by basic authentication.
	// +optional
	Dashboard DashboardSpec `json:"dashboard,omitempty"`

	// adoptHelmReleases names Helm releases in the Traefik namespace whose
	// objects wharf takes over in place where it renders the same object
	// (kind, namespace, name): K3s installs its Traefik as the releases
	// traefik and traefik-crd in kube-system. wharf then marks each such
	// object in the releases' records with helm.sh/resource-policy: keep,
	// so that uninstalling a release (k3s --disable traefik, helm
	// uninstall) leaves it running; the rest of each record stays as it
	// is. Empty: wharf takes over nothing of Traefik's and reports a
	// Conflict for an object it did not create.
	// +kubebuilder:validation:MaxItems=4
	// +kubebuilder:validation:items:MaxLength=53
	// +kubebuilder:validation:XValidation:rule="self.all(r, r.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'))",message="adoptHelmReleases must be Helm release names such as traefik and traefik-crd: lowercase letters, digits and '-'"
	// +listType=set
	// +optional
	AdoptHelmReleases []string `json:"adoptHelmReleases,omitempty"`
}

// ValuesReference names a key of a ConfigMap or Secret in the Traefik
// namespace that holds a YAML values document, or K3s's HelmChartConfig
// (helm.cattle.io/v1) whose spec.valuesContent holds one (key is then
// ignored), so a K3s user's existing HelmChartConfig carries over.
type ValuesReference struct {
	// kind of the object: ConfigMap, Secret or HelmChartConfig.
	// +kubebuilder:validation:Enum=ConfigMap;Secret;HelmChartConfig
	Kind string `json:"kind"`

	// name of the object.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// key holding the values document.
	// +kubebuilder:default=values.yaml
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Key string `json:"key,omitempty"`

	// optional lets rendering go on when the object or key is missing.
	// +optional
	Optional bool `json:"optional,omitempty"`
}

// ChartSource is a Helm chart in a repository.
//
// +kubebuilder:validation:XValidation:rule="!has(self.repository) || !self.repository.startsWith('http://') || (has(self.insecure) && self.insecure)",message="an http:// repository is not encrypted: use https://, or set insecure: true to accept that"
type ChartSource struct {
	// repository URL: https://... for a classic chart repository or
	// oci://... for an OCI registry.
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="self.startsWith('https://') || self.startsWith('http://') || self.startsWith('oci://')",message="repository must be an https://, http:// or oci:// URL"
	Repository string `json:"repository,omitempty"`

	// digest pins the chart archive: "sha256:" and 64 hex digits. A
	// fetched chart with another digest is refused, whatever the
	// repository's index says.
	// +kubebuilder:validation:MaxLength=71
	// +kubebuilder:validation:XValidation:rule="self.matches('^sha256:[a-f0-9]{64}$')",message="digest must be sha256: followed by 64 lowercase hex digits"
	// +optional
	Digest string `json:"digest,omitempty"`

	// insecure allows a plain http:// repository. Without it only https://
	// and oci:// repositories are used.
	// +optional
	Insecure bool `json:"insecure,omitempty"`

	// name of the chart.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`

	// version of the chart, an exact semantic version.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:XValidation:rule="self.matches('^v?[0-9]+\\\\.[0-9]+\\\\.[0-9]+([-+][0-9A-Za-z.-]+)*$')",message="version must be an exact semantic version such as 37.1.0"
	Version string `json:"version,omitempty"`
}

// DashboardSpec exposes the Traefik dashboard at http://<host>/dashboard/.
//
// A dashboard is never served without authentication: basicAuth is
// required when it is enabled. Server-side apply turns basicAuth: {} into
// null when a field manager removes secretName (its merge leaves no empty
// objects), so on an update basicAuth may also be null or go away after
// it was set: wharf then generates a password, as for {}.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.enabled) && self.enabled) || has(self.basicAuth) || (oldSelf.hasValue() && has(oldSelf.value().basicAuth))",optionalOldSelf=true,message="the dashboard must be protected: set basicAuth.secretName to a Secret of htpasswd lines, or basicAuth: {} to let wharf generate a password"
// +kubebuilder:validation:XValidation:rule="!(has(self.enabled) && self.enabled) || (has(self.host) && size(self.host) > 0)",message="the dashboard needs a host, such as traefik.example.com"
type DashboardSpec struct {
	// enabled exposes the dashboard.
	// +optional
	Enabled bool `json:"enabled,omitempty"`

	// host the dashboard is served on.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$')",message="host must be a lowercase DNS name such as traefik.example.com"
	// +optional
	Host string `json:"host,omitempty"`

	// entryPoints the route listens on.
	// +kubebuilder:default={"web"}
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.all(e, e.matches('^[a-zA-Z0-9]([-_a-zA-Z0-9]*[a-zA-Z0-9])?$'))",message="each entry point must be the name of a Traefik entry point such as web or websecure"
	// +listType=set
	// +optional
	EntryPoints []string `json:"entryPoints,omitempty"`

	// basicAuth protects the dashboard. It is required when the dashboard is
	// enabled; passwords never go in this resource. {} (or null, which is
	// what server-side apply leaves when secretName is removed) lets wharf
	// generate a password.
	// +nullable
	// +optional
	BasicAuth *BasicAuth `json:"basicAuth,omitempty"`
}

// BasicAuth names the Secret that holds the dashboard's users.
type BasicAuth struct {
	// secretName of a Secret in the Traefik namespace with htpasswd lines
	// under one key (for example "users"), or of type
	// kubernetes.io/basic-auth. Empty: wharf generates a Secret with a
	// random password once and names it in status.traefik.dashboardSecret.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	SecretName string `json:"secretName,omitempty"`
}

// ServiceLBSpec configures the node-port load balancer that gives Services
// of type LoadBalancer node IPs, as K3s's ServiceLB (Klipper LB) does.
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.namespace) || !has(self.namespace) || self.namespace in [oldSelf.namespace] || (has(oldSelf.enabled) && !oldSelf.enabled)",message="the ServiceLB namespace cannot change while ServiceLB is enabled: wharf will not strand the running ServiceLB. To move it, set serviceLB.enabled: false, apply, then set the new namespace and enabled: true"
type ServiceLBSpec struct {
	// enabled serves LoadBalancer Services. Setting it to false removes
	// every svclb DaemonSet and the ingress wharf wrote.
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// namespace the svclb DaemonSets live in.
	// +kubebuilder:default=kube-system
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$')",message="namespace must be a lowercase RFC 1123 label such as kube-system"
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// image of the klipper-lb forwarder. Empty means the image this wharf
	// release was tested with.
	// +kubebuilder:validation:MaxLength=512
	// +optional
	Image string `json:"image,omitempty"`

	// nodeSelector chooses the nodes that serve. Unset keeps the K3s rule:
	// if any node has the label svccontroller.k3s.cattle.io/enablelb, only
	// nodes with enablelb=true serve; otherwise every node does. It is a
	// LabelSelector, not a map: {matchLabels: {node-role/lb: "true"}}.
	// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, e.operator in ['In', 'NotIn', 'Exists', 'DoesNotExist'])",message="matchExpressions[].operator must be one of In, NotIn, Exists, DoesNotExist"
	// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, e.operator in ['Exists', 'DoesNotExist'] ? (!has(e.values) || size(e.values) == 0) : (has(e.values) && size(e.values) > 0))",message="matchExpressions[].values must be non-empty for In and NotIn and empty for Exists and DoesNotExist"
	// +optional
	NodeSelector *metav1.LabelSelector `json:"nodeSelector,omitempty"`

	// tolerations added to the built-in ones (CriticalAddonsOnly and the
	// control-plane and master NoSchedule taints).
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// priorityClassName of the svclb pods: the name of a PriorityClass (a
	// lowercase DNS subdomain; empty is refused).
	// +kubebuilder:default=system-node-critical
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="priorityClassName must be the name of a PriorityClass, such as system-node-critical"
	// +optional
	PriorityClassName string `json:"priorityClassName,omitempty"`

	// allowedPriorityClasses a Service may choose for its svclb pods with
	// the annotation svccontroller.k3s.cattle.io/priorityclassname (K3s
	// honours any class: list them here to keep that). A class not listed
	// leaves the Service pending with the reason.
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.all(c, c.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'))",message="each allowed priority class must be the name of a PriorityClass"
	// +listType=set
	// +optional
	AllowedPriorityClasses []string `json:"allowedPriorityClasses,omitempty"`

	// reservedPorts are node ports never given to a Service: single ports
	// ("22") or ranges ("2379-2380"). The default keeps the node's SSH,
	// etcd, API server and kubelet ports; [] reserves none, as K3s.
	// +kubebuilder:default={"22","2379-2380","6443","10250"}
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=11
	// +kubebuilder:validation:XValidation:rule="self.all(p, p.matches('^[0-9]{1,5}(-[0-9]{1,5})?$') && p.split('-').all(n, int(n) >= 1 && int(n) <= 65535) && (!p.contains('-') || int(p.split('-')[0]) <= int(p.split('-')[1])))",message="each reserved port must be a port 1-65535 such as 22 or a range such as 2379-2380"
	// +listType=atomic
	// +optional
	ReservedPorts []string `json:"reservedPorts,omitempty"`

	// namespaceSelector chooses the namespaces whose Services are served.
	// Unset: all, as K3s. A Service elsewhere is pending with the reason.
	// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, e.operator in ['In', 'NotIn', 'Exists', 'DoesNotExist'])",message="matchExpressions[].operator must be one of In, NotIn, Exists, DoesNotExist"
	// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, e.operator in ['Exists', 'DoesNotExist'] ? (!has(e.values) || size(e.values) == 0) : (has(e.values) && size(e.values) > 0))",message="matchExpressions[].values must be non-empty for In and NotIn and empty for Exists and DoesNotExist"
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// maxPortsPerService caps the ports of one Service (one container per
	// port on every serving node). A Service with more is pending.
	// +kubebuilder:default=64
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1024
	// +optional
	MaxPortsPerService int32 `json:"maxPortsPerService,omitempty"`

	// loadBalancerClass, when set, makes wharf serve Services with this
	// spec.loadBalancerClass in addition to those with none.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	LoadBalancerClass string `json:"loadBalancerClass,omitempty"`
}

// DeletionPolicy says what deleting the ClusterNetworking does to the
// objects wharf deployed.
type DeletionPolicy string

// Deletion policies.
const (
	// DeletionPolicyOrphan leaves the components running, unowned.
	DeletionPolicyOrphan DeletionPolicy = "Orphan"
	// DeletionPolicyDelete removes what wharf created.
	DeletionPolicyDelete DeletionPolicy = "Delete"
)

// ClusterNetworkingStatus reports what wharf observed and did. Conditions
// follow kstatus: Ready, Reconciling and Stalled, plus one per component.
type ClusterNetworkingStatus struct {
	// observedGeneration is the spec generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready, Reconciling, Stalled, CoreDNSReady, TraefikReady,
	// ServiceLBReady.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// coredns reports the DNS server.
	// +optional
	CoreDNS *CoreDNSStatus `json:"coredns,omitempty"`

	// traefik reports the ingress controller.
	// +optional
	Traefik *TraefikStatus `json:"traefik,omitempty"`

	// serviceLB reports the LoadBalancer Services served.
	// +optional
	ServiceLB *ServiceLBStatus `json:"serviceLB,omitempty"`

	// inventory lists every object wharf applied for the components, so
	// that what leaves the rendered set is pruned.
	// +optional
	Inventory []InventoryEntry `json:"inventory,omitempty"`
}

// CoreDNSStatus reports the DNS server.
type CoreDNSStatus struct {
	// clusterIP of the kube-dns Service that wharf adopted or allocated.
	// It is recorded so that a deleted kube-dns comes back on the same IP:
	// kubelets point every pod at it.
	// +optional
	ClusterIP string `json:"clusterIP,omitempty"`
	// clusterIPs of the kube-dns Service, every IP family.
	// +optional
	ClusterIPs []string `json:"clusterIPs,omitempty"`
	// readyReplicas of the CoreDNS Deployment. Always written, zero
	// included, so that the section is never an empty object.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas"`
	// nodeHosts is the number of lines in the NodeHosts key.
	// +optional
	NodeHosts int32 `json:"nodeHosts,omitempty"`
}

// TraefikStatus reports the ingress controller.
type TraefikStatus struct {
	// chart rendered, as name-version.
	// +optional
	Chart string `json:"chart,omitempty"`
	// readyReplicas of the Traefik Deployment. Always written, zero
	// included, so that the section is never an empty object.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas"`
	// dashboardURL where the dashboard is served.
	// +optional
	DashboardURL string `json:"dashboardURL,omitempty"`
	// dashboardSecret names the Secret that holds the dashboard users.
	// +optional
	DashboardSecret string `json:"dashboardSecret,omitempty"`
}

// ServiceLBStatus reports the LoadBalancer Services served by svclb.
type ServiceLBStatus struct {
	// services is the number of LoadBalancer Services wharf serves. Always
	// written, zero included: a server-side apply of an empty object would
	// clear the section to null, which the schema refuses.
	// +optional
	Services int32 `json:"services"`
	// ready is the number of them with at least one ingress IP.
	// +optional
	Ready int32 `json:"ready"`
	// pending lists Services that could not get a node, with why: the
	// first 50 by namespace and name. Every pending Service also has the
	// full reason in its own Events.
	// +kubebuilder:validation:MaxItems=50
	// +optional
	Pending []PendingService `json:"pending,omitempty"`
	// pendingTotal is the number of pending Services, listed or not.
	// +optional
	PendingTotal int32 `json:"pendingTotal,omitempty"`
}

// PendingService is a LoadBalancer Service without ingress and the reason.
type PendingService struct {
	// namespace of the Service.
	Namespace string `json:"namespace"`
	// name of the Service.
	Name string `json:"name"`
	// reason the Service has no node.
	Reason string `json:"reason"`
}

// InventoryEntry identifies one object wharf applied.
type InventoryEntry struct {
	// component that rendered the object: coredns, traefik or servicelb.
	Component string `json:"component"`
	// group of the object's kind; empty for the core group.
	// +optional
	Group string `json:"group,omitempty"`
	// version of the object's kind.
	Version string `json:"version"`
	// kind of the object.
	Kind string `json:"kind"`
	// namespace of the object; empty for cluster-scoped objects.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// name of the object.
	Name string `json:"name"`
}

// ClusterNetworkingList is a list of ClusterNetworking.
//
// +kubebuilder:object:root=true
type ClusterNetworkingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterNetworking `json:"items"`
}
