package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// readObjects reads every object of a multi-document YAML file.
func readObjects(path string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return decodeObjects(data, path)
}

func decodeObjects(data []byte, what string) ([]*unstructured.Unstructured, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("split %s: %w", what, err)
		}
		m := map[string]any{}
		if err := yaml.Unmarshal(doc, &m); err != nil {
			return nil, fmt.Errorf("parse %s: %w", what, err)
		}
		if len(m) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
}

// install is the rendered config/default sorted by what OLM does with it.
type install struct {
	namespace string
	crds      []*unstructured.Unstructured
	// deployment is the manager's Deployment.
	deployment *unstructured.Unstructured
	// clusterRules and rules are the cluster-wide and namespaced rules
	// granted to each ServiceAccount, in the order of the bindings.
	clusterRules map[string][]any
	rules        map[string][]any
	// others go into the bundle as they are.
	others []*unstructured.Unstructured
}

// classify folds the ServiceAccount, its roles and bindings, and the
// Deployment into what the CSV's install strategy needs. ClusterRoles bound
// to nothing (the metrics reader) stay objects of their own.
func classify(objs []*unstructured.Unstructured) (*install, error) {
	in := &install{clusterRules: map[string][]any{}, rules: map[string][]any{}}
	clusterRoles := map[string]*unstructured.Unstructured{}
	roles := map[string]*unstructured.Unstructured{}
	var crbs, rbs []*unstructured.Unstructured
	serviceAccounts := map[string]bool{}
	for _, o := range objs {
		switch o.GetKind() {
		case "Namespace":
			in.namespace = o.GetName()
		case "CustomResourceDefinition":
			in.crds = append(in.crds, o)
		case "Deployment":
			if in.deployment != nil {
				return nil, fmt.Errorf("more than one Deployment: %s and %s", in.deployment.GetName(), o.GetName())
			}
			in.deployment = o
		case "ServiceAccount":
			serviceAccounts[o.GetName()] = true
		case "ClusterRole":
			clusterRoles[o.GetName()] = o
		case "Role":
			roles[o.GetName()] = o
		case "ClusterRoleBinding":
			crbs = append(crbs, o)
		case "RoleBinding":
			rbs = append(rbs, o)
		case "Service", "ConfigMap", "Secret", "PodDisruptionBudget", "PriorityClass":
			in.others = append(in.others, o)
		case "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding":
			// config/admission: a registry+v1 bundle cannot carry these
			// kinds (OLM installs only the kinds it knows); the README
			// tells OLM users to apply them with kubectl apply -k.
			continue
		default:
			return nil, fmt.Errorf("%s %s: a registry+v1 bundle cannot carry this kind", o.GetKind(), o.GetName())
		}
	}
	if in.deployment == nil {
		return nil, errors.New("no Deployment in the install manifests")
	}
	if err := grant(crbs, clusterRoles, serviceAccounts, in.clusterRules); err != nil {
		return nil, err
	}
	if err := grant(rbs, roles, serviceAccounts, in.rules); err != nil {
		return nil, err
	}
	bound := map[string]bool{}
	for _, b := range crbs {
		bound[roleRefName(b)] = true
	}
	var names []string
	for name := range clusterRoles {
		if !bound[name] {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		in.others = append(in.others, clusterRoles[name])
	}
	sa, _, _ := unstructured.NestedString(in.deployment.Object, "spec", "template", "spec", "serviceAccountName")
	if len(in.clusterRules[sa]) == 0 && len(in.rules[sa]) == 0 {
		return nil, fmt.Errorf("the Deployment runs as ServiceAccount %q, which no role is bound to", sa)
	}
	return in, nil
}

// grant appends the rules of each bound role to its ServiceAccount subjects.
func grant(bindings []*unstructured.Unstructured, roles map[string]*unstructured.Unstructured, sas map[string]bool, into map[string][]any) error {
	for _, b := range bindings {
		role, ok := roles[roleRefName(b)]
		if !ok {
			return fmt.Errorf("%s %s refers to the missing role %q", b.GetKind(), b.GetName(), roleRefName(b))
		}
		rules, _, err := unstructured.NestedSlice(role.Object, "rules")
		if err != nil {
			return fmt.Errorf("%s %s: rules: %w", role.GetKind(), role.GetName(), err)
		}
		subjects, _, err := unstructured.NestedSlice(b.Object, "subjects")
		if err != nil {
			return fmt.Errorf("%s %s: subjects: %w", b.GetKind(), b.GetName(), err)
		}
		for _, s := range subjects {
			subj, _ := s.(map[string]any)
			name, _ := subj["name"].(string)
			if subj["kind"] != "ServiceAccount" || !sas[name] {
				return fmt.Errorf("%s %s binds %v, not a ServiceAccount of the install", b.GetKind(), b.GetName(), subj)
			}
			into[name] = append(into[name], rules...)
		}
	}
	return nil
}

func roleRefName(b *unstructured.Unstructured) string {
	name, _, _ := unstructured.NestedString(b.Object, "roleRef", "name")
	return name
}
