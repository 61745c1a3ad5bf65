package traefik

import (
	"encoding/json"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/wharf-dev/wharf/api/v1alpha1"
)

// benchSpec is the seeds' Traefik spec: the embedded chart, a few values
// and the dashboard behind the authsecret Secret.
func benchSpec(tb testing.TB) v1alpha1.TraefikSpec {
	values, err := json.Marshal(map[string]any{
		"deployment": map[string]any{"replicas": 2},
		"logs":       map[string]any{"general": map[string]any{"level": "INFO"}},
		"ports":      map[string]any{"web": map[string]any{"exposedPort": 80}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return defaulted(tb, v1alpha1.TraefikSpec{
		Values: &apiextensionsv1.JSON{Raw: values},
		Dashboard: v1alpha1.DashboardSpec{
			Enabled:     true,
			Host:        "traefik.example.com",
			EntryPoints: []string{"web"},
			BasicAuth:   &v1alpha1.BasicAuth{SecretName: "authsecret"},
		},
	})
}

// BenchmarkRender renders the embedded Traefik chart with Helm, as a
// reconcile does when its inputs changed.
func BenchmarkRender(b *testing.B) {
	spec := benchSpec(b)
	in := Inputs{DashboardSecret: "authsecret"}
	if _, err := EmbeddedChart(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := renderDefaulted(b, spec, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderCached is a reconcile whose inputs did not change: the
// render cache digests them and hands out a copy of the last render.
func BenchmarkRenderCached(b *testing.B) {
	spec := benchSpec(b)
	in := Inputs{DashboardSecret: "authsecret"}
	var rc renderCache
	if _, err := rc.build(&spec, in, "embedded"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rc.build(&spec, in, "embedded"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMergeValues merges a valuesFrom document and spec.values.
func BenchmarkMergeValues(b *testing.B) {
	base := map[string]any{
		"image":  map[string]any{"repository": "traefik", "tag": "v3"},
		"ports":  map[string]any{"web": map[string]any{"port": 8000, "exposedPort": 80}, "websecure": map[string]any{"port": 8443}},
		"logs":   map[string]any{"general": map[string]any{"level": "ERROR"}},
		"args":   []any{"--a", "--b", map[string]any{"c": 1}},
		"labels": map[string]any{"a": "1", "b": "2", "c": "3"},
	}
	user := map[string]any{"ports": map[string]any{"web": map[string]any{"exposedPort": 8080}}, "logs": nil}
	b.ReportAllocs()
	for b.Loop() {
		_ = MergeValues(base, user)
	}
}

// TestRenderCacheSkipsHelm checks that unchanged inputs are not rendered
// again: the cache keeps its last render, and a hit costs a small fraction
// of the allocations of a Helm render.
func TestRenderCacheSkipsHelm(t *testing.T) {
	spec := benchSpec(t)
	in := Inputs{DashboardSecret: "authsecret"}
	var rc renderCache
	if _, err := rc.build(&spec, in, "embedded"); err != nil {
		t.Fatal(err)
	}
	first := rc.last
	hit := testing.AllocsPerRun(5, func() {
		if _, err := rc.build(&spec, in, "embedded"); err != nil {
			t.Fatal(err)
		}
	})
	if rc.last != first {
		t.Fatal("unchanged inputs were rendered again")
	}
	miss := testing.AllocsPerRun(2, func() {
		if _, err := renderDefaulted(t, spec, in); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("allocations: cache hit %.0f, Helm render %.0f", hit, miss)
	if hit*5 > miss {
		t.Errorf("a cache hit allocates %.0f times, more than a fifth of a Helm render (%.0f): is it rendering again?", hit, miss)
	}
}
