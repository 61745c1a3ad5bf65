package crd_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/wharf-dev/wharf/config/crd"
)

// TestEmbeddedIsTheFile guards against a stale copy: what the binaries
// embed (kubectl-wharf validates with it, the manager defaults with it) is
// byte for byte the CRD `make manifests` writes and the API server gets.
func TestEmbeddedIsTheFile(t *testing.T) {
	file, err := os.ReadFile("bases/networking.wharf.dev_clusternetworkings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(crd.ClusterNetworking) == 0 {
		t.Fatal("nothing is embedded")
	}
	if !bytes.Equal(crd.ClusterNetworking, file) {
		t.Errorf("the embedded CRD (%d bytes) differs from bases/networking.wharf.dev_clusternetworkings.yaml (%d bytes): rebuild", len(crd.ClusterNetworking), len(file))
	}
}
