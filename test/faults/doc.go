// Package faults holds the fault tests of wharf: the manager binary killed
// with SIGKILL at random points while Services converge, kube-apiserver
// restarted under a running manager, and two managers with leader election
// whose leader is killed. Each test runs the real manager binary (built by
// the test) against the local control plane of package cluster, so kills
// are real, and each stays within a few minutes on two cores.
//
// Set WHARF_FAULT_SEED to replay the random kill points of a failed run
// (the seed is logged).
package faults
