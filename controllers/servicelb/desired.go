package servicelb

import (
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/wharf-dev/wharf/internal/apply"
	"github.com/wharf-dev/wharf/internal/render"
)

// desiredDaemonSet is a Service's svclb DaemonSet as wharf applies it.
type desiredDaemonSet struct {
	// key names the DaemonSet.
	key types.NamespacedName
	// digest is its content digest (apply.Desired.Digest).
	digest string
	// obj is the object itself; nil when the digest came from the memo.
	obj *unstructured.Unstructured
}

// daemonSetGVK is the kind of the svclb DaemonSets.
var daemonSetGVK = appsv1.SchemeGroupVersion.WithKind("DaemonSet")

// buildInputs are everything a DaemonSet is built from: the Service (any
// write to it changes its resource version), the ClusterNetworking that
// owns it (its UID and generation) and the node facts.
type buildInputs struct {
	serviceUID, serviceVersion string
	owner                      types.UID
	generation                 int64
	facts                      Facts
}

func inputsOf(svc *corev1.Service, cfg settings, facts Facts) buildInputs {
	in := buildInputs{serviceUID: string(svc.UID), serviceVersion: svc.ResourceVersion, generation: cfg.generation, facts: facts}
	if cfg.owner != nil {
		in.owner = cfg.owner.UID
	}
	return in
}

// buildMemo remembers, per Service, the digest of the DaemonSet last built
// and what it was built from. Reconciling a Service that did not change
// (after a node event, say, every Service is reconciled) then costs no
// rebuild, conversion or hash of its DaemonSet.
type buildMemo struct {
	mu      sync.Mutex
	entries map[types.NamespacedName]buildMemoEntry
}

type buildMemoEntry struct {
	in      buildInputs
	desired desiredDaemonSet
}

// get returns the digest built from in, without the object.
func (m *buildMemo) get(svc types.NamespacedName, in buildInputs) (desiredDaemonSet, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[svc]
	if !ok || e.in != in {
		return desiredDaemonSet{}, false
	}
	return e.desired, true
}

func (m *buildMemo) put(svc types.NamespacedName, in buildInputs, d desiredDaemonSet) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries == nil {
		m.entries = map[types.NamespacedName]buildMemoEntry{}
	}
	d.obj = nil
	m.entries[svc] = buildMemoEntry{in: in, desired: d}
}

// reset forgets everything.
func (m *buildMemo) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries = nil
}

func (m *buildMemo) forget(svc types.NamespacedName) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, svc)
}

// desired returns svc's DaemonSet, known by its digest: from the memo,
// built again only if it must be written, or built now. An error is one
// only a change to the Service can fix.
func (r *Reconciler) desired(svc *corev1.Service, cfg settings, facts Facts) (apply.Desired, types.NamespacedName, error) {
	d, ok := r.built.get(types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}, inputsOf(svc, cfg, facts))
	if !ok {
		var err error
		if d, err = r.build(svc, cfg, facts); err != nil {
			return apply.Desired{}, types.NamespacedName{}, err
		}
	}
	build := func() (*unstructured.Unstructured, error) {
		if d.obj != nil {
			return d.obj, nil
		}
		built, err := r.build(svc, cfg, facts)
		return built.obj, err
	}
	return apply.Deferred(daemonSetGVK, d.key, d.digest, build), d.key, nil
}

// build builds svc's DaemonSet, marked as wharf applies it, and
// remembers its digest.
func (r *Reconciler) build(svc *corev1.Service, cfg settings, facts Facts) (desiredDaemonSet, error) {
	ds, err := BuildDaemonSet(svc, cfg.spec, cfg.cluster, facts)
	if err != nil {
		return desiredDaemonSet{}, err
	}
	obj, err := render.FromTyped(ds)
	if err != nil {
		return desiredDaemonSet{}, err
	}
	apply.Mark(obj, ComponentName)
	o := apply.Object(obj)
	digest, err := o.Digest()
	if err != nil {
		return desiredDaemonSet{}, err
	}
	d := desiredDaemonSet{key: types.NamespacedName{Namespace: obj.GetNamespace(), Name: obj.GetName()}, digest: digest, obj: obj}
	r.built.put(types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}, inputsOf(svc, cfg, facts), d)
	return d, nil
}
