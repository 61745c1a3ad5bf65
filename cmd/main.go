// Command manager runs the wharf operator. `manager render -f FILE` prints
// the objects it would apply for a ClusterNetworking, without a cluster and
// without validating it (kubectl-wharf validates).
package main

import (
	"fmt"
	"io"
	"os"
)

// version is set at build time.
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run runs the manager's command line and returns its exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var err error
	switch {
	case len(args) > 0 && args[0] == "render":
		err = runRender(args[1:], stdin, stdout, stderr)
	case len(args) > 0 && args[0] == "version":
		fmt.Fprintln(stdout, version)
	default:
		err = runManager(args, stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	return 0
}
