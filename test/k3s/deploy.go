// Package k3s stands in, in tests, for the parts of K3s that wharf takes
// over from: the deploy controller that applies each packaged manifest
// (coredns.yaml, ...) and deletes it again on `k3s --disable`, and the
// manifests themselves. The deploy controller is played by the library K3s
// uses for it, github.com/rancher/wrangler/v3's apply package (a test-only
// dependency: the manager must not link it, see cmd/deps_test.go).
package k3s

import (
	"fmt"
	"slices"

	wapply "github.com/rancher/wrangler/v3/pkg/apply"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
)

// Namespace is where K3s deploys its packaged components.
const Namespace = "kube-system"

// Addon returns the k3s.cattle.io/v1 Addon in kube-system K3s's deploy
// controller tracks the packaged manifest name (file name without .yaml)
// with. It only names the owner of an applied set: the Addon kind need
// not be installed.
func Addon(name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("k3s.cattle.io/v1")
	u.SetKind("Addon")
	u.SetNamespace(Namespace)
	u.SetName(name)
	return u
}

// Deployer applies one packaged manifest as K3s's deploy controller does
// (k3s-io/k3s pkg/deploy/controller.go): wrangler's apply, owned by the
// manifest's Addon, which marks every object with the
// objectset.rio.cattle.io/hash label and the objectset annotations.
type Deployer struct {
	apply wapply.Apply
	kinds []schema.GroupVersionKind // of every object applied so far
}

// NewDeployer returns the Deployer of the manifest addon on the API server
// of cfg.
func NewDeployer(cfg *rest.Config, addon string) (*Deployer, error) {
	a, err := wapply.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("wrangler apply: %w", err)
	}
	return &Deployer{apply: a.WithDynamicLookup().WithOwner(Addon(addon))}, nil
}

// Apply applies objs as the Addon's whole set: objects the set held before
// and objs lacks are deleted, as K3s does when a manifest changes. Each
// object needs its apiVersion and kind.
func (d *Deployer) Apply(objs ...runtime.Object) error {
	for _, o := range objs {
		gvk := o.GetObjectKind().GroupVersionKind()
		if gvk.Empty() {
			return fmt.Errorf("apply %T: no apiVersion and kind", o)
		}
		if !slices.Contains(d.kinds, gvk) {
			d.kinds = append(d.kinds, gvk)
		}
	}
	if err := d.apply.ApplyObjects(objs...); err != nil {
		return fmt.Errorf("apply the k3s manifest: %w", err)
	}
	return nil
}

// Disable does what `k3s --disable <addon>` does at start-up (since K3s
// 1.23, k3s-io/k3s#5103): it applies an empty set for the Addon over the
// kinds applied before, which deletes every object still carrying the
// Addon's objectset hash label.
func (d *Deployer) Disable() error {
	if err := d.apply.WithGVK(d.kinds...).ApplyObjects(); err != nil {
		return fmt.Errorf("disable the k3s manifest: %w", err)
	}
	return nil
}

// Marked reports whether labels carry wrangler's objectset hash label, the
// one Disable selects objects by.
func Marked(labels map[string]string) bool {
	return labels[wapply.LabelHash] != ""
}
