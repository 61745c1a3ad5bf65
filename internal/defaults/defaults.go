// Package defaults fills a ClusterNetworking with the defaults of its CRD
// schema, exactly as the API server would, for code paths that do not go
// through an API server (`manager render -f`).
package defaults

import (
	"fmt"
	"sync"

	apiextensions "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/config/crd"
)

var loadSchema = sync.OnceValues(func() (*schema.Structural, error) {
	v1 := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal(crd.ClusterNetworking, v1); err != nil {
		return nil, fmt.Errorf("parse the CRD: %w", err)
	}
	for _, v := range v1.Spec.Versions {
		if v.Name != v1alpha1.GroupVersion.Version {
			continue
		}
		internal := &apiextensions.JSONSchemaProps{}
		if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, internal, nil); err != nil {
			return nil, fmt.Errorf("convert the CRD schema: %w", err)
		}
		return schema.NewStructural(internal)
	}
	return nil, fmt.Errorf("the CRD has no version %s", v1alpha1.GroupVersion.Version)
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
	structuraldefaulting.Default(obj, s)
	return runtime.DefaultUnstructuredConverter.FromUnstructured(obj, cn)
}
