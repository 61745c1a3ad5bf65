package servicelb

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
)

// slimPods is the serializer of the svclb pod index's client. Protobuf
// Pods and PodLists are decoded into Pods that carry only what podRecord
// and the informer read (name, namespace, resource version, deletion
// timestamp, ServiceLB's labels, the initial-events-end annotation of a
// watch-list bookmark, the node name, the node the DaemonSet controller
// pinned the pod to, the Ready and PodScheduled conditions and the pod
// IP); every other kind and media type is decoded by client-go's own
// serializers.
//
// Why not client-go's decoder: with every node serving, the index receives
// every svclb pod's creation, binding and readiness (75,000 events for 500
// Services on 50 nodes), and decoding each into a full Pod, managed fields
// and container specs included, was 61% of everything the manager
// allocated and, with the garbage collection it caused, the largest part
// of its CPU (make bench POOL=all, docs/performance.md). The field numbers
// are those of k8s.io/api's core/v1/generated.proto and k8s.io/apimachinery's
// meta/v1 and runtime generated.proto.
type slimPods struct{ runtime.NegotiatedSerializer }

func newSlimPods() slimPods { return slimPods{scheme.Codecs.WithoutConversion()} }

// SupportedMediaTypes implements runtime.NegotiatedSerializer.
func (s slimPods) SupportedMediaTypes() []runtime.SerializerInfo {
	infos := s.NegotiatedSerializer.SupportedMediaTypes()
	out := make([]runtime.SerializerInfo, len(infos))
	for i, info := range infos {
		if info.MediaType == runtime.ContentTypeProtobuf {
			info.Serializer = slimPodDecoder{info.Serializer}
		}
		out[i] = info
	}
	return out
}

// slimPodDecoder decodes protobuf Pods and PodLists into slim Pods and
// leaves every other kind to the Serializer it wraps.
type slimPodDecoder struct{ runtime.Serializer }

// protobufPrefix starts every protobuf object the API server sends
// (k8s.io/apimachinery runtime/serializer/protobuf).
var protobufPrefix = []byte{0x6b, 0x38, 0x73, 0x00}

// Decode implements runtime.Decoder.
func (d slimPodDecoder) Decode(data []byte, defaults *schema.GroupVersionKind, into runtime.Object) (runtime.Object, *schema.GroupVersionKind, error) {
	apiVersion, kind, raw, err := unknownOf(data)
	if err != nil || apiVersion != "v1" || (kind != "Pod" && kind != "PodList") {
		return d.Serializer.Decode(data, defaults, into)
	}
	gvk := corev1.SchemeGroupVersion.WithKind(kind)
	if kind == "Pod" {
		pod, err := slimPod(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("decode pod: %w", err)
		}
		if out, ok := into.(*corev1.Pod); ok {
			*out = *pod
			return out, &gvk, nil
		}
		return pod, &gvk, nil
	}
	list, err := slimPodList(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("decode pod list: %w", err)
	}
	if out, ok := into.(*corev1.PodList); ok {
		*out = *list
		return out, &gvk, nil
	}
	return list, &gvk, nil
}

// unknownOf reads the runtime.Unknown envelope of a protobuf object:
// typeMeta = 1 (apiVersion = 1, kind = 2), raw = 2.
func unknownOf(data []byte) (apiVersion, kind string, raw []byte, err error) {
	if !bytes.HasPrefix(data, protobufPrefix) {
		return "", "", nil, errors.New("not a protobuf object")
	}
	err = eachField(data[len(protobufPrefix):], func(num protowire.Number, v []byte, _ uint64) error {
		switch num {
		case 1:
			return eachField(v, func(num protowire.Number, v []byte, _ uint64) error {
				switch num {
				case 1:
					apiVersion = string(v)
				case 2:
					kind = string(v)
				}
				return nil
			})
		case 2:
			raw = v
		}
		return nil
	})
	return apiVersion, kind, raw, err
}

// slimPodList decodes a PodList: metadata = 1 (resourceVersion = 2,
// continue = 3, remainingItemCount = 4), items = 2.
func slimPodList(b []byte) (*corev1.PodList, error) {
	list := &corev1.PodList{}
	err := eachField(b, func(num protowire.Number, v []byte, _ uint64) error {
		switch num {
		case 1:
			return eachField(v, func(num protowire.Number, v []byte, u uint64) error {
				switch num {
				case 2:
					list.ResourceVersion = string(v)
				case 3:
					list.Continue = string(v)
				case 4:
					n := int64(u)
					list.RemainingItemCount = &n
				}
				return nil
			})
		case 2:
			pod, err := slimPod(v)
			if err != nil {
				return err
			}
			list.Items = append(list.Items, *pod)
		}
		return nil
	})
	return list, err
}

// slimPod decodes a Pod: metadata = 1, spec = 2, status = 3.
func slimPod(b []byte) (*corev1.Pod, error) {
	pod := &corev1.Pod{}
	err := eachField(b, func(num protowire.Number, v []byte, _ uint64) error {
		switch num {
		case 1:
			return slimObjectMeta(v, &pod.ObjectMeta)
		case 2:
			return slimPodSpec(v, &pod.Spec)
		case 3:
			return slimPodStatus(v, &pod.Status)
		}
		return nil
	})
	return pod, err
}

