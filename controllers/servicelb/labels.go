package servicelb

// Labels, annotations and names K3s uses for ServiceLB; wharf keeps them so
// that users migrating from K3s see the same objects.
const (
	// SvcNameLabel carries the name of the Service a svclb DaemonSet or pod serves.
	SvcNameLabel = "svccontroller.k3s.cattle.io/svcname"
	// SvcNamespaceLabel carries the namespace of that Service.
	SvcNamespaceLabel = "svccontroller.k3s.cattle.io/svcnamespace"
	// NodeSelectorLabel is "true" on a DaemonSet restricted to enablelb nodes.
	NodeSelectorLabel = "svccontroller.k3s.cattle.io/nodeselector"
	// EnableLBLabel on a node opts it in: once any node carries it, only
	// nodes with the value "true" serve.
	EnableLBLabel = "svccontroller.k3s.cattle.io/enablelb"
	// LBPoolLabel on a Service narrows its DaemonSet to the nodes with the
	// same label value.
	LBPoolLabel = "svccontroller.k3s.cattle.io/lbpool"
	// PriorityClassAnnotation on a Service overrides the svclb pods'
	// priority class.
	PriorityClassAnnotation = "svccontroller.k3s.cattle.io/priorityclassname"
	// AppLabel selects the pods of one svclb DaemonSet.
	AppLabel = "app"

	// Finalizer keeps a served Service until its DaemonSet is deleted.
	Finalizer = "service.kubernetes.io/load-balancer-cleanup"

	// ServiceAccountName is the ServiceAccount svclb pods run as.
	ServiceAccountName = "svclb"
	// DefaultPriorityClassName is used when the spec names none.
	DefaultPriorityClassName = "system-node-critical"

	// ComponentName is the component's name in the inventory and labels.
	ComponentName = "servicelb"
)

// Event reasons, as K3s records them on the Service.
const (
	ReasonAppliedDaemonSet        = "AppliedDaemonSet"
	ReasonDeletedDaemonSet        = "DeletedDaemonSet"
	ReasonUpdatedLoadBalancer     = "UpdatedLoadBalancer"
	ReasonUnAvailableLoadBalancer = "UnAvailableLoadBalancer"
)
