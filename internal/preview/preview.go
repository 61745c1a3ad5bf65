// Package preview renders, without a cluster, the objects wharf would apply
// for a ClusterNetworking read from a file: `manager render -f` and
// `kubectl-wharf render -f` both go through it. It takes defaults for what
// the operator would otherwise read from the cluster (no nodes, the default
// DNS IP). It neither defaults nor validates the resource: its callers do.
package preview

import (
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers"
	"github.com/wharf-dev/wharf/controllers/component"
	"github.com/wharf-dev/wharf/internal/apply"
	"github.com/wharf-dev/wharf/internal/render"
)

// Read returns the content of file, or of stdin when file is "-".
func Read(file string, stdin io.Reader) ([]byte, error) {
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	return data, nil
}

// Find returns the one networking.wharf.dev/v1alpha1 ClusterNetworking in
// a YAML or JSON stream; other documents are ignored. source names the
// stream in errors.
func Find(data []byte, source string) (*unstructured.Unstructured, error) {
	docs, err := render.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", source, err)
	}
	var found *unstructured.Unstructured
	for _, d := range docs {
		if d.GroupVersionKind() != v1alpha1.GroupVersion.WithKind("ClusterNetworking") {
			continue
		}
		if found != nil {
			return nil, fmt.Errorf("%s holds more than one ClusterNetworking", source)
		}
		found = d
	}
	if found == nil {
		return nil, fmt.Errorf("%s holds no %s ClusterNetworking", source, v1alpha1.GroupVersion)
	}
	return found, nil
}

// Typed converts u to a ClusterNetworking, refusing fields the type does
// not have.
func Typed(u *unstructured.Unstructured, source string) (*v1alpha1.ClusterNetworking, error) {
	raw, err := yaml.Marshal(u.Object)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", source, err)
	}
	cn := &v1alpha1.ClusterNetworking{}
	if err := yaml.UnmarshalStrict(raw, cn); err != nil {
		return nil, fmt.Errorf("parse the ClusterNetworking in %s: %w", source, err)
	}
	return cn, nil
}

// Objects returns the objects the enabled components would apply for cn,
// marked as the operator marks them, and notes for people, one sentence
// each prefixed with the component's name, on what they leave out: a
// component that cannot render without a cluster, or what an offline
// render does not read (see component.OfflineLimiter). cn must already
// hold its defaults.
func Objects(cn *v1alpha1.ClusterNetworking) (objs []*unstructured.Unstructured, notes []string, err error) {
	return objects(controllers.Components(component.Deps{}), cn)
}

func objects(comps []component.Component, cn *v1alpha1.ClusterNetworking) ([]*unstructured.Unstructured, []string, error) {
	var all []*unstructured.Unstructured
	var notes []string
	for _, c := range comps {
		if !c.Enabled(cn) {
			continue
		}
		r, ok := c.(component.OfflineRenderer)
		if !ok {
			notes = append(notes, c.Name()+": not rendered: it has no offline render (kubectl-wharf adopt --dry-run renders it against a cluster)")
			continue
		}
		if l, ok := c.(component.OfflineLimiter); ok {
			for _, limit := range l.OfflineLimits(cn) {
				notes = append(notes, c.Name()+": "+limit)
			}
		}
		facts, err := r.OfflineInputs(cn)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", c.Name(), err)
		}
		objs, err := c.Render(cn, facts)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", c.Name(), err)
		}
		for _, o := range objs {
			apply.Mark(o, c.Name())
		}
		all = append(all, objs...)
	}
	return all, notes, nil
}

// WriteNotes writes each note to out on a line of its own, after "note: ".
func WriteNotes(out io.Writer, notes []string) {
	for _, n := range notes {
		fmt.Fprintln(out, "note:", n)
	}
}

// Write writes objs to out as one YAML stream.
func Write(out io.Writer, objs []*unstructured.Unstructured) error {
	b, err := render.Encode(objs)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	if _, err := out.Write(b); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}
