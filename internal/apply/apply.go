package apply

import (
	"context"
	"errors"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
)

// ApplyOptions say for whom objects are applied, what may be taken over
// and where the live objects are read.
type ApplyOptions struct {
	// Component is the component the objects are applied for; they carry
	// its label (see Mark).
	Component string
	// Inventory is what the component applied before.
	Inventory []v1alpha1.InventoryEntry
	// Adopt reports whether the component takes over obj, whose live
	// metadata is live, when it exists and wharf did not create it, as
	// CoreDNS takes over the objects K3s or kubeadm created. Nil adopts
	// nothing.
	Adopt func(obj *unstructured.Unstructured, live metav1.Object) bool
	// Live reads the live objects' metadata; nil reads them from the API
	// server through the Applier's reader. A cache may hold only part of a
	// kind (the manager caches wharf's DaemonSets only) and lag behind: an
	// object it does not show is read again through the Applier's reader,
	// so that one someone else created is not taken for a new one, one
	// deleted since is created again and one just created is not created
	// twice. That read costs one request per object created.
	Live client.Reader
	// DropLabels are label keys the component never sets and removes from
	// the objects it applies when another manager set them (K3s's
	// svccontroller.k3s.cattle.io/nodeselector on the svclb DaemonSets
	// wharf takes over), in the merge patch that also removes K3s's
	// objectset markers from adopted objects.
	DropLabels []string
}

// plan is one object as Apply found it: its live metadata (nil when it
// does not exist) and the origin to record.
type plan struct {
	desired Desired
	live    *metav1.PartialObjectMetadata
	origin  string
}

// Apply applies objs, in order, for one component. First it reads every
// object and decides whether the component may apply it:
//
//   - a Namespace is created, by name only, when it does not exist, and
//     otherwise left as it is (see Inventoried);
//   - an object that does not exist is created (and recorded as created);
//   - an object the component applied before (in its inventory or with its
//     labels) is applied again;
//   - an object another wharf component holds is a Conflict;
//   - any other existing object, created by someone else, is a Conflict,
//     unless opts.Adopt takes it over (recorded as adopted). An adopted
//     object loses the objectset markers of K3s's deploy controller, in
//     one merge patch after the apply, so that disabling the component in
//     K3s no longer deletes it.
//
// With any Conflict nothing is written and the error is a *ConflictError
// listing them all. Otherwise each object is applied unless unchanged
// (then a Deferred object is never built), and the ChangeSet says what
// happened to each, in order, also when an apply fails. An object whose
// rewrites are throttled is skipped and the others applied; the error is
// then the *ThrottledError that ends soonest.
func (a *Applier) Apply(ctx context.Context, objs []Desired, opts ApplyOptions) (*ChangeSet, error) {
	plans, err := a.plan(ctx, objs, opts)
	if err != nil {
		return &ChangeSet{}, err
	}
	cs := &ChangeSet{Entries: make([]Change, 0, len(plans))}
	var throttled *ThrottledError
	for i := range plans {
		action, err := a.applyOne(ctx, &plans[i], opts)
		var t *ThrottledError
		switch {
		case errors.As(err, &t):
			// A throttled object waits; the others are applied meanwhile.
			if throttled == nil || t.After < throttled.After {
				throttled = t
			}
		case err != nil:
			return cs, err
		}
		cs.add(plans[i].desired.describe(), action)
	}
	if throttled != nil {
		return cs, throttled
	}
	return cs, nil
}

// plan reads every object's live metadata and decides its origin, or
// returns the Conflicts.
func (a *Applier) plan(ctx context.Context, objs []Desired, opts ApplyOptions) ([]plan, error) {
	held := make(map[string]bool, len(opts.Inventory))
	for _, e := range opts.Inventory {
		held[identity(e)] = true
	}
	plans := make([]plan, 0, len(objs))
	var conflicts []Conflict
	for _, d := range objs {
		live, err := a.readLive(ctx, &d, opts.Live)
		if err != nil {
			return nil, err
		}
		p := plan{desired: d, live: live}
		if d.inventoried() {
			var conflict *Conflict
			if p.origin, conflict, err = a.decide(&p.desired, live, opts, held); err != nil {
				return nil, err
			}
			if conflict != nil {
				conflicts = append(conflicts, *conflict)
				continue
			}
		}
		plans = append(plans, p)
	}
	if len(conflicts) > 0 {
		return nil, &ConflictError{Conflicts: conflicts}
	}
	return plans, nil
}

// readLive reads d's live metadata through live (the Applier's reader when
// nil), or returns nil when the object does not exist.
func (a *Applier) readLive(ctx context.Context, d *Desired, live client.Reader) (*metav1.PartialObjectMetadata, error) {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(d.gvk)
	var err error
	if live == nil {
		err = a.reader.Get(ctx, d.key, m)
	} else {
		// Read without a copy (ServiceLB reads a DaemonSet's metadata on
		// each of its 50 reconciles per Service): Apply never changes live,
		// and the shallow copy's kind is its own to set.
		err = live.Get(ctx, d.key, m, client.UnsafeDisableDeepCopy)
		m.SetGroupVersionKind(d.gvk)
	}
	if apierrors.IsNotFound(err) && live != nil {
		// The cache does not show the object: it does not exist, the
		// cache lags or holds only part of the kind. The API server says.
		m = &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(d.gvk)
		err = a.reader.Get(ctx, d.key, m)
	}
	switch {
	case apierrors.IsNotFound(err), isNoMatch(err):
		// No such kind yet: its CustomResourceDefinition is applied
		// earlier in objs, so no such object can exist.
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", d.describe(), err)
	}
	return m, nil
}

