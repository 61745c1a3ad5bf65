// Package crd embeds wharf's CustomResourceDefinition, so that tests,
// `kubectl-wharf` (validation and defaulting) and `manager render`
// (defaulting) use exactly the schema the API server enforces. It embeds
// the file itself, not a copy; crd_test.go checks that.
package crd

import _ "embed"

// ClusterNetworking is the CRD of networking.wharf.dev ClusterNetworking.
//
//go:embed bases/networking.wharf.dev_clusternetworkings.yaml
var ClusterNetworking []byte
