package main

import (
	"fmt"
	"io/fs"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/templates"
)

// setImages writes the containerImage annotation and spec.relatedImages:
// the manager and every image it deploys by default, so that disconnected
// installs can mirror them.
func setImages(_ options, in *install, csv *unstructured.Unstructured) error {
	containers, _, err := unstructured.NestedSlice(in.deployment.Object, "spec", "template", "spec", "containers")
	if err != nil || len(containers) == 0 {
		return fmt.Errorf("manager deployment %s has no containers", in.deployment.GetName())
	}
	manager, _ := containers[0].(map[string]any)["image"].(string)
	if manager == "" {
		return fmt.Errorf("manager deployment %s: the first container has no image", in.deployment.GetName())
	}
	traefik, err := traefikImage()
	if err != nil {
		return err
	}
	related := []any{
		map[string]any{"name": "manager", "image": manager},
		map[string]any{"name": "coredns", "image": v1alpha1.DefaultCoreDNSImage},
		map[string]any{"name": "traefik", "image": traefik},
		map[string]any{"name": "klipper-lb", "image": v1alpha1.DefaultServiceLBImage},
	}
	setAnnotation(csv, "containerImage", manager)
	return unstructured.SetNestedSlice(csv.Object, related, "spec", "relatedImages")
}

// traefikImage returns the image the embedded Traefik chart deploys by
// default: image.registry/image.repository:appVersion.
func traefikImage() (string, error) {
	var chart struct {
		AppVersion string `json:"appVersion"`
	}
	var values struct {
		Image struct {
			Registry   string `json:"registry"`
			Repository string `json:"repository"`
			Tag        string `json:"tag"`
		} `json:"image"`
	}
	for path, into := range map[string]any{"traefik/Chart.yaml": &chart, "traefik/values.yaml": &values} {
		data, err := fs.ReadFile(templates.Traefik, path)
		if err != nil {
			return "", fmt.Errorf("read the embedded %s: %w", path, err)
		}
		if err := yaml.Unmarshal(data, into); err != nil {
			return "", fmt.Errorf("parse the embedded %s: %w", path, err)
		}
	}
	tag := values.Image.Tag
	if tag == "" {
		tag = chart.AppVersion
	}
	if values.Image.Repository == "" || tag == "" {
		return "", fmt.Errorf("the embedded Traefik chart names no default image (repository %q, tag %q)", values.Image.Repository, tag)
	}
	image := values.Image.Repository + ":" + tag
	if values.Image.Registry != "" {
		image = values.Image.Registry + "/" + image
	}
	return image, nil
}
