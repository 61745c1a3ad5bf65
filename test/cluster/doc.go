// Package cluster runs a real, local Kubernetes control plane for tests and
// demos, without containers: etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler run as plain processes, and kwok acts as the kubelet of fake
// nodes, so that workloads get scheduled (with host port conflicts enforced by
// the real scheduler), turn Running and Ready, and report the host IP of their
// node.
//
// The binaries come from the test/tools module and are built by
// hack/tools.sh into bin/tools (or found through KUBEBUILDER_ASSETS).
//
// The cluster mimics K3s networking defaults: services get addresses from
// 10.43.0.0/16 (the kubernetes Service is 10.43.0.1, 10.43.0.10 is free for
// kube-dns) and pods from 10.42.0.0/16, one /24 per node.
package cluster
