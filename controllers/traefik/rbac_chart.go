package traefik

// Permissions for the objects the chart renders from upstream-style values
// beyond the defaults: a DaemonSet (deployment.kind), a PersistentVolumeClaim
// (persistence), a HorizontalPodAutoscaler (autoscaling), a ServiceMonitor
// (metrics.prometheus.serviceMonitor), TLSOption and TLSStore objects
// (tlsOptions, tlsStore), and what the Traefik ClusterRole grants for the
// Gateway API provider (the API server refuses to let the operator grant
// more than it holds).
//
// +kubebuilder:rbac:groups=apps,resources=daemonsets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=monitoring.coreos.com,resources=servicemonitors,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=traefik.io,resources=tlsoptions;tlsstores,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=list;watch
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=backendtlspolicies;gatewayclasses;gateways;grpcroutes;httproutes;referencegrants;tcproutes;tlsroutes,verbs=get;list;watch
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=backendtlspolicies/status;gatewayclasses/status;gateways/status;grpcroutes/status;httproutes/status;tcproutes/status;tlsroutes/status,verbs=update