// slimObjectMeta decodes name = 1, namespace = 3, resourceVersion = 6,
// deletionTimestamp = 9, ServiceLB's labels (11) and the initial-events-end
// annotation (12).
func slimObjectMeta(b []byte, m *metav1.ObjectMeta) error {
	return eachField(b, func(num protowire.Number, v []byte, _ uint64) error {
		switch num {
		case 1:
			m.Name = string(v)
		case 3:
			m.Namespace = intern(string(v))
		case 6:
			m.ResourceVersion = string(v)
		case 9:
			t, err := timeOf(v)
			m.DeletionTimestamp = &t
			return err
		case 11:
			return keepEntry(v, &m.Labels, SvcNameLabel, SvcNamespaceLabel, AppLabel)
		case 12:
			return keepEntry(v, &m.Annotations, metav1.InitialEventsAnnotationKey)
		}
		return nil
	})
}

// keepEntry adds a map entry (key = 1, value = 2) to *m when its key is
// one of keys.
func keepEntry(b []byte, m *map[string]string, keys ...string) error {
	var key, value []byte
	err := eachField(b, func(num protowire.Number, v []byte, _ uint64) error {
		switch num {
		case 1:
			key = v
		case 2:
			value = v
		}
		return nil
	})
	for _, k := range keys {
		if string(key) == k {
			if *m == nil {
				*m = map[string]string{}
			}
			(*m)[k] = intern(string(value))
		}
	}
	return err
}

// timeOf decodes a metav1.Time: seconds = 1, nanos = 2.
func timeOf(b []byte) (metav1.Time, error) {
	var sec, nsec uint64
	err := eachField(b, func(num protowire.Number, _ []byte, u uint64) error {
		switch num {
		case 1:
			sec = u
		case 2:
			nsec = u
		}
		return nil
	})
	return metav1.NewTime(time.Unix(int64(sec), int64(int32(nsec))).Local()), err
}

// slimPodSpec decodes nodeName = 10 and affinity = 18 (nodeAffinity = 1,
// requiredDuringSchedulingIgnoredDuringExecution = 1, nodeSelectorTerms
// = 1, matchFields = 2).
func slimPodSpec(b []byte, spec *corev1.PodSpec) error {
	return eachField(b, func(num protowire.Number, v []byte, _ uint64) error {
		switch num {
		case 10:
			spec.NodeName = intern(string(v))
		case 18:
			sel := &corev1.NodeSelector{}
			spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: sel}}
			return nested(v, []protowire.Number{1, 1}, func(v []byte) error {
				return eachField(v, func(num protowire.Number, v []byte, _ uint64) error {
					if num != 1 {
						return nil
					}
					term := corev1.NodeSelectorTerm{}
					err := eachField(v, func(num protowire.Number, v []byte, _ uint64) error {
						if num != 2 {
							return nil
						}
						req, err := requirementOf(v)
						term.MatchFields = append(term.MatchFields, req)
						return err
					})
					sel.NodeSelectorTerms = append(sel.NodeSelectorTerms, term)
					return err
				})
			})
		}
		return nil
	})
}

// requirementOf decodes a NodeSelectorRequirement: key = 1, operator = 2,
// values = 3.
func requirementOf(b []byte) (corev1.NodeSelectorRequirement, error) {
	var req corev1.NodeSelectorRequirement
	err := eachField(b, func(num protowire.Number, v []byte, _ uint64) error {
		switch num {
		case 1:
			req.Key = string(v)
		case 2:
			req.Operator = corev1.NodeSelectorOperator(v)
		case 3:
			req.Values = append(req.Values, intern(string(v)))
		}
		return nil
	})
	return req, err
}

// slimPodStatus decodes conditions = 2 (the Ready and PodScheduled ones:
// type = 1, status = 2, reason = 5, message = 6) and podIP = 6.
func slimPodStatus(b []byte, st *corev1.PodStatus) error {
	return eachField(b, func(num protowire.Number, v []byte, _ uint64) error {
		switch num {
		case 2:
			var c corev1.PodCondition
			err := eachField(v, func(num protowire.Number, v []byte, _ uint64) error {
				switch num {
				case 1:
					c.Type = corev1.PodConditionType(v)
				case 2:
					c.Status = corev1.ConditionStatus(v)
				case 5:
					c.Reason = string(v)
				case 6:
					c.Message = string(v)
				}
				return nil
			})
			if c.Type == corev1.PodReady || c.Type == corev1.PodScheduled {
				st.Conditions = append(st.Conditions, c)
			}
			return err
		case 6:
			st.PodIP = string(v)
		}
		return nil
	})
}

// nested calls fn with the field at path (each number a nested message).
func nested(b []byte, path []protowire.Number, fn func([]byte) error) error {
	if len(path) == 0 {
		return fn(b)
	}
	return eachField(b, func(num protowire.Number, v []byte, _ uint64) error {
		if num == path[0] {
			return nested(v, path[1:], fn)
		}
		return nil
	})
}

// eachField calls fn with each field of a protobuf message: its number and
// its bytes (length-delimited fields) or value (varints). Other wire types
// are skipped.
func eachField(b []byte, fn func(num protowire.Number, v []byte, u uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		switch typ {
		case protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return protowire.ParseError(m)
			}
			if err := fn(num, v, 0); err != nil {
				return err
			}
			b = b[m:]
		case protowire.VarintType:
			u, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return protowire.ParseError(m)
			}
			if err := fn(num, nil, u); err != nil {
				return err
			}
			b = b[m:]
		default:
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return protowire.ParseError(m)
			}
			b = b[m:]
		}
	}
	return nil
}
