package preview

import (
	"context"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
	"github.com/wharf-dev/wharf/internal/defaults"
)

// onlineOnly is an enabled component that renders only against a cluster.
type onlineOnly struct{}

func (onlineOnly) Name() string                             { return "online" }
func (onlineOnly) ConditionType() string                    { return "OnlineReady" }
func (onlineOnly) Enabled(*v1alpha1.ClusterNetworking) bool { return true }
func (onlineOnly) Inputs(context.Context, *v1alpha1.ClusterNetworking) (component.Facts, error) {
	return nil, nil
}
func (onlineOnly) Render(*v1alpha1.ClusterNetworking, component.Facts) ([]*unstructured.Unstructured, error) {
	return []*unstructured.Unstructured{{}}, nil
}
func (onlineOnly) Observe(context.Context, *v1alpha1.ClusterNetworking, component.Facts, *v1alpha1.ClusterNetworkingStatus) (component.Health, error) {
	return component.Health{}, nil
}

func defaulted(t *testing.T, edit func(*v1alpha1.ClusterNetworking)) *v1alpha1.ClusterNetworking {
	t.Helper()
	cn := &v1alpha1.ClusterNetworking{}
	cn.Name = v1alpha1.SingletonName
	edit(cn)
	if err := defaults.Apply(cn); err != nil {
		t.Fatal(err)
	}
	return cn
}

// A render that leaves something out says so, once per thing left out,
// and still renders the rest.
func TestObjectsNoteWhatIsNotRendered(t *testing.T) {
	cn := defaulted(t, func(cn *v1alpha1.ClusterNetworking) {
		cn.Spec.Traefik.Chart = &v1alpha1.ChartSource{Repository: "https://charts.example.com", Name: "traefik", Version: "37.1.0"}
		cn.Spec.Traefik.ValuesFrom = []v1alpha1.ValuesReference{{Kind: "ConfigMap", Name: "traefik-values"}, {Kind: "HelmChartConfig", Name: "traefik"}}
	})
	objs, notes, err := Objects(cn)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`traefik: spec.traefik.chart (traefik 37.1.0 from "https://charts.example.com") is not fetched offline: the embedded chart is rendered instead`,
		"traefik: spec.traefik.valuesFrom is not read offline: the values of ConfigMap traefik-values, HelmChartConfig traefik are left out, only spec.traefik.values is rendered",
	}
	if !slices.Equal(notes, want) {
		t.Errorf("notes:\n%s\nwant:\n%s", strings.Join(notes, "\n"), strings.Join(want, "\n"))
	}
	if len(objs) == 0 {
		t.Errorf("nothing rendered")
	}

	_, notes, err = objects([]component.Component{onlineOnly{}}, cn)
	if err != nil {
		t.Fatal(err)
	}
	if want := "online: not rendered: it has no offline render (kubectl-wharf adopt --dry-run renders it against a cluster)"; !slices.Equal(notes, []string{want}) {
		t.Errorf("notes %q, want %q", notes, want)
	}
}

// What renders in full carries no note.
func TestObjectsNoteNothingForAFullRender(t *testing.T) {
	cn := defaulted(t, func(*v1alpha1.ClusterNetworking) {})
	if _, notes, err := Objects(cn); err != nil || len(notes) != 0 {
		t.Errorf("notes %q, error %v; want none", notes, err)
	}
}
