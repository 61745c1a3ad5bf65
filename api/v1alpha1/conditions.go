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
