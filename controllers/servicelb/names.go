package servicelb

import (
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// maxNameInDaemonSet is how much of the Service name a DaemonSet name keeps.
const maxNameInDaemonSet = 48

// DaemonSetName returns the name of the svclb DaemonSet of svc, as K3s
// names it: svclb-<name cut to 48 characters, without a trailing '-'>-<first
// 8 characters of the UID>.
func DaemonSetName(svc *corev1.Service) string {
	name := svc.Name
	if len(name) > maxNameInDaemonSet {
		name = strings.TrimRight(name[:maxNameInDaemonSet], "-")
	}
	uid := string(svc.UID)
	if len(uid) > 8 {
		uid = uid[:8]
	}
	return "svclb-" + name + "-" + uid
}

// serviceKeyOf returns the Service a svclb object serves, from its labels.
func serviceKeyOf(labels map[string]string) (types.NamespacedName, bool) {
	name, ns := labels[SvcNameLabel], labels[SvcNamespaceLabel]
	if name == "" || ns == "" {
		return types.NamespacedName{}, false
	}
	return types.NamespacedName{Namespace: ns, Name: name}, true
}

// daemonSetMetadata returns an empty svclb DaemonSet to read into: the
// manager caches only the metadata of DaemonSets (see controllers/slim.go).
func daemonSetMetadata() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind("DaemonSet"))
	return m
}

// daemonSetMetadataList returns an empty list of svclb DaemonSets' metadata.
func daemonSetMetadataList() *metav1.PartialObjectMetadataList {
	l := &metav1.PartialObjectMetadataList{}
	l.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind("DaemonSetList"))
	return l
}

// serviceLabels are the labels that tie a svclb object to its Service.
func serviceLabels(svc *corev1.Service) map[string]string {
	return map[string]string{SvcNameLabel: svc.Name, SvcNamespaceLabel: svc.Namespace}
}
