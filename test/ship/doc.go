// Package ship holds the tests of how wharf is shipped: the one-file
// install (dist/install.yaml) applied to a real local cluster with its
// RBAC exercised by the manager, the container image's Dockerfile, status
// as GitOps tools read it (kstatus, the Argo CD health check, server-side
// apply by users) and the OLM bundle.
//
// The tests need the control-plane binaries and kubectl that `make envtest`
// builds into bin/tools; without them they fail and say so.
package ship
