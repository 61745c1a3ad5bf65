package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/wharf-dev/wharf/internal/defaults"
	"github.com/wharf-dev/wharf/internal/preview"
)

// notValidated is printed to standard error by every `manager render`: the
// manager does not link the API server's validation (it would cost the
// operator 12 MiB of memory), so the preview may show a resource the API
// server refuses.
const notValidated = "note: manager render does not validate; `kubectl-wharf render -f FILE` (make plugin) refuses what the API server would refuse"

// runRender prints, as one YAML stream, the objects wharf would apply for
// the ClusterNetworking in a file, with the defaults of its CRD schema but
// without validating it.
func runRender(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: manager render -f FILE

Prints the objects wharf would apply for the ClusterNetworking in FILE ("-"
for standard input), with the defaults of its schema.

It reads no cluster: a chart spec.traefik.chart names in a repository is
not fetched (the embedded chart is rendered instead), the documents of
spec.traefik.valuesFrom are not read, and a component with no offline
render is left out; each is said on standard error, on a "note:" line.

It does not validate FILE: a resource the API server would refuse (an ip
such as 10.0.0.999, a dashboard without basicAuth) is rendered anyway. Use
the kubectl plugin built by `+"`make plugin`"+` to check FILE as the API server does:

  kubectl-wharf validate -f FILE
  kubectl-wharf render -f FILE

Flags:
`)
		fs.PrintDefaults()
	}
	file := fs.String("f", "", "file holding a ClusterNetworking (\"-\" for standard input)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil
		}
		return err
	}
	if *file == "" {
		fs.Usage()
		return fmt.Errorf("-f is required")
	}
	data, err := preview.Read(*file, stdin)
	if err != nil {
		return err
	}
	u, err := preview.Find(data, *file)
	if err != nil {
		return err
	}
	cn, err := preview.Typed(u, *file)
	if err != nil {
		return err
	}
	if err := defaults.Apply(cn); err != nil {
		return fmt.Errorf("default %s: %w", *file, err)
	}
	objs, notes, err := preview.Objects(cn)
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, notValidated)
	preview.WriteNotes(stderr, notes)
	return preview.Write(stdout, objs)
}
