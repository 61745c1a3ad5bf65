// Package crdvalidate admits a custom resource as the API server does on
// create, without an API server: it refuses fields the schema does not
// declare (kubectl's default, --validate=strict), fills the schema's
// defaults (structural defaulting), and validates with the OpenAPI schema,
// the x-kubernetes-validations CEL rules and the metadata rules, through
// the API server's own code (k8s.io/apiextensions-apiserver's
// customresource strategy). Errors read as the API server's.
//
// It links the API server's validation and CEL libraries: the manager must
// not import it (kubectl-wharf does).
package crdvalidate

import (
	"context"
	"fmt"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apiextensions-apiserver/pkg/registry/customresource"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured/unstructuredscheme"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"sigs.k8s.io/yaml"
)

// Validator admits the resources of one CRD.
type Validator struct {
	gk       schema.GroupKind
	versions map[string]version
}

type version struct {
	structural *structuralschema.Structural
	strategy   rest.RESTCreateStrategy
}

// New builds a Validator from a CustomResourceDefinition manifest, for
// every version it serves.
func New(crdYAML []byte) (*Validator, error) {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict(crdYAML, crd); err != nil {
		return nil, fmt.Errorf("parse the CRD: %w", err)
	}
	gk := schema.GroupKind{Group: crd.Spec.Group, Kind: crd.Spec.Names.Kind}
	v := &Validator{gk: gk, versions: map[string]version{}}
	for _, ver := range crd.Spec.Versions {
		if !ver.Served || ver.Schema == nil || ver.Schema.OpenAPIV3Schema == nil {
			continue
		}
		internal := &apiextensions.CustomResourceValidation{}
		if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(ver.Schema, internal, nil); err != nil {
			return nil, fmt.Errorf("convert the schema of %s: %w", ver.Name, err)
		}
		s, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
		if err != nil {
			return nil, fmt.Errorf("the schema of %s is not structural: %w", ver.Name, err)
		}
		s = s.DeepCopy()
		if err := structuraldefaulting.PruneDefaults(s); err != nil {
			return nil, fmt.Errorf("prune the defaults of %s: %w", ver.Name, err)
		}
		schemaValidator, _, err := apiservervalidation.NewSchemaValidator(internal.OpenAPIV3Schema)
		if err != nil {
			return nil, fmt.Errorf("the schema validator of %s: %w", ver.Name, err)
		}
		var status *apiextensions.CustomResourceSubresourceStatus
		if ver.Subresources != nil && ver.Subresources.Status != nil {
			status = &apiextensions.CustomResourceSubresourceStatus{}
		}
		gvk := gk.WithVersion(ver.Name)
		strategy := customresource.NewStrategy(unstructuredscheme.NewUnstructuredObjectTyper(),
			crd.Spec.Scope == apiextensionsv1.NamespaceScoped, gvk, schemaValidator, nil, s, status, nil, ver.SelectableFields)
		v.versions[ver.Name] = version{structural: s, strategy: strategy}
	}
	if len(v.versions) == 0 {
		return nil, fmt.Errorf("the CRD %s serves no version with a schema", crd.Name)
	}
	return v, nil
}

// Admit does to u what the API server does to a resource it is asked to
// create: it refuses undeclared fields, drops status, fills the defaults
// and validates. u is changed in place; on success it is what the API
// server would store (without the server-set metadata). The error is an
// API status error (apierrors.IsInvalid, apierrors.IsBadRequest) whose text
// is the API server's.
func (v *Validator) Admit(ctx context.Context, u *unstructured.Unstructured) error {
	gvk := u.GroupVersionKind()
	if gvk.GroupKind() != v.gk {
		return fmt.Errorf("%s is not a %s", gvk.GroupKind(), v.gk)
	}
	ver, ok := v.versions[gvk.Version]
	if !ok {
		return fmt.Errorf("%s %s is not served: no version %q", v.gk.Kind, v.gk.Group, gvk.Version)
	}
	name := u.GetName()

	// Decoding, with kubectl's --validate=strict (field validation Strict):
	// unknown metadata fields, then fields the schema does not declare.
	_, _, unknown, err := schemaobjectmeta.GetObjectMetaWithOptions(u.Object,
		schemaobjectmeta.ObjectMetaOptions{ReturnUnknownFieldPaths: true})
	if err != nil {
		return apierrors.NewBadRequest(err.Error())
	}
	unknown = append(unknown, structuralpruning.PruneWithOptions(u.Object, ver.structural, true,
		structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})...)
	structuraldefaulting.PruneNonNullableNullsWithoutDefaults(u.Object, ver.structural)
	fieldErr, paths := schemaobjectmeta.CoerceWithOptions(nil, u.Object, ver.structural, false,
		schemaobjectmeta.CoerceOptions{ReturnUnknownFieldPaths: true})
	if fieldErr != nil {
		return apierrors.NewBadRequest(fieldErr.Error())
	}
	unknown = append(unknown, paths...)
	if len(unknown) > 0 {
		errs := make([]error, 0, len(unknown))
		for _, p := range unknown {
			errs = append(errs, fmt.Errorf(`unknown field "%s"`, p))
		}
		return apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %v",
			v.gk.Kind, gvk.Version, v.gk.Kind, runtime.NewStrictDecodingError(errs)))
	}
	structuraldefaulting.Default(u.Object, ver.structural)

	// The create handler: server-set metadata, then the strategy.
	ctx = genericapirequest.WithNamespace(ctx, u.GetNamespace())
	u.SetUID(types.UID("00000000-0000-0000-0000-000000000000"))
	u.SetCreationTimestamp(metav1.Now())
	ver.strategy.PrepareForCreate(ctx, u)
	if errs := rest.ValidateCreate(ctx, u, ver.strategy); len(errs) > 0 {
		return apierrors.NewInvalid(v.gk, name, errs)
	}
	u.SetUID("")
	u.SetCreationTimestamp(metav1.Time{})
	return nil
}
