// Package crd embeds wharf's CustomResourceDefinition, so that tests and
// `manager render` use exactly the schema the API server enforces.
package crd

import _ "embed"

// ClusterNetworking is the CRD of networking.wharf.dev ClusterNetworking.
//
//go:embed bases/networking.wharf.dev_clusternetworkings.yaml
var ClusterNetworking []byte
