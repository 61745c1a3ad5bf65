package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Decode splits a multi-document YAML stream into objects. Empty documents
// are skipped; a document without apiVersion, kind or name is an error.
func Decode(data []byte) ([]*unstructured.Unstructured, error) {
	reader := utilyaml.NewYAMLReader(bufioReader(data))
	var objs []*unstructured.Unstructured
	for i := 0; ; i++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		m := map[string]any{}
		if err := yaml.Unmarshal(doc, &m); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
			return nil, fmt.Errorf("document %d: apiVersion, kind and metadata.name are required", i)
		}
		objs = append(objs, u)
	}
}

// Encode writes objects as one multi-document YAML stream.
func Encode(objs []*unstructured.Unstructured) ([]byte, error) {
	var buf bytes.Buffer
	for _, o := range objs {
		b, err := yaml.Marshal(o.Object)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s: %w", o.GetKind(), o.GetName(), err)
		}
		buf.WriteString("---\n")
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

// applyOrder ranks kinds so that what others depend on is applied first.
var applyOrder = map[string]int{
	"CustomResourceDefinition": 0,
	"Namespace":                1,
	"PriorityClass":            2,
	"ServiceAccount":           3,
	"Secret":                   4,
	"ConfigMap":                5,
	"ClusterRole":              6,
	"ClusterRoleBinding":       7,
	"Role":                     8,
	"RoleBinding":              9,
	"IngressClass":             10,
	"Service":                  11,
	"Deployment":               12,
	"DaemonSet":                12,
	"StatefulSet":              12,
	"PodDisruptionBudget":      13,
}

// SortForApply orders objects for applying: CRDs and namespaces first,
// then identities, configuration, services and workloads, then the rest
// (custom resources last), keeping the given order within a kind.
func SortForApply(objs []*unstructured.Unstructured) {
	rank := func(o *unstructured.Unstructured) int {
		if r, ok := applyOrder[o.GetKind()]; ok {
			return r
		}
		return len(applyOrder) + 1
	}
	sort.SliceStable(objs, func(i, j int) bool { return rank(objs[i]) < rank(objs[j]) })
}

// FromTyped converts a typed object or apply configuration, which carries
// its apiVersion and kind, to an unstructured one.
func FromTyped(obj any) (*unstructured.Unstructured, error) {
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("convert to unstructured: %w", err)
	}
	return &unstructured.Unstructured{Object: content}, nil
}
