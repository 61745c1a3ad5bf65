package apply

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
)

// ApplyOptions say for whom objects are applied and what may be taken over.
type ApplyOptions struct {
	// Component is the component the objects are applied for; they carry
	// its label (see Mark).
	Component string
	// Inventory is what the component applied before.
	Inventory []v1alpha1.InventoryEntry
	// Adopt reports whether the component takes over obj when it exists
	// and wharf did not create it, as CoreDNS takes over the objects K3s
	// or kubeadm created. Nil adopts nothing.
	Adopt func(obj *unstructured.Unstructured) bool
}

// ApplyAll applies objs, in order, for one component. First it reads every
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
// listing them all. Otherwise each object is applied unless unchanged, and
// the ChangeSet says what happened to each, also when an apply fails. An
// object whose rewrites are throttled is skipped and the others applied;
// the error is then the *ThrottledError that ends soonest.
func (a *Applier) ApplyAll(ctx context.Context, objs []*unstructured.Unstructured, opts ApplyOptions) (*ChangeSet, error) {
	held := make(map[string]bool, len(opts.Inventory))
	for _, e := range opts.Inventory {
		held[identity(e)] = true
	}
	type plan struct {
		obj    *unstructured.Unstructured
		live   *metav1.PartialObjectMetadata
		origin string
	}
	plans := make([]plan, 0, len(objs))
	var conflicts []Conflict
	for _, obj := range objs {
		live := &metav1.PartialObjectMetadata{}
		live.SetGroupVersionKind(obj.GroupVersionKind())
		switch err := a.reader.Get(ctx, client.ObjectKeyFromObject(obj), live); {
		case apierrors.IsNotFound(err), isNoMatch(err):
			// No such kind yet: its CustomResourceDefinition is applied
			// earlier in objs, so no such object can exist.
			live = nil
		case err != nil:
			return &ChangeSet{}, fmt.Errorf("read %s: %w", describe(obj), err)
		}
		if !Inventoried(obj) {
			plans = append(plans, plan{obj: obj, live: live})
			continue
		}
		origin, conflict := a.decide(obj, live, opts, held)
		if conflict != nil {
			conflicts = append(conflicts, *conflict)
			continue
		}
		plans = append(plans, plan{obj: obj, live: live, origin: origin})
	}
	if len(conflicts) > 0 {
		return &ChangeSet{}, &ConflictError{Conflicts: conflicts}
	}
	cs := &ChangeSet{}
	var throttled *ThrottledError
	for _, p := range plans {
		if !Inventoried(p.obj) {
			action, err := a.ensureNamespace(ctx, p.obj, p.live)
			if err != nil {
				return cs, err
			}
			cs.add(describe(p.obj), action)
			continue
		}
		annotations := p.obj.GetAnnotations()
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[OriginAnnotation] = p.origin
		p.obj.SetAnnotations(annotations)
		desired, err := hashOf(p.obj.Object)
		if err != nil {
			return cs, fmt.Errorf("hash %s: %w", describe(p.obj), err)
		}
		if p.live != nil && a.unchanged(keyOf(p.obj), desired, p.live) {
			if err := a.takeFromObjectSet(ctx, p.live, p.origin); err != nil {
				return cs, err
			}
			cs.add(describe(p.obj), Unchanged)
			continue
		}
		liveVersion := ""
		if p.live != nil {
			liveVersion = p.live.GetResourceVersion()
		}
		if err := a.applyNow(ctx, p.obj, desired, liveVersion); err != nil {
			var t *ThrottledError
			if !errors.As(err, &t) {
				return cs, err
			}
			// A throttled object waits; the others are applied meanwhile.
			if throttled == nil || t.After < throttled.After {
				throttled = t
			}
			cs.add(describe(p.obj), Throttled)
			continue
		}
		if err := a.takeFromObjectSet(ctx, p.live, p.origin); err != nil {
			return cs, err
		}
		switch {
		case p.live == nil:
			cs.add(describe(p.obj), Created)
		case p.origin == OriginAdopted && !IsWharfs(p.live.GetLabels()):
			cs.add(describe(p.obj), Adopted)
		default:
			cs.add(describe(p.obj), Configured)
		}
	}
	if throttled != nil {
		return cs, throttled
	}
	return cs, nil
}

// decide returns the origin to record for obj, whose live metadata is
// live (nil when it does not exist), or why the component may not apply it.
func (a *Applier) decide(obj *unstructured.Unstructured, live *metav1.PartialObjectMetadata, opts ApplyOptions, held map[string]bool) (string, *Conflict) {
	if live == nil {
		return OriginCreated, nil
	}
	labels := live.GetLabels()
	if IsWharfs(labels) && labels[ComponentLabel] != opts.Component {
		return "", &Conflict{Object: describe(obj), Claimant: opts.Component,
			Holder: fmt.Sprintf("the %s component holds it", labels[ComponentLabel])}
	}
	if IsWharfs(labels) || held[keyOf(obj)] {
		return originOf(live, a.fieldManager), nil
	}
	if opts.Adopt != nil && opts.Adopt(obj) {
		return OriginAdopted, nil
	}
	return "", &Conflict{Object: describe(obj), Claimant: opts.Component,
		Holder: "it exists and wharf did not create it (wharf never takes over objects it did not create)"}
}

// takeFromObjectSet removes K3s's objectset markers from an adopted
// object once wharf applied it (or found it applied), so that disabling
// the component in K3s does not delete what wharf now runs. Objects wharf
// created are never touched.
func (a *Applier) takeFromObjectSet(ctx context.Context, live *metav1.PartialObjectMetadata, origin string) error {
	if live == nil || origin != OriginAdopted {
		return nil
	}
	return a.dropObjectSetMarkers(ctx, live)
}

// Inventoried reports whether obj, once applied, is recorded in the
// inventory and so changed, released or deleted by wharf later. Namespaces
// are not: wharf only creates one that is missing (as K3s does for
// ServiceLB's), never changes one, and never deletes one, since deleting
// a Namespace deletes everything in it, which wharf did not all create.
// This also keeps the manager's rights on Namespaces to get and create.
func Inventoried(obj client.Object) bool {
	gvk := obj.GetObjectKind().GroupVersionKind()
	return gvk.Group != "" || gvk.Kind != "Namespace"
}

// ensureNamespace creates the Namespace obj names when live says it does
// not exist, without wharf's labels (wharf does not hold it afterwards).
func (a *Applier) ensureNamespace(ctx context.Context, obj *unstructured.Unstructured, live *metav1.PartialObjectMetadata) (Action, error) {
	if live != nil {
		return Unchanged, nil
	}
	ns := &unstructured.Unstructured{}
	ns.SetGroupVersionKind(obj.GroupVersionKind())
	ns.SetName(obj.GetName())
	if err := a.client.Create(ctx, ns, client.FieldOwner(a.fieldManager)); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("create %s: %w", describe(obj), err)
	}
	return Created, nil
}
