package render

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// LoadChart loads the chart stored under dir in fsys.
func LoadChart(fsys fs.FS, dir string) (*chart.Chart, error) {
	var files []*loader.BufferedFile
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files = append(files, &loader.BufferedFile{Name: strings.TrimPrefix(p, dir+"/"), Data: data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read chart %s: %w", dir, err)
	}
	ch, err := loader.LoadFiles(files)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", dir, err)
	}
	return ch, nil
}

// Release names the Helm release a chart is rendered as.
type Release struct {
	Name      string
	Namespace string
}

// RenderChart renders ch with values over the chart's defaults, as Helm
// would install it as rel, and returns the chart's CRDs followed by its
// templated objects, in apply order. Values that break the chart's schema
// or its templates are returned as errors with Helm's message.
func RenderChart(ch *chart.Chart, values map[string]any, rel Release) ([]*unstructured.Unstructured, error) {
	vals, err := chartutil.ToRenderValues(ch, values, chartutil.ReleaseOptions{
		Name:      rel.Name,
		Namespace: rel.Namespace,
		Revision:  1,
		IsInstall: true,
	}, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, fmt.Errorf("chart %s values: %w", ch.Name(), err)
	}
	rendered, err := engine.Render(ch, vals)
	if err != nil {
		return nil, fmt.Errorf("render chart %s: %w", ch.Name(), err)
	}
	var objs []*unstructured.Unstructured
	for _, crd := range ch.CRDObjects() {
		docs, err := Decode(crd.File.Data)
		if err != nil {
			return nil, fmt.Errorf("chart %s %s: %w", ch.Name(), crd.Filename, err)
		}
		objs = append(objs, docs...)
	}
	names := make([]string, 0, len(rendered))
	for name := range rendered {
		base := path.Base(name)
		if strings.HasPrefix(base, "_") || strings.HasSuffix(base, ".txt") {
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		docs, err := Decode([]byte(rendered[name]))
		if err != nil {
			return nil, fmt.Errorf("chart %s %s: %w", ch.Name(), name, err)
		}
		objs = append(objs, docs...)
	}
	SortForApply(objs)
	return objs, nil
}
