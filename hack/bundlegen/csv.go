package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Inputs read from the repository root.
const (
	baseCSVPath = "config/manifests/bases/wharf.clusterserviceversion.yaml"
	iconPath    = "config/manifests/icon.svg"
	samplePath  = "config/samples/clusternetworking.yaml"
)

// buildCSV completes the base ClusterServiceVersion.
func buildCSV(o options, in *install) (*unstructured.Unstructured, error) {
	data, err := os.ReadFile(filepath.Join(o.root, baseCSVPath))
	if err != nil {
		return nil, fmt.Errorf("read the base CSV: %w", err)
	}
	csv := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(data, &csv.Object); err != nil {
		return nil, fmt.Errorf("parse %s: %w", baseCSVPath, err)
	}
	csv.SetName(o.pkg + ".v" + o.version)
	if err := unstructured.SetNestedField(csv.Object, o.version, "spec", "version"); err != nil {
		return nil, err
	}
	for _, step := range []func(o options, in *install, csv *unstructured.Unstructured) error{
		setIcon, setInstallStrategy, setOwnedCRDs, setExamples, setImages,
	} {
		if err := step(o, in, csv); err != nil {
			return nil, err
		}
	}
	return csv, nil
}

func setIcon(o options, _ *install, csv *unstructured.Unstructured) error {
	svg, err := os.ReadFile(filepath.Join(o.root, iconPath))
	if err != nil {
		return fmt.Errorf("read the icon: %w", err)
	}
	icon := []any{map[string]any{"base64data": base64.StdEncoding.EncodeToString(svg), "mediatype": "image/svg+xml"}}
	return unstructured.SetNestedSlice(csv.Object, icon, "spec", "icon")
}

// setInstallStrategy writes the "deployment" install strategy: the
// manager's Deployment spec, and the rules bound to its ServiceAccount.
func setInstallStrategy(_ options, in *install, csv *unstructured.Unstructured) error {
	d := in.deployment
	spec, _, err := unstructured.NestedMap(d.Object, "spec")
	if err != nil {
		return fmt.Errorf("manager deployment %s: %w", d.GetName(), err)
	}
	deployment := map[string]any{"name": d.GetName(), "spec": spec}
	if labels := d.GetLabels(); len(labels) > 0 {
		l := map[string]any{}
		for k, v := range labels {
			l[k] = v
		}
		deployment["label"] = l
	}
	strategy := map[string]any{"deployments": []any{deployment}}
	if p := permissions(in.clusterRules); len(p) > 0 {
		strategy["clusterPermissions"] = p
	}
	if p := permissions(in.rules); len(p) > 0 {
		strategy["permissions"] = p
	}
	return unstructured.SetNestedMap(csv.Object, map[string]any{"strategy": "deployment", "spec": strategy}, "spec", "install")
}

func permissions(bySA map[string][]any) []any {
	names := make([]string, 0, len(bySA))
	for sa := range bySA {
		names = append(names, sa)
	}
	sort.Strings(names)
	out := make([]any, 0, len(names))
	for _, sa := range names {
		out = append(out, map[string]any{"serviceAccountName": sa, "rules": bySA[sa]})
	}
	return out
}

// setOwnedCRDs fills name, version and kind of each owned CRD from the CRDs
// themselves; the base CSV holds the descriptions and descriptors.
func setOwnedCRDs(_ options, in *install, csv *unstructured.Unstructured) error {
	owned, _, err := unstructured.NestedSlice(csv.Object, "spec", "customresourcedefinitions", "owned")
	if err != nil {
		return fmt.Errorf("base CSV owned CRDs: %w", err)
	}
	byName := map[string]map[string]any{}
	for _, o := range owned {
		m, _ := o.(map[string]any)
		name, _ := m["name"].(string)
		byName[name] = m
	}
	out := make([]any, 0, len(in.crds))
	for _, crd := range in.crds {
		entry, ok := byName[crd.GetName()]
		if !ok {
			return fmt.Errorf("CRD %s has no entry under spec.customresourcedefinitions.owned in %s", crd.GetName(), baseCSVPath)
		}
		delete(byName, crd.GetName())
		kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
		version, err := storageVersion(crd)
		if err != nil {
			return err
		}
		entry["kind"], entry["version"] = kind, version
		out = append(out, entry)
	}
	if len(byName) > 0 {
		extra := make([]string, 0, len(byName))
		for name := range byName {
			extra = append(extra, name)
		}
		sort.Strings(extra)
		return fmt.Errorf("%s owns %v, which are not among the CRDs of config/default", baseCSVPath, extra)
	}
	return unstructured.SetNestedSlice(csv.Object, out, "spec", "customresourcedefinitions", "owned")
}

func storageVersion(crd *unstructured.Unstructured) (string, error) {
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	for _, v := range versions {
		m, _ := v.(map[string]any)
		if m["storage"] == true {
			name, _ := m["name"].(string)
			return name, nil
		}
	}
	return "", fmt.Errorf("CRD %s has no storage version", crd.GetName())
}

// setExamples writes the alm-examples annotation: the sample's objects of
// the owned kinds, as a JSON array.
func setExamples(o options, in *install, csv *unstructured.Unstructured) error {
	samples, err := readObjects(filepath.Join(o.root, samplePath))
	if err != nil {
		return err
	}
	owned := map[string]bool{}
	for _, crd := range in.crds {
		group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
		owned[group+"/"+kind] = true
	}
	var examples []any
	for _, s := range samples {
		if owned[s.GroupVersionKind().Group+"/"+s.GetKind()] {
			examples = append(examples, s.Object)
		}
	}
	if len(examples) == 0 {
		return fmt.Errorf("%s holds no object of an owned kind", samplePath)
	}
	data, err := json.MarshalIndent(examples, "", "  ")
	if err != nil {
		return fmt.Errorf("encode alm-examples: %w", err)
	}
	setAnnotation(csv, "alm-examples", string(data))
	return nil
}

func setAnnotation(u *unstructured.Unstructured, key, value string) {
	a := u.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[key] = value
	u.SetAnnotations(a)
}
