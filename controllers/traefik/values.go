package traefik

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
)

// MergeValues merges Helm values documents, later ones winning: maps are
// merged key by key, anything else (lists, scalars, null) replaces what
// earlier documents held. A null is kept, so that Helm's coalescing then
// removes the key from the chart's defaults, as `helm --set key=null`
// does. The documents are not modified; the result shares nothing with
// them.
func MergeValues(docs ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, doc := range docs {
		mergeInto(out, doc)
	}
	return out
}

func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		srcMap, srcIsMap := v.(map[string]any)
		dstMap, dstIsMap := dst[k].(map[string]any)
		if srcIsMap && dstIsMap {
			mergeInto(dstMap, srcMap)
			continue
		}
		dst[k] = deepCopyValue(v)
	}
}

// deepCopyValue copies the maps and lists of a decoded YAML or JSON value.
func deepCopyValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = deepCopyValue(e)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, e := range t {
			l[i] = deepCopyValue(e)
		}
		return l
	default:
		return v
	}
}

// specValues decodes spec.values, which the API server keeps as an object.
func specValues(spec *v1alpha1.TraefikSpec) (map[string]any, error) {
	if spec.Values == nil || len(spec.Values.Raw) == 0 {
		return map[string]any{}, nil
	}
	var vals map[string]any
	if err := json.Unmarshal(spec.Values.Raw, &vals); err != nil {
		return nil, component.Stalled(ReasonInvalidValues, fmt.Errorf("spec.traefik.values must be an object: %w", err))
	}
	if vals == nil {
		vals = map[string]any{}
	}
	return vals, nil
}

// parseValuesDocument decodes one YAML values document. An empty document
// is an empty map; anything but a map is refused.
func parseValuesDocument(data []byte) (map[string]any, error) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	switch t := v.(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]any:
		return t, nil
	default:
		return nil, fmt.Errorf("a values document must be a YAML mapping, not %T", v)
	}
}

// resolveValuesFrom reads the documents spec.valuesFrom names, in order,
// from the Traefik namespace. A missing object or key that is not optional
// is an error to retry (it may be created later), and so is a
// HelmChartConfig in a cluster without its CRD; a document that is not
// YAML stalls the component until it is fixed.
func resolveValuesFrom(ctx context.Context, r client.Reader, spec *v1alpha1.TraefikSpec) ([]map[string]any, error) {
	ns := spec.Namespace
	docs := make([]map[string]any, 0, len(spec.ValuesFrom))
	for i, ref := range spec.ValuesFrom {
		where := describeRef(ns, ref)
		data, found, err := readValuesKey(ctx, r, ns, ref)
		if errors.Is(err, errNoHelmChartConfigCRD) {
			if ref.Optional {
				continue
			}
			return nil, &reasonError{reason: ReasonValuesFromMissing,
				err: fmt.Errorf("spec.traefik.valuesFrom[%d]: %s: %w", i, where, err)}
		}
		if err != nil {
			return nil, err
		}
		if !found {
			if ref.Optional {
				continue
			}
			return nil, &reasonError{reason: ReasonValuesFromMissing,
				err: fmt.Errorf("spec.traefik.valuesFrom[%d]: %s does not exist yet", i, where)}
		}
		doc, err := parseValuesDocument(data)
		if err != nil {
			return nil, component.Stalled(ReasonInvalidValues, fmt.Errorf("spec.traefik.valuesFrom[%d]: %s: %w", i, where, err))
		}
		docs = append(docs, doc)
	}
	return docs, nil
}

// readValuesKey returns the content of ref's key and whether the object
// and the key exist.
func readValuesKey(ctx context.Context, r client.Reader, ns string, ref v1alpha1.ValuesReference) ([]byte, bool, error) {
	key := client.ObjectKey{Namespace: ns, Name: ref.Name}
	switch ref.Kind {
	case "ConfigMap":
		cm := &corev1.ConfigMap{}
		if err := r.Get(ctx, key, cm); err != nil {
			return nil, false, ignoreNotFound(err, "ConfigMap", key)
		}
		if s, ok := cm.Data[ref.Key]; ok {
			return []byte(s), true, nil
		}
		b, ok := cm.BinaryData[ref.Key]
		return b, ok, nil
	case "Secret":
		s := &corev1.Secret{}
		if err := r.Get(ctx, key, s); err != nil {
			return nil, false, ignoreNotFound(err, "Secret", key)
		}
		b, ok := s.Data[ref.Key]
		return b, ok, nil
	case "HelmChartConfig":
		return readHelmChartConfig(ctx, r, key)
	default:
		return nil, false, component.Stalledf(ReasonInvalidValues, "valuesFrom kind %q is not ConfigMap, Secret or HelmChartConfig", ref.Kind)
	}
}

// HelmChartConfigGVK is K3s's HelmChartConfig, whose spec.valuesContent
// holds a values document for a chart K3s deploys.
var HelmChartConfigGVK = schema.GroupVersionKind{Group: "helm.cattle.io", Version: "v1", Kind: "HelmChartConfig"}

// readHelmChartConfig returns spec.valuesContent of the HelmChartConfig
// key (empty when it has none). Without the CRD (a cluster that is not
// K3s) it does not exist, like a missing object, and the error says why.
func readHelmChartConfig(ctx context.Context, r client.Reader, key client.ObjectKey) ([]byte, bool, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(HelmChartConfigGVK)
	if err := r.Get(ctx, key, u); err != nil {
		if meta.IsNoMatchError(err) {
			return nil, false, errNoHelmChartConfigCRD
		}
		return nil, false, ignoreNotFound(err, "HelmChartConfig", key)
	}
	content, _, err := unstructured.NestedString(u.Object, "spec", "valuesContent")
	if err != nil {
		return nil, false, component.Stalled(ReasonInvalidValues, fmt.Errorf("HelmChartConfig %s: spec.valuesContent: %w", key, err))
	}
	return []byte(content), true, nil
}

// errNoHelmChartConfigCRD says the cluster has no HelmChartConfig CRD.
var errNoHelmChartConfigCRD = errors.New("the cluster has no HelmChartConfig CRD (helm.cattle.io/v1, installed by K3s)")

func ignoreNotFound(err error, kind string, key client.ObjectKey) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return fmt.Errorf("read %s %s: %w", kind, key, err)
}

func describeRef(ns string, ref v1alpha1.ValuesReference) string {
	if ref.Kind == "HelmChartConfig" {
		return fmt.Sprintf("spec.valuesContent of HelmChartConfig %s/%s", ns, ref.Name)
	}
	return fmt.Sprintf("key %q of %s %s/%s", ref.Key, ref.Kind, ns, ref.Name)
}

// readsHelmChartConfig reports whether spec reads a HelmChartConfig.
func readsHelmChartConfig(spec *v1alpha1.TraefikSpec) bool {
	for _, ref := range spec.ValuesFrom {
		if ref.Kind == "HelmChartConfig" {
			return true
		}
	}
	return false
}