// applyOne applies one planned object unless it is unchanged, then tidies
// its metadata (see tidy).
func (a *Applier) applyOne(ctx context.Context, p *plan, opts ApplyOptions) (Action, error) {
	if !p.desired.inventoried() {
		return a.ensureNamespace(ctx, &p.desired, p.live)
	}
	content, err := p.desired.Digest()
	if err != nil {
		return "", err
	}
	desired := appliedDigest(content, p.origin)
	key := p.desired.applierKey()
	if p.live != nil && a.unchanged(key, desired, p.live) {
		return Unchanged, a.tidy(ctx, p.live, p.origin, opts.DropLabels)
	}
	obj, err := p.desired.Object()
	if err != nil {
		return "", err
	}
	liveVersion := ""
	if p.live != nil {
		liveVersion = p.live.GetResourceVersion()
	}
	if err := a.applyNow(ctx, obj, key, desired, p.origin, liveVersion); err != nil {
		var t *ThrottledError
		if errors.As(err, &t) {
			return Throttled, err
		}
		return "", err
	}
	if err := a.tidy(ctx, p.live, p.origin, opts.DropLabels); err != nil {
		return "", err
	}
	switch {
	case p.live == nil:
		return Created, nil
	case p.origin == OriginAdopted && !IsWharfs(p.live.GetLabels()):
		return Adopted, nil
	default:
		return Configured, nil
	}
}

// decide returns the origin to record for d, whose live metadata is
// live (nil when it does not exist), or why the component may not apply it.
// A Deferred object is built only to ask opts.Adopt about it.
func (a *Applier) decide(d *Desired, live *metav1.PartialObjectMetadata, opts ApplyOptions, held map[string]bool) (string, *Conflict, error) {
	if live == nil {
		return OriginCreated, nil, nil
	}
	labels := live.GetLabels()
	if IsWharfs(labels) && labels[ComponentLabel] != opts.Component {
		return "", &Conflict{Object: d.describe(), Claimant: opts.Component,
			Holder: fmt.Sprintf("the %s component holds it", labels[ComponentLabel])}, nil
	}
	if IsWharfs(labels) || held[d.applierKey()] {
		return originOf(live, a.fieldManager), nil, nil
	}
	if opts.Adopt != nil {
		obj, err := d.Object()
		if err != nil {
			return "", nil, err
		}
		if opts.Adopt(obj, live) {
			return OriginAdopted, nil, nil
		}
	}
	return "", &Conflict{Object: d.describe(), Claimant: opts.Component,
		Holder: "it exists and wharf did not create it (wharf never takes over objects it did not create)"}, nil
}

// tidy removes, in one JSON merge patch, K3s's objectset markers from an
// adopted object once wharf applied it (or found it applied), so that
// disabling the component in K3s does not delete what wharf now runs, and
// the labels of dropLabels that live has. Nothing is written when there
// is nothing to remove; an object wharf created keeps its markers (it has
// none of K3s's).
func (a *Applier) tidy(ctx context.Context, live *metav1.PartialObjectMetadata, origin string, dropLabels []string) error {
	if live == nil {
		return nil
	}
	var labels, annotations []string
	if origin == OriginAdopted {
		labels, annotations = ObjectSetMarkers(live)
	}
	for _, k := range dropLabels {
		if _, ok := live.GetLabels()[k]; ok && !slices.Contains(labels, k) {
			labels = append(labels, k)
		}
	}
	return a.removeMetadata(ctx, live, labels, annotations)
}

// Inventoried reports whether obj, once applied, is recorded in the
// inventory and so changed, released or deleted by wharf later. Namespaces
// are not: wharf only creates one that is missing (as K3s does for
// ServiceLB's), never changes one, and never deletes one, since deleting
// a Namespace deletes everything in it, which wharf did not all create.
// This also keeps the manager's rights on Namespaces to get and create.
func Inventoried(obj client.Object) bool { return inventoried(obj.GetObjectKind().GroupVersionKind()) }

func inventoried(gvk schema.GroupVersionKind) bool { return gvk.Group != "" || gvk.Kind != "Namespace" }

// ensureNamespace creates the Namespace d names when live says it does
// not exist, without wharf's labels (wharf does not hold it afterwards).
func (a *Applier) ensureNamespace(ctx context.Context, d *Desired, live *metav1.PartialObjectMetadata) (Action, error) {
	if live != nil {
		return Unchanged, nil
	}
	ns := d.metadata()
	if err := a.client.Create(ctx, ns, client.FieldOwner(a.fieldManager)); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("create %s: %w", d.describe(), err)
	}
	return Created, nil
}
