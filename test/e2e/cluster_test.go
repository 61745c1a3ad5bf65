package e2e

import (
	"context"
	"path/filepath"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/wharf-dev/wharf/internal/testenv"
	"github.com/wharf-dev/wharf/test/cluster"
)

// startCluster starts the local cluster with the guide's two nodes,
// master01 (10.0.0.51) and master02 (10.0.0.52), installs wharf's CRD and
// sends the operator's logs to t. The cluster stops when t ends.
func startCluster(ctx context.Context, t *testing.T) *cluster.Cluster {
	t.Helper()
	return startClusterWith(ctx, t,
		cluster.Node{Name: "master01", InternalIP: "10.0.0.51"},
		cluster.Node{Name: "master02", InternalIP: "10.0.0.52"})
}

// startClusterWith is startCluster with the given kwok nodes (none: the
// test brings its own, see corednsKubelet).
func startClusterWith(ctx context.Context, t *testing.T, nodes ...cluster.Node) *cluster.Cluster {
	t.Helper()
	c := cluster.StartForTest(ctx, t, cluster.Options{Nodes: nodes}, "coredns")
	_, err := envtest.InstallCRDs(c.Config(), envtest.CRDInstallOptions{
		Paths:              []string{filepath.Join(testenv.RepoRoot(), "config", "crd", "bases")},
		ErrorIfPathMissing: true,
	})
	if err != nil {
		t.Fatalf("install the CRD: %v", err)
	}
	testenv.LogTo(t)
	return c
}
