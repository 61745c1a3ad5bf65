package servicelb

// Labels, annotations and names K3s uses for ServiceLB; wharf keeps them so
// that users migrating from K3s see the same objects.
const (
	// SvcNameLabel carries the name of the Service a svclb DaemonSet or pod serves.
	SvcNameLabel = "svccontroller.k3s.cattle.io/svcname"
	// SvcNamespaceLabel carries the namespace of that Service.
	SvcNamespaceLabel = "svccontroller.k3s.cattle.io/svcnamespace"
	// NodeSelectorAnnotation is "true" on a DaemonSet restricted to
	// enablelb nodes, "false" otherwise. K3s sets it as a label; wharf sets
	// it as an annotation, because K3s started with its own ServiceLB
	// disabled deletes, at every start, each DaemonSet of the LB namespace
	// that carries the label (a DeleteCollection with the label selector
	// "svccontroller.k3s.cattle.io/nodeselector", deleteAllDaemonsets in
	// k3s-io/k3s pkg/cloudprovider/servicelb.go).
	NodeSelectorAnnotation = "svccontroller.k3s.cattle.io/nodeselector"
	// EnableLBLabel on a node opts it in: once any node carries it, only
	// nodes with the value "true" serve.
	EnableLBLabel = "svccontroller.k3s.cattle.io/enablelb"
	// LBPoolLabel on a Service narrows its DaemonSet to the nodes with the
	// same label value.
	LBPoolLabel = "svccontroller.k3s.cattle.io/lbpool"
	// PriorityClassAnnotation on a Service overrides the svclb pods'
	// priority class; wharf honours it only for the classes listed in
	// spec.serviceLB.allowedPriorityClasses.
	PriorityClassAnnotation = "svccontroller.k3s.cattle.io/priorityclassname"
	// TolerationsAnnotation on a Service holds a JSON list of Tolerations
	// added to its svclb pods after the built-in and the spec's ones.
	TolerationsAnnotation = "svccontroller.k3s.cattle.io/tolerations"
	// LegacyFinalizer is the finalizer older K3s releases put on the
	// Services they served; K3s removes it from every Service at start
	// (removeServiceFinalizers in k3s-io/k3s pkg/cloudprovider/servicelb.go),
	// and so does wharf, which replaces K3s's ServiceLB.
	LegacyFinalizer = "svccontroller.k3s.cattle.io/daemonset"
	// AppLabel selects the pods of one svclb DaemonSet.
	AppLabel = "app"

	// Finalizer keeps a served Service until its DaemonSet is deleted.
	Finalizer = "service.kubernetes.io/load-balancer-cleanup"

	// ServiceAccountName is the ServiceAccount svclb pods run as.
	ServiceAccountName = "svclb"

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
