// Command kubectl-wharf is a kubectl plugin (`kubectl wharf ...`) that
// checks a ClusterNetworking as the API server would, without a cluster,
// and prints the objects wharf would apply for it:
//
//	kubectl-wharf validate -f FILE            refuse what the API server would refuse
//	kubectl-wharf render -f FILE              the same, then print the objects
//	kubectl-wharf adopt --dry-run -f FILE     what applying FILE would do to the cluster's objects
//
// It validates with the API server's own code (OpenAPI schema, CEL rules,
// structural defaulting) against the CRD embedded at build time, so its
// messages are the API server's. The manager does not link that code; this
// binary does.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/config/crd"
	"github.com/wharf-dev/wharf/controllers"
	"github.com/wharf-dev/wharf/internal/crdvalidate"
	"github.com/wharf-dev/wharf/internal/preview"
	"github.com/wharf-dev/wharf/internal/takeover"
)

// version is set at build time.
var version = "dev"

// exitRefused is the exit status of adopt --dry-run when any object is
// refused, so that scripts can tell a plan that would stall from an error.
const exitRefused = 3

// errRefused is returned by plan when any object is refused.
var errRefused = errors.New("applying the file would stall the components whose objects are refused")

const usage = `Usage: kubectl-wharf validate -f FILE
       kubectl-wharf render -f FILE
       kubectl-wharf adopt --dry-run -f FILE [--kubeconfig PATH]
       kubectl-wharf --version

validate checks the ClusterNetworking in FILE ("-" for standard input) as
the API server would on kubectl apply: fields the CRD does not declare,
the OpenAPI schema, the CEL rules and the metadata, with the API server's
messages. render does the same, fills the schema's defaults and prints, as
one YAML stream, the objects wharf would apply for it (with no nodes and
the default DNS IP, as no cluster is read). What it cannot render without
a cluster it says on standard error, one "note:" line each, and standard
output holds only the objects: a chart spec.traefik.chart names in a
repository is not fetched (the embedded chart is rendered instead), the
documents of spec.traefik.valuesFrom are not read, and a component with
no offline render is left out.

adopt --dry-run validates the same way, then renders against the cluster
of KUBECONFIG (or --kubeconfig) as the operator would and prints, for each
object, whether applying FILE would keep it as it runs (only labels and
annotations change), change it (with a diff from what runs), create it, or
refuse to take it over. It then compares with the status.inventory of the
cluster's ClusterNetworking, if one runs: each object wharf applied that
FILE drops (all of a disabled component's) is one it would delete (wharf
created it), release (wharf adopted it: it keeps running, unmanaged), hold
(Traefik's CRDs while custom resources use them) or leave (someone else
holds it now). Nothing of a component with a refused object is applied or
pruned. Beyond its objects, disabling ServiceLB removes the svclb
DaemonSets and disabling Traefik the dashboard Secret wharf generated. It
writes nothing: every write goes to the API server as a dry run.

Exit status: 0 when done, 1 on an error, 2 on a bad command line, and, for
adopt, 3 when any object is refused.

Installed on the PATH, it also runs as "kubectl wharf".
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run runs the command line and returns its exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd := args[0]; cmd {
	case "--version", "-version", "version":
		fmt.Fprintln(stdout, version)
		return 0
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "validate", "render", "adopt":
		err = runFile(cmd, args[1:], stdin, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err == flag.ErrHelp {
		return 0
	}
	if errors.Is(err, errRefused) {
		fmt.Fprintln(stderr, "refused:", err)
		return exitRefused
	}
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	return 0
}

func runFile(cmd string, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage+"\nFlags:\n"); fs.PrintDefaults() }
	file := fs.String("f", "", "file holding a ClusterNetworking (\"-\" for standard input)")
	dryRun := fs.Bool("dry-run", false, "adopt: only tell what applying FILE would do (required)")
	kubeconfig := fs.String("kubeconfig", "", "adopt: the cluster's kubeconfig (default: KUBECONFIG, then ~/.kube/config)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" || fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("%s needs -f FILE and nothing else", cmd)
	}
	if cmd == "adopt" && !*dryRun {
		return errors.New("adopt only plans: add --dry-run; applying the ClusterNetworking takes over")
	}
	data, err := preview.Read(*file, stdin)
	if err != nil {
		return err
	}
	u, err := admit(data, *file)
	if err != nil {
		return err
	}
	if cmd == "validate" {
		fmt.Fprintf(stdout, "%s/%s is valid\n", "clusternetworking.networking.wharf.dev", u.GetName())
		return nil
	}
	cn, err := preview.Typed(u, *file)
	if err != nil {
		return err
	}
	if cmd == "adopt" {
		return plan(cn, *kubeconfig, stdout)
	}
	objs, notes, err := preview.Objects(cn)
	if err != nil {
		return err
	}
	preview.WriteNotes(stderr, notes)
	return preview.Write(stdout, objs)
}

// plan prints what applying cn to the cluster of kubeconfig would do.
func plan(cn *v1alpha1.ClusterNetworking, kubeconfig string, stdout io.Writer) error {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return fmt.Errorf("load the kubeconfig: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		return fmt.Errorf("connect to the cluster: %w", err)
	}
	steps, err := takeover.Plan(context.Background(), c, cn)
	if err != nil {
		return err
	}
	refusedAny, err := takeover.Write(stdout, steps)
	if err != nil {
		return fmt.Errorf("write the plan: %w", err)
	}
	if refusedAny {
		return errRefused
	}
	return nil
}

// admit finds the ClusterNetworking in data and admits it as the API
// server would: on success it holds its defaults.
func admit(data []byte, source string) (*unstructured.Unstructured, error) {
	u, err := preview.Find(data, source)
	if err != nil {
		return nil, err
	}
	v, err := crdvalidate.New(crd.ClusterNetworking)
	if err != nil {
		return nil, fmt.Errorf("load the embedded CRD: %w", err)
	}
	if err := v.Admit(context.Background(), u); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return u, nil
}
