package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers"
	"github.com/wharf-dev/wharf/controllers/component"
	"github.com/wharf-dev/wharf/internal/apply"
	"github.com/wharf-dev/wharf/internal/defaults"
	"github.com/wharf-dev/wharf/internal/render"
)

// runRender prints, as one YAML stream, the objects wharf would apply for
// the ClusterNetworking in a file, taking defaults for what it would
// otherwise read from the cluster (no nodes, the default DNS IP).
func runRender(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: manager render -f FILE\n\nPrints the objects wharf would apply for the ClusterNetworking in FILE (\"-\" for standard input).\n\nFlags:\n")
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
	cn, err := readClusterNetworking(*file)
	if err != nil {
		return err
	}
	var all []*unstructured.Unstructured
	for _, c := range controllers.Components(component.Deps{}) {
		if !c.Enabled(cn) {
			continue
		}
		r, ok := c.(component.OfflineRenderer)
		if !ok {
			continue
		}
		objs, err := r.RenderOffline(cn)
		if err != nil {
			return fmt.Errorf("%s: %w", c.Name(), err)
		}
		for _, o := range objs {
			apply.Mark(o, c.Name())
		}
		all = append(all, objs...)
	}
	b, err := render.Encode(all)
	if err != nil {
		return err
	}
	_, err = out.Write(b)
	return err
}

func readClusterNetworking(file string) (*v1alpha1.ClusterNetworking, error) {
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	docs, err := render.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", file, err)
	}
	var cn *v1alpha1.ClusterNetworking
	for _, d := range docs {
		if d.GroupVersionKind() != v1alpha1.GroupVersion.WithKind("ClusterNetworking") {
			continue
		}
		if cn != nil {
			return nil, fmt.Errorf("%s holds more than one ClusterNetworking", file)
		}
		raw, err := yaml.Marshal(d.Object)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", file, err)
		}
		cn = &v1alpha1.ClusterNetworking{}
		if err := yaml.UnmarshalStrict(raw, cn); err != nil {
			return nil, fmt.Errorf("parse the ClusterNetworking in %s: %w", file, err)
		}
	}
	if cn == nil {
		return nil, fmt.Errorf("%s holds no networking.wharf.dev/v1alpha1 ClusterNetworking", file)
	}
	if err := defaults.Apply(cn); err != nil {
		return nil, fmt.Errorf("default %s: %w", file, err)
	}
	return cn, nil
}
