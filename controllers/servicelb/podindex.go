package servicelb

import (
	"context"
	"fmt"
	"unique"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// svclbPod is what ServiceLB keeps of one svclb pod: which Service and
// DaemonSet it belongs to, the node it is for, whether it is Ready and, while
// the scheduler refuses it, why. With every node serving, a cluster runs N×M
// svclb pods and the manager watches them all: a corev1.Pod, even stripped,
// costs about 2.3 KiB in memory (its struct alone is 1.2 KiB), a record a
// few hundred bytes; the manager's RSS grows by 1.6 MiB per 1,000 svclb
// pods instead of 4.9 (make bench POOL=all, docs/performance.md). Strings
// repeated across pods (namespaces, Services, DaemonSets, nodes) are
// interned.
type svclbPod struct {
	// ObjectMeta holds only the name, namespace and deletion timestamp; it
	// makes the record a client.Object for controller-runtime's handlers.
	metav1.ObjectMeta
	// Service is the Service the pod serves, from its svccontroller labels.
	Service types.NamespacedName
	// DaemonSet is the name of its DaemonSet (the pod's app label).
	DaemonSet string
	// Node is the node the pod runs on or, while it is not scheduled, the
	// node the DaemonSet controller made it for.
	Node string
	// Bound is set once the pod is scheduled (spec.nodeName).
	Bound bool
	// Ready is set when the pod has Ready=True and a pod IP.
	Ready bool
	// Refused is the PodScheduled condition while it is False.
	Refused *corev1.PodCondition
}

// GetObjectKind implements runtime.Object: the record has no kind.
func (p *svclbPod) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject implements runtime.Object.
func (p *svclbPod) DeepCopyObject() runtime.Object {
	out := *p
	p.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	if p.Refused != nil {
		out.Refused = p.Refused.DeepCopy()
	}
	return &out
}

// intern returns s, sharing its memory with every equal string interned.
func intern(s string) string { return unique.Make(s).Value() }

// podRecord returns the record of a svclb pod.
func podRecord(pod *corev1.Pod) *svclbPod {
	rec := &svclbPod{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: intern(pod.Namespace), DeletionTimestamp: pod.DeletionTimestamp},
		DaemonSet:  intern(pod.Labels[AppLabel]),
		Node:       intern(podTargetNode(pod)),
		Bound:      pod.Spec.NodeName != "",
	}
	if key, ok := serviceKeyOf(pod.Labels); ok {
		rec.Service = types.NamespacedName{Namespace: intern(key.Namespace), Name: intern(key.Name)}
	}
	for i := range pod.Status.Conditions {
		c := &pod.Status.Conditions[i]
		switch {
		case c.Type == corev1.PodReady:
			rec.Ready = c.Status == corev1.ConditionTrue && pod.Status.PodIP != ""
		case c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse:
			rec.Refused = &corev1.PodCondition{Type: c.Type, Status: c.Status, Reason: c.Reason, Message: c.Message}
		}
	}
	return rec
}

// podTargetNode returns the node a pod runs on or, for a DaemonSet pod not
// scheduled yet, the node the DaemonSet controller made it for.
func podTargetNode(pod *corev1.Pod) string {
	if pod.Spec.NodeName != "" {
		return pod.Spec.NodeName
	}
	aff := pod.Spec.Affinity
	if aff == nil || aff.NodeAffinity == nil || aff.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return ""
	}
	for _, term := range aff.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, f := range term.MatchFields {
			if f.Key == "metadata.name" && f.Operator == corev1.NodeSelectorOpIn && len(f.Values) == 1 {
				return f.Values[0]
			}
		}
	}
	return ""
}

// toPodRecord is the informer's transform: pods become records before
// they are stored or handed to handlers.
func toPodRecord(obj any) (any, error) {
	if pod, ok := obj.(*corev1.Pod); ok {
		return podRecord(pod), nil
	}
	return obj, nil
}

// byServiceIndex indexes records by "namespace/name" of their Service.
const byServiceIndex = "service"

