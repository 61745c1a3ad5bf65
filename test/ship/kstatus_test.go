package ship

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	"github.com/wharf-dev/wharf/api/v1alpha1"
)

// kstatusOf computes the kstatus status of u with kstatus's own code
// (sigs.k8s.io/cli-utils/pkg/kstatus/status), the library Flux health
// checks and kpt read resources with. The reason is that of the condition
// kstatus reports (Reconciling or Stalled), empty for Current.
func kstatusOf(u *unstructured.Unstructured) (st status.Status, reason, msg string, err error) {
	r, err := status.Compute(u)
	if err != nil {
		return "", "", "", err
	}
	if len(r.Conditions) > 0 {
		reason = r.Conditions[0].Reason
	}
	return r.Status, reason, r.Message, nil
}

// withoutReady returns a copy of u without its Ready condition. kstatus
// reads Ready only when no Reconciling=True or Stalled=True decided; a
// status that follows kstatus well gets the same answer without it.
func withoutReady(u *unstructured.Unstructured) *unstructured.Unstructured {
	c := u.DeepCopy()
	conds, _, _ := unstructured.NestedSlice(c.Object, "status", "conditions")
	kept := conds[:0]
	for _, cond := range conds {
		if m, ok := cond.(map[string]any); ok && m["type"] == v1alpha1.ConditionReady {
			continue
		}
		kept = append(kept, cond)
	}
	if conds != nil {
		_ = unstructured.SetNestedSlice(c.Object, kept, "status", "conditions")
	}
	return c
}

// cnWithStatus builds a ClusterNetworking at generation gen whose status
// observed generation observed, with the conditions as wharf writes them
// (each carrying the observed generation).
func cnWithStatus(gen, observed int64, conds ...metav1.Condition) *v1alpha1.ClusterNetworking {
	cn := &v1alpha1.ClusterNetworking{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "ClusterNetworking"},
		ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.SingletonName, Generation: gen},
	}
	cn.Status.ObservedGeneration = observed
	for _, c := range conds {
		c.ObservedGeneration = observed
		c.LastTransitionTime = metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		cn.Status.Conditions = append(cn.Status.Conditions, c)
	}
	return cn
}

func cond(typ string, status metav1.ConditionStatus, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: msg}
}

func toUnstructured(t *testing.T, obj runtime.Object) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

// The conditions wharf's reconciler writes in each state (see
// controllers/clusternetworking/status.go).
var (
	readyConds = []metav1.Condition{
		cond(v1alpha1.ConditionReady, metav1.ConditionTrue, "Ready", "all enabled components are ready"),
		cond(v1alpha1.ConditionReconciling, metav1.ConditionFalse, "Ready", "all enabled components are ready"),
		cond(v1alpha1.ConditionStalled, metav1.ConditionFalse, "NotStalled", "no error that needs a change to the resource"),
		cond(v1alpha1.ConditionCoreDNSReady, metav1.ConditionTrue, "Ready", "1 of 1 replicas ready"),
		cond(v1alpha1.ConditionTraefikReady, metav1.ConditionTrue, "Ready", "1 of 1 replicas ready"),
		cond(v1alpha1.ConditionServiceLBReady, metav1.ConditionTrue, "Ready", "2 of 2 svclb pods ready"),
	}
	progressingConds = []metav1.Condition{
		cond(v1alpha1.ConditionReady, metav1.ConditionFalse, "Progressing", "CoreDNSReady: 0 of 1 replicas ready"),
		cond(v1alpha1.ConditionReconciling, metav1.ConditionTrue, "Progressing", "CoreDNSReady: 0 of 1 replicas ready"),
		cond(v1alpha1.ConditionStalled, metav1.ConditionFalse, "NotStalled", "no error that needs a change to the resource"),
		cond(v1alpha1.ConditionCoreDNSReady, metav1.ConditionFalse, "Progressing", "0 of 1 replicas ready"),
	}
	stalledConds = []metav1.Condition{
		cond(v1alpha1.ConditionReady, metav1.ConditionFalse, "Stalled", "TraefikReady: the Secret kube-system/authsecret does not exist"),
		cond(v1alpha1.ConditionReconciling, metav1.ConditionFalse, "Stalled", "waiting for the resource or its inputs to change"),
		cond(v1alpha1.ConditionStalled, metav1.ConditionTrue, "SecretNotFound", "TraefikReady: the Secret kube-system/authsecret does not exist"),
		cond(v1alpha1.ConditionTraefikReady, metav1.ConditionFalse, "SecretNotFound", "the Secret kube-system/authsecret does not exist"),
	}
)

