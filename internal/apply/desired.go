package apply

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// Desired is one object to apply: either built, or known by its kind,
// name and content digest with a function that builds it, called only when
// the object must be written. A component that reconciles many objects
// whose inputs rarely change (ServiceLB, one DaemonSet per Service) keeps
// their digests and saves building, converting and hashing each unchanged
// one; the Applier decides the same either way.
type Desired struct {
	gvk    schema.GroupVersionKind
	key    types.NamespacedName
	digest string
	obj    *unstructured.Unstructured
	build  func() (*unstructured.Unstructured, error)
}

// Object returns obj as a Desired; its digest is computed when needed.
func Object(obj *unstructured.Unstructured) Desired {
	return Desired{gvk: obj.GroupVersionKind(), key: types.NamespacedName{Namespace: obj.GetNamespace(), Name: obj.GetName()}, obj: obj}
}

// Objects returns each of objs as a Desired, in order.
func Objects(objs ...*unstructured.Unstructured) []Desired {
	out := make([]Desired, len(objs))
	for i, obj := range objs {
		out[i] = Object(obj)
	}
	return out
}

// Deferred returns the object of kind gvk named key whose content digest
// (see Digest) is digest, without building it: build is called when the
// object must be written, and must return an object with that digest.
func Deferred(gvk schema.GroupVersionKind, key types.NamespacedName, digest string, build func() (*unstructured.Unstructured, error)) Desired {
	return Desired{gvk: gvk, key: key, digest: digest, build: build}
}

// Digest returns a stable SHA-256 digest, in hex, of the object's content,
// computing it from the object on first use. The Applier records it, with
// the object's origin, in AppliedHashAnnotation.
func (d *Desired) Digest() (string, error) {
	if d.digest != "" {
		return d.digest, nil
	}
	obj, err := d.Object()
	if err != nil {
		return "", err
	}
	if d.digest, err = hashOf(obj.Object); err != nil {
		return "", fmt.Errorf("hash %s: %w", describe(obj), err)
	}
	return d.digest, nil
}

// Object returns the object, building it on first use.
func (d *Desired) Object() (*unstructured.Unstructured, error) {
	if d.obj != nil {
		return d.obj, nil
	}
	obj, err := d.build()
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", d.describe(), err)
	}
	d.obj = obj
	return obj, nil
}

// metadata returns an empty object of the Desired's kind and name, to read
// the live object's metadata into.
func (d *Desired) metadata() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(d.gvk)
	u.SetNamespace(d.key.Namespace)
	u.SetName(d.key.Name)
	return u
}

func (d *Desired) describe() string { return describeFor(d.gvk, d.key) }

// inventoried reports whether the object is recorded in the inventory (see
// Inventoried).
func (d *Desired) inventoried() bool { return inventoried(d.gvk) }

func (d *Desired) applierKey() string { return keyFor(d.gvk, d.key) }

// appliedDigest is what AppliedHashAnnotation records: the content digest
// together with the origin the Applier records beside it, so that an
// object whose origin changes is applied again.
func appliedDigest(content, origin string) string {
	if origin == "" {
		return content
	}
	sum := sha256.Sum256([]byte(content + "\n" + origin))
	return hex.EncodeToString(sum[:])
}
