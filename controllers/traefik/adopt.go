package traefik

import (
	"context"
	"fmt"
	"slices"

	"helm.sh/helm/v3/pkg/release"
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
// AfterApply). An object is adopted when wharf renders it and the
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

// recordMark is a release record to be marked: the Secret as read and the
// release with its manifest already marked.
type recordMark struct {
	record *corev1.Secret
	rel    *release.Release
	kept   int
}

// planReleases finds, in every record of each release that
// spec.adoptHelmReleases names, the objects wharf renders (objs), and
// returns them with the records that still lack the mark
// helm.sh/resource-policy: keep on them. It only reads: the records are
// marked by AfterApply, once wharf has applied, and so adopted, what it
// renders. Every record is planned, not only the latest that uninstall
// reads, so that a rollback keeps them too. A release without records
// adopts nothing.
func (c *Component) planReleases(ctx context.Context, cn *v1alpha1.ClusterNetworking, objs []*unstructured.Unstructured) ([]helmrelease.Object, []recordMark, error) {
	spec := &cn.Spec.Traefik
	ns := spec.Namespace
	renders := func(o helmrelease.Object) bool {
		return slices.ContainsFunc(objs, func(obj *unstructured.Unstructured) bool { return o.Is(obj, ns) })
	}
	var adoptable []helmrelease.Object
	var marks []recordMark
	for _, name := range spec.AdoptHelmReleases {
		records := &corev1.SecretList{}
		if err := c.deps.Reader.List(ctx, records, client.InNamespace(ns), client.MatchingLabels(helmrelease.Labels(name))); err != nil {
			return nil, nil, fmt.Errorf("list the records of helm release %s/%s: %w", ns, name, err)
		}
		for i := range records.Items {
			kept, mark, err := planRecord(&records.Items[i], renders)
			if err != nil {
				return nil, nil, err
			}
			adoptable = append(adoptable, kept...)
			if mark != nil {
				marks = append(marks, *mark)
			}
		}
	}
	return adoptable, marks, nil
}

// planRecord returns the objects renders selects in one release record,
// and the record to mark when it lacks a mark on one of them.
func planRecord(record *corev1.Secret, renders func(helmrelease.Object) bool) ([]helmrelease.Object, *recordMark, error) {
	if record.Type != helmrelease.SecretType {
		return nil, nil, nil
	}
	rel, err := helmrelease.Decode(record.Data[helmrelease.DataKey])
	if err != nil {
		return nil, nil, fmt.Errorf("secret %s/%s: %w", record.Namespace, record.Name, err)
	}
	manifest, kept, changed, err := helmrelease.Keep(rel.Manifest, renders)
	if err != nil {
		return nil, nil, fmt.Errorf("helm release %s revision %d: %w", rel.Name, rel.Version, err)
	}
	if !changed {
		return kept, nil, nil
	}
	rel.Manifest = manifest
	return kept, &recordMark{record: record, rel: rel, kept: len(kept)}, nil
}

// AfterApply implements component.AfterApplier: once the objects of the
// releases spec.adoptHelmReleases names are applied, and so adopted, it
// marks them helm.sh/resource-policy: keep in the release records, so that
// `helm uninstall` (what K3s's helm-controller runs for k3s --disable
// traefik) leaves them to wharf. A record changed since Render is not
// overwritten (optimistic lock): the next reconcile plans it again.
func (c *Component) AfterApply(ctx context.Context, cn *v1alpha1.ClusterNetworking) error {
	for _, m := range c.lastRender().marks {
		if err := c.markRecord(ctx, cn, m); err != nil {
			return err
		}
	}
	return nil
}

// markRecord writes one planned mark and records an Event.
func (c *Component) markRecord(ctx context.Context, cn *v1alpha1.ClusterNetworking, m recordMark) error {
	data, err := helmrelease.Encode(m.rel)
	if err != nil {
		return fmt.Errorf("encode helm release %s revision %d: %w", m.rel.Name, m.rel.Version, err)
	}
	record := m.record.DeepCopy()
	record.Data[helmrelease.DataKey] = data
	if err := c.deps.Client.Patch(ctx, record, client.MergeFromWithOptions(m.record, client.MergeFromWithOptimisticLock{}), client.FieldOwner(fieldManager)); err != nil {
		return fmt.Errorf("mark the objects of helm release %s revision %d to be kept on uninstall: %w", m.rel.Name, m.rel.Version, err)
	}
	c.event(cn, corev1.EventTypeNormal, ReasonKeptOnUninstall, "MarkHelmRelease",
		"Helm release %s/%s revision %d: uninstalling it keeps the %d objects wharf adopted", record.Namespace, m.rel.Name, m.rel.Version, m.kept)
	return nil
}

var _ component.AfterApplier = (*Component)(nil)
