// Package crdref writes the reference of a CustomResourceDefinition's
// schema as Markdown: one table row per field, with its type, default,
// validation and description, so the documentation follows the types.
package crdref

import (
	"fmt"
	"io"
	"sort"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// Write writes the Markdown reference of the CRD in crdYAML for its first
// served version.
func Write(w io.Writer, crdYAML []byte) error {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal(crdYAML, crd); err != nil {
		return fmt.Errorf("parse the CRD: %w", err)
	}
	if len(crd.Spec.Versions) == 0 || crd.Spec.Versions[0].Schema == nil {
		return fmt.Errorf("the CRD has no schema")
	}
	v := crd.Spec.Versions[0]
	root := v.Schema.OpenAPIV3Schema
	fmt.Fprintf(w, "# %s reference\n\n", crd.Spec.Names.Kind)
	fmt.Fprintf(w, "`%s/%s`, kind `%s`, scope %s, short name `%s`. Generated from the CRD by `make docs`; do not edit.\n\n",
		crd.Spec.Group, v.Name, crd.Spec.Names.Kind, crd.Spec.Scope, strings.Join(crd.Spec.Names.ShortNames, "`, `"))
	for _, rule := range root.XValidations {
		fmt.Fprintf(w, "- Rule: %s.\n", rule.Message)
	}
	for _, section := range []string{"spec", "status"} {
		props, ok := root.Properties[section]
		if !ok {
			continue
		}
		fmt.Fprintf(w, "\n## %s\n\n| field | type | default | validation | description |\n|---|---|---|---|---|\n", section)
		walk(w, section, &props)
	}
	return nil
}

func walk(w io.Writer, path string, s *apiextensionsv1.JSONSchemaProps) {
	names := make([]string, 0, len(s.Properties))
	for name := range s.Properties {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := s.Properties[name]
		field := path + "." + name
		fmt.Fprintf(w, "| `%s` | %s | %s | %s | %s |\n", field, typeOf(&p), defaultOf(&p), validation(&p, s.Required, name), cell(p.Description))
		switch {
		case p.Type == "object" && len(p.Properties) > 0 && !isKubernetesType(field):
			walk(w, field, &p)
		case p.Type == "array" && p.Items != nil && p.Items.Schema != nil && len(p.Items.Schema.Properties) > 0 && !isKubernetesType(field):
			walk(w, field+"[]", p.Items.Schema)
		}
	}
}

// isKubernetesType reports fields of Kubernetes' own types, documented by
// Kubernetes: they are listed but not expanded.
func isKubernetesType(field string) bool {
	for _, suffix := range []string{".tolerations", ".resources", ".nodeSelector", ".conditions"} {
		if strings.HasSuffix(field, suffix) {
			return true
		}
	}
	return false
}

func typeOf(p *apiextensionsv1.JSONSchemaProps) string {
	switch {
	case p.XPreserveUnknownFields != nil && *p.XPreserveUnknownFields:
		return "object (free-form)"
	case p.Type == "array" && p.Items != nil && p.Items.Schema != nil:
		return "[]" + p.Items.Schema.Type
	case p.Type == "object" && p.AdditionalProperties != nil && p.AdditionalProperties.Schema != nil:
		return "map[string]" + p.AdditionalProperties.Schema.Type
	case p.XIntOrString:
		return "int or string"
	}
	return p.Type
}

func defaultOf(p *apiextensionsv1.JSONSchemaProps) string {
	if p.Default == nil {
		return ""
	}
	return "`" + strings.ReplaceAll(string(p.Default.Raw), "|", `\|`) + "`"
}

func validation(p *apiextensionsv1.JSONSchemaProps, required []string, name string) string {
	var parts []string
	for _, r := range required {
		if r == name {
			parts = append(parts, "required")
		}
	}
	if len(p.Enum) > 0 {
		var vals []string
		for _, e := range p.Enum {
			vals = append(vals, string(e.Raw))
		}
		parts = append(parts, "one of "+strings.Join(vals, ", "))
	}
	if p.Minimum != nil {
		parts = append(parts, fmt.Sprintf("≥ %v", *p.Minimum))
	}
	if p.Maximum != nil {
		parts = append(parts, fmt.Sprintf("≤ %v", *p.Maximum))
	}
	if p.MaxItems != nil {
		parts = append(parts, fmt.Sprintf("at most %d items", *p.MaxItems))
	}
	if p.MaxLength != nil {
		parts = append(parts, fmt.Sprintf("at most %d characters", *p.MaxLength))
	}
	for _, rule := range p.XValidations {
		parts = append(parts, rule.Message)
	}
	if p.Items != nil && p.Items.Schema != nil {
		for _, rule := range p.Items.Schema.XValidations {
			parts = append(parts, "each: "+rule.Message)
		}
	}
	return cell(strings.Join(parts, "; "))
}

func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(s), " ")
}