// TestKstatus computes, with kstatus's code, the status of
// ClusterNetworking resources in each state wharf reports, as Flux and
// other kstatus readers do.
func TestKstatus(t *testing.T) {
	deleting := cnWithStatus(2, 2, readyConds...)
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	deleting.Finalizers = []string{"example.com/keep"}

	for _, tc := range []struct {
		name   string
		cn     *v1alpha1.ClusterNetworking
		want   status.Status
		reason string
		msg    string
	}{
		{"ready", cnWithStatus(2, 2, readyConds...), status.CurrentStatus, "", "Resource is Ready"},
		{"new generation not observed", cnWithStatus(3, 2, readyConds...), status.InProgressStatus, "LatestGenerationNotObserved",
			"ClusterNetworking generation is 3, but latest observed generation is 2"},
		{"components progressing", cnWithStatus(1, 1, progressingConds...), status.InProgressStatus, "Progressing", "CoreDNSReady: 0 of 1 replicas ready"},
		{"stalled", cnWithStatus(4, 4, stalledConds...), status.FailedStatus, "SecretNotFound", "TraefikReady: the Secret kube-system/authsecret does not exist"},
		{"stalled, new generation", cnWithStatus(5, 4, stalledConds...), status.InProgressStatus, "LatestGenerationNotObserved", ""},
		{"being deleted", deleting, status.TerminatingStatus, "", "Resource scheduled for deletion"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := toUnstructured(t, tc.cn)
			got, reason, msg, err := kstatusOf(u)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || reason != tc.reason || tc.msg != "" && msg != tc.msg {
				t.Errorf("kstatus = %s (reason %q, message %q), want %s (reason %q, message %q)", got, reason, msg, tc.want, tc.reason, tc.msg)
			}
			// wharf never relies on kstatus's Ready fallback: without the
			// Ready condition the answer is the same.
			generic, _, _, err := kstatusOf(withoutReady(u))
			if err != nil {
				t.Fatal(err)
			}
			if generic != got {
				t.Errorf("without the Ready condition kstatus says %s, with it %s: Ready=False must come with Reconciling=True or Stalled=True", generic, got)
			}
		})
	}
}

// TestKstatusRules pins the kstatus rules wharf's status is designed
// around, including the two that surprise: a resource without status is
// Current, and Ready=False alone decides only through kstatus's Ready
// fallback (without it, the resource would be Current).
func TestKstatusRules(t *testing.T) {
	fresh := toUnstructured(t, cnWithStatus(1, 0))
	unstructured.RemoveNestedField(fresh.Object, "status")
	if got, _, _, _ := kstatusOf(fresh); got != status.CurrentStatus {
		t.Errorf("no status: %s, want Current (kstatus has nothing to go by)", got)
	}
	readyFalseOnly := toUnstructured(t, cnWithStatus(1, 1, cond(v1alpha1.ConditionReady, metav1.ConditionFalse, "Progressing", "waiting")))
	if got, _, _, _ := kstatusOf(readyFalseOnly); got != status.InProgressStatus {
		t.Errorf("Ready=False alone: %s, want InProgress", got)
	}
	if got, _, _, _ := kstatusOf(withoutReady(readyFalseOnly)); got != status.CurrentStatus {
		t.Errorf("Ready=False alone, Ready removed: %s, want Current", got)
	}
	// The first abnormal condition in list order decides.
	both := toUnstructured(t, cnWithStatus(1, 1,
		cond(v1alpha1.ConditionStalled, metav1.ConditionTrue, "Broken", "broken"),
		cond(v1alpha1.ConditionReconciling, metav1.ConditionTrue, "Working", "working")))
	if got, _, _, _ := kstatusOf(both); got != status.FailedStatus {
		t.Errorf("Stalled before Reconciling: %s, want Failed", got)
	}
	wrongType := toUnstructured(t, cnWithStatus(1, 1))
	wrongType.Object["status"] = map[string]any{"conditions": "Ready"}
	if _, _, _, err := kstatusOf(wrongType); err == nil {
		t.Error("conditions that are not a list: want an error")
	}
}
