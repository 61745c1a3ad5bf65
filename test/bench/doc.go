// Package bench measures wharf's ServiceLB at scale on the local control
// plane of package cluster (kube-apiserver, etcd, kube-controller-manager,
// kube-scheduler and kwok nodes): how long N LoadBalancer Services take to
// get their ingress, how many API requests that costs, and what the manager
// process costs in memory and CPU. The same scenario is run by a floor
// client that makes only the unavoidable writes, so the operator's
// convergence time is reported as a ratio to it.
//
// Requests are counted exactly by a reverse proxy between the measured
// client and the API server (see Proxy). The manager is the real binary,
// run as a child process, so its memory and CPU come from /proc.
//
// The program is test/bench/cmd/wharfbench; `make bench` runs it.
package bench
