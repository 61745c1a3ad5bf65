package apply

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Applier applies objects with server-side apply under one field manager.
// It is safe for concurrent use.
type Applier struct {
	client       client.Client
	reader       client.Reader
	fieldManager string

	mu   sync.Mutex
	memo map[string]applied

	throttle *throttle
}

// applied is what the Applier remembers of its last apply of one object.
type applied struct {
	uid     types.UID
	desired string // hash of the applied configuration
	owned   string // hash of the fields the manager owned afterwards
}

// New returns an Applier that writes through c and reads live metadata
// through reader (an uncached reader or a cache that holds the objects).
func New(c client.Client, reader client.Reader, fieldManager string) *Applier {
	return &Applier{client: c, reader: reader, fieldManager: fieldManager, memo: map[string]applied{}, throttle: newThrottle()}
}

// applyNow applies obj, known to the Applier by key, with desired (its
// digest with origin, see appliedDigest) and origin recorded in its
// annotations, without looking at the live object again; liveVersion is
// the resource version the object had before, if it existed: an apply
// that leaves it unchanged is no rewrite. Writing the same content to one
// object again and again (another writer keeps changing it) is throttled:
// the write is not sent and a *ThrottledError says when to try again.
func (a *Applier) applyNow(ctx context.Context, obj *unstructured.Unstructured, key, desired, origin, liveVersion string) error {
	if wait, rewrites, ok := a.throttle.admit(key, desired); !ok {
		return &ThrottledError{Object: describe(obj), Rewrites: rewrites, After: wait}
	}
	out := obj.DeepCopy()
	annotations := out.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[AppliedHashAnnotation] = desired
	if origin != "" {
		annotations[OriginAnnotation] = origin
	}
	out.SetAnnotations(annotations)
	if err := a.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(out),
		client.FieldOwner(a.fieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("apply %s: %w", describe(obj), err)
	}
	a.throttle.record(key, desired, liveVersion, out.GetResourceVersion())
	a.remember(key, desired, out)
	return nil
}

// Key returns the key the Applier knows obj by: its group, kind,
// namespace and name.
func Key(obj client.Object) string { return keyOf(obj) }

// forget drops what the Applier remembers of obj, so the next Apply writes.
func (a *Applier) forget(obj client.Object) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.memo, keyOf(obj))
}

func (a *Applier) unchanged(key, desired string, live metav1.Object) bool {
	a.mu.Lock()
	m, ok := a.memo[key]
	a.mu.Unlock()
	if ok {
		return m.uid == live.GetUID() && m.desired == desired && m.owned == ownedFields(live, a.fieldManager)
	}
	// Nothing remembered (the manager restarted): trust the object if it
	// holds what is desired, as recorded by the last apply, and no other
	// manager wrote it since. Then remember it like an apply would.
	if live.GetAnnotations()[AppliedHashAnnotation] != desired || touchedSinceApply(live, a.fieldManager) {
		return false
	}
	a.remember(key, desired, live)
	return true
}

// touchedSinceApply reports whether the object lacks an apply by manager,
// or another manager wrote the object itself (not a subresource such as
// status) at or after that apply. Managed-field times have a resolution of
// a second, so a write in the same second counts as after.
func touchedSinceApply(obj metav1.Object, manager string) bool {
	var applied *metav1.Time
	for _, mf := range obj.GetManagedFields() {
		if mf.Manager == manager && mf.Operation == metav1.ManagedFieldsOperationApply && mf.Subresource == "" {
			applied = mf.Time
		}
	}
	if applied == nil {
		return true
	}
	for _, mf := range obj.GetManagedFields() {
		if mf.Manager == manager || mf.Subresource != "" {
			continue
		}
		if mf.Time == nil || !mf.Time.Before(applied) {
			return true
		}
	}
	return false
}

func (a *Applier) remember(key, desired string, live metav1.Object) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.memo[key] = applied{uid: live.GetUID(), desired: desired, owned: ownedFields(live, a.fieldManager)}
}

// ownedFields hashes the fields manager owns through Apply operations. A
// field set CompactFieldSets replaced by its digest hashes the same as the
// field set itself.
func ownedFields(obj metav1.Object, manager string) string {
	h := sha256.New()
	for _, mf := range obj.GetManagedFields() {
		if mf.Manager != manager || mf.Operation != metav1.ManagedFieldsOperationApply || mf.FieldsV1 == nil {
			continue
		}
		h.Write([]byte(mf.APIVersion))
		h.Write([]byte(mf.Subresource))
		h.Write(fieldSetDigest(mf.FieldsV1.GetRawBytes()))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// fieldSetDigestPrefix starts a field set CompactFieldSets replaced; a real
// field set is a JSON object and starts with "{".
const fieldSetDigestPrefix = "sha256:"

func fieldSetDigest(raw []byte) []byte {
	if bytes.HasPrefix(raw, []byte(fieldSetDigestPrefix)) {
		return raw
	}
	sum := sha256.Sum256(raw)
	return []byte(fieldSetDigestPrefix + hex.EncodeToString(sum[:]))
}

// CompactFieldSets replaces the field sets of manager's Apply entries in
// obj's managed fields by their digests: all the Applier reads of them. A
// cache transform uses it for objects the Applier checks from a cache,
// whose field sets are often the largest part of what is cached.
func CompactFieldSets(obj metav1.Object, manager string) {
	mfs := obj.GetManagedFields()
	for i := range mfs {
		if mfs[i].Manager == manager && mfs[i].Operation == metav1.ManagedFieldsOperationApply && mfs[i].FieldsV1 != nil {
			mfs[i].FieldsV1 = metav1.NewFieldsV1(string(fieldSetDigest(mfs[i].FieldsV1.GetRawBytes())))
		}
	}
}

func hashOf(v any) (string, error) {
	// encoding/json sorts map keys, so the encoding is stable.
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

func keyOf(obj client.Object) string {
	return keyFor(obj.GetObjectKind().GroupVersionKind(), client.ObjectKeyFromObject(obj))
}

// keyFor is the key the Applier knows the object of kind gvk named key by.
func keyFor(gvk schema.GroupVersionKind, key types.NamespacedName) string {
	return gvk.Group + "/" + gvk.Kind + "/" + key.Namespace + "/" + key.Name
}

func describe(obj client.Object) string {
	return describeFor(obj.GetObjectKind().GroupVersionKind(), client.ObjectKeyFromObject(obj))
}

// describeFor names the object of kind gvk named key as in "Deployment
// kube-system/coredns", or "ClusterRole system:coredns" without a namespace.
func describeFor(gvk schema.GroupVersionKind, key types.NamespacedName) string {
	if key.Namespace == "" {
		return gvk.Kind + " " + key.Name
	}
	return gvk.Kind + " " + key.Namespace + "/" + key.Name
}

// Delete deletes obj with background propagation (its dependents go
// after it) and forgets what the Applier remembers of it. It reports
// whether obj was deleted; one already gone is not, and is no error.
func (a *Applier) Delete(ctx context.Context, obj client.Object) (bool, error) {
	err := a.client.Delete(ctx, obj, client.PropagationPolicy(metav1.DeletePropagationBackground))
	a.forget(obj)
	a.throttle.forget(keyOf(obj))
	switch {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("delete %s: %w", describe(obj), err)
	}
	return true, nil
}
