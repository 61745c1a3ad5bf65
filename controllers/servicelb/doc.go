// Package servicelb gives Services of type LoadBalancer node IPs without a
// cloud provider, the way K3s's ServiceLB (Klipper LB) does: for each such
// Service a svclb-* DaemonSet binds the Service ports as host ports on the
// eligible nodes and forwards to the Service, and the IPs of the nodes whose
// svclb pod is ready become the Service's load-balancer ingress.
//
// The package holds four parts:
//   - the DaemonSet builder, a pure function of the Service, the ServiceLB
//     spec and a few cluster facts (BuildDaemonSet);
//   - the Service reconciler, which applies the DaemonSets, keeps the
//     load-balancer-cleanup finalizer, writes the ingress and, on each
//     Service, the condition that says whether and why not it is served
//     (Reconciler, ConditionType);
//   - the svclb pod index (PodIndex), a small record of each svclb pod:
//     with every node serving, the cluster runs one per Service and node;
//   - the ClusterNetworking component, which renders the svclb namespace
//     and ServiceAccount and sums the Services' conditions up (Component,
//     Summarize).
package servicelb
