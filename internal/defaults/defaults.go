// Package defaults fills a ClusterNetworking with the defaults of its CRD
// schema as the API server does, for code paths that do not go through an
// API server (`manager render -f`). defaults_test.go checks the result
// against a real API server's.
package defaults

import (
	"fmt"
	"sync"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/config/crd"
)

var loadSchema = sync.OnceValues(func() (*apiextensionsv1.JSONSchemaProps, error) {
	v1 := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal(crd.ClusterNetworking, v1); err != nil {
		return nil, fmt.Errorf("parse the CRD: %w", err)
	}
	for _, v := range v1.Spec.Versions {
		if v.Name == v1alpha1.GroupVersion.Version && v.Schema != nil && v.Schema.OpenAPIV3Schema != nil {
			return v.Schema.OpenAPIV3Schema, nil
		}
	}
	return nil, fmt.Errorf("the CRD has no schema for version %s", v1alpha1.GroupVersion.Version)
})

// Apply fills cn with its schema's defaults.
func Apply(cn *v1alpha1.ClusterNetworking) error {
	s, err := loadSchema()
	if err != nil {
		return err
	}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(cn)
	if err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	if err := fill(obj, s); err != nil {
		return err
	}
	return runtime.DefaultUnstructuredConverter.FromUnstructured(obj, cn)
}

// fill applies the defaults of s to x the way the API server's structural
// defaulting does: in an object, a property that is missing (or null while
// the schema does not allow null) gets its default; then every property,
// defaulted or not, is filled from its own schema, as are the items of
// arrays and the values of maps.
func fill(x any, s *apiextensionsv1.JSONSchemaProps) error {
	if s == nil {
		return nil
	}
	switch x := x.(type) {
	case map[string]any:
		for name, prop := range s.Properties {
			if prop.Default == nil {
				continue
			}
			if v, found := x[name]; found && (v != nil || prop.Nullable) {
				continue
			}
			var def any
			if err := utiljson.Unmarshal(prop.Default.Raw, &def); err != nil {
				return fmt.Errorf("the default of %s: %w", name, err)
			}
			x[name] = def
		}
		for name, v := range x {
			if prop, found := s.Properties[name]; found {
				if err := fill(v, &prop); err != nil {
					return err
				}
			} else if s.AdditionalProperties != nil {
				if err := fill(v, s.AdditionalProperties.Schema); err != nil {
					return err
				}
			}
		}
	case []any:
		if s.Items == nil {
			return nil
		}
		for _, item := range x {
			if err := fill(item, s.Items.Schema); err != nil {
				return err
			}
		}
	}
	return nil
}

// Spec returns spec filled with its schema's defaults: Apply for code that
// holds a bare spec, such as tests of the pure renderers.
func Spec(spec v1alpha1.ClusterNetworkingSpec) (v1alpha1.ClusterNetworkingSpec, error) {
	cn := &v1alpha1.ClusterNetworking{Spec: *spec.DeepCopy()}
	if err := Apply(cn); err != nil {
		return v1alpha1.ClusterNetworkingSpec{}, err
	}
	return cn.Spec, nil
}
