package traefik

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
	"github.com/wharf-dev/wharf/internal/helmrelease"
)

// ReasonKeptOnUninstall is the Event reason for a Helm release record
// wharf marked so that uninstalling the release keeps what wharf adopted.
const ReasonKeptOnUninstall = "KeptOnUninstall"

// Adopts implements component.Adopter. Traefik is adopted only when the
// user asks, naming the Helm releases in spec.traefik.adoptHelmReleases:
// unlike K3s's CoreDNS, which K3s alone deploys under fixed names, a
// Traefik in kube-system may be a Helm release its owner means to go on
// upgrading, and taking it over rewrites that release's records (see
// markReleases). An object is adopted when wharf renders it and the
// latest Render found it in the record of such a release.
func (c *Component) Adopts(obj *unstructured.Unstructured) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, o := range c.last.adoptable {
		if o.Is(obj, c.last.namespace) {
			return true
		}
	}
	return false
}

var _ component.Adopter = (*Component)(nil)

// markReleases marks, in every record of each release that
// spec.adoptHelmReleases names, the objects wharf renders (objs) with
// helm.sh/resource-policy: keep, so that `helm uninstall` (what K3s's
// helm-controller runs for k3s --disable traefik) leaves them to wharf,
// and returns them. Every record is marked, not only the latest that
// uninstall reads, so that a rollback keeps them too. A release without
// records adopts nothing.
func (c *Component) markReleases(ctx context.Context, cn *v1alpha1.ClusterNetworking, objs []*unstructured.Unstructured) ([]helmrelease.Object, error) {
	spec := &cn.Spec.Traefik
	ns := spec.Namespace
	renders := func(o helmrelease.Object) bool {
		return slices.ContainsFunc(objs, func(obj *unstructured.Unstructured) bool { return o.Is(obj, ns) })
	}
	var adoptable []helmrelease.Object
	for _, name := range spec.AdoptHelmReleases {
		records := &corev1.SecretList{}
		if err := c.deps.Reader.List(ctx, records, client.InNamespace(ns), client.MatchingLabels(helmrelease.Labels(name))); err != nil {
			return nil, fmt.Errorf("list the records of helm release %s/%s: %w", ns, name, err)
		}
		for i := range records.Items {
			kept, err := c.markRecord(ctx, cn, &records.Items[i], renders)
			if err != nil {
				return nil, err
			}
			adoptable = append(adoptable, kept...)
		}
	}
	return adoptable, nil
}

// markRecord marks the objects renders selects in one release record and
// returns them; it writes only when the record lacked a mark.
func (c *Component) markRecord(ctx context.Context, cn *v1alpha1.ClusterNetworking, record *corev1.Secret, renders func(helmrelease.Object) bool) ([]helmrelease.Object, error) {
	if record.Type != helmrelease.SecretType {
		return nil, nil
	}
	rel, err := helmrelease.Decode(record.Data[helmrelease.DataKey])
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s: %w", record.Namespace, record.Name, err)
	}
	manifest, kept, changed, err := helmrelease.Keep(rel.Manifest, renders)
	if err != nil {
		return nil, fmt.Errorf("helm release %s revision %d: %w", rel.Name, rel.Version, err)
	}
	if !changed {
		return kept, nil
	}
	rel.Manifest = manifest
	data, err := helmrelease.Encode(rel)
	if err != nil {
		return nil, err
	}
	base := record.DeepCopy()
	record.Data[helmrelease.DataKey] = data
	if err := c.deps.Client.Patch(ctx, record, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}), client.FieldOwner(fieldManager)); err != nil {
		return nil, fmt.Errorf("mark the objects of helm release %s revision %d to be kept on uninstall: %w", rel.Name, rel.Version, err)
	}
	c.event(cn, corev1.EventTypeNormal, ReasonKeptOnUninstall, "MarkHelmRelease",
		"Helm release %s/%s revision %d: uninstalling it keeps the %d objects wharf adopted", record.Namespace, rel.Name, rel.Version, len(kept))
	return kept, nil
}