// PodIndex watches the svclb pods of the cluster (pods with the
// svccontroller.k3s.cattle.io/svcname label, in every namespace) and keeps
// a svclbPod record of each, indexed by Service. It is client-go's shared
// informer with a transform: the manager's cache does not hold pods at all.
type PodIndex struct {
	informer toolscache.SharedIndexInformer
}

// NewPodIndex returns the index of the svclb pods cfg's API server serves;
// Start fills it. Its client asks for protobuf and decodes only the fields
// a record keeps (slimPods).
func NewPodIndex(cfg *rest.Config) (*PodIndex, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.ContentType = runtime.ContentTypeProtobuf
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	cfg.APIPath = "/api"
	cfg.GroupVersion = &corev1.SchemeGroupVersion
	cfg.NegotiatedSerializer = newSlimPods()
	if cfg.UserAgent == "" {
		cfg.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	rc, err := rest.RESTClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("client for the svclb pod index: %w", err)
	}
	lw := toolscache.NewFilteredListWatchFromClient(rc, "pods", metav1.NamespaceAll,
		func(o *metav1.ListOptions) { o.LabelSelector = SvcNameLabel })
	return newPodIndex(lw), nil
}

func newPodIndex(lw toolscache.ListerWatcher) *PodIndex {
	inf := toolscache.NewSharedIndexInformer(lw, &corev1.Pod{}, 0, toolscache.Indexers{
		byServiceIndex: func(obj any) ([]string, error) {
			if rec, ok := obj.(*svclbPod); ok && rec.Service.Name != "" {
				return []string{rec.Service.String()}, nil
			}
			return nil, nil
		},
	})
	// Set before the informer runs: it cannot fail then.
	_ = inf.SetTransform(toPodRecord)
	return &PodIndex{informer: inf}
}

// Start runs the informer until ctx ends (a manager Runnable).
func (x *PodIndex) Start(ctx context.Context) error {
	x.informer.RunWithContext(ctx)
	return nil
}

// NeedLeaderElection implements manager.LeaderElectionRunnable: every
// replica watches, as its cache does.
func (x *PodIndex) NeedLeaderElection() bool { return false }

// Of returns the records of the pods serving svc. They are the index's
// own: read them, never change them.
func (x *PodIndex) Of(svc types.NamespacedName) []*svclbPod {
	objs, _ := x.informer.GetIndexer().ByIndex(byServiceIndex, svc.String())
	return records(objs)
}

// Starting reports whether a pod of svc made by the DaemonSet ds (in
// namespace ns) is still starting in the index: neither Ready, nor being
// deleted, nor refused by the scheduler (podStarting).
func (x *PodIndex) Starting(svc types.NamespacedName, ns, ds string) bool {
	objs, _ := x.informer.GetIndexer().ByIndex(byServiceIndex, svc.String())
	for _, o := range objs {
		if p, ok := o.(*svclbPod); ok && p.Namespace == ns && p.DaemonSet == ds && podStarting(p) {
			return true
		}
	}
	return false
}

// All returns the records of every svclb pod, read-only as Of's.
func (x *PodIndex) All() []*svclbPod { return records(x.informer.GetIndexer().List()) }

func records(objs []any) []*svclbPod {
	out := make([]*svclbPod, 0, len(objs))
	for _, o := range objs {
		if rec, ok := o.(*svclbPod); ok {
			out = append(out, rec)
		}
	}
	return out
}

// Source returns the controller source of svclb pod events: handler
// receives the records (*svclbPod) that pass predicates, and the
// controller starts no worker before the index has listed every pod (a
// Service reconciled against an empty index would lose its ingress).
func (x *PodIndex) Source(h handler.EventHandler, predicates ...predicate.Predicate) source.SyncingSource {
	return &podSource{index: x, Informer: source.Informer{Informer: x.informer, Handler: h, Predicates: predicates}}
}

type podSource struct {
	source.Informer
	index *PodIndex
}

// WaitForSync implements source.SyncingSource.
func (s *podSource) WaitForSync(ctx context.Context) error {
	if !toolscache.WaitForCacheSync(ctx.Done(), s.index.informer.HasSynced) {
		return fmt.Errorf("the svclb pod index did not sync: %w", ctx.Err())
	}
	return nil
}

var _ client.Object = &svclbPod{}
