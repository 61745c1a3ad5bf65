// Command crdref writes docs/reference.md from wharf's CRD.
package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/wharf-dev/wharf/config/crd"
	"github.com/wharf-dev/wharf/internal/crdref"
)

func main() {
	var buf bytes.Buffer
	if err := crdref.Write(&buf, crd.ClusterNetworking); err != nil {
		fmt.Fprintln(os.Stderr, "crdref:", err)
		os.Exit(1)
	}
	if err := os.WriteFile("docs/reference.md", buf.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "crdref:", err)
		os.Exit(1)
	}
}
