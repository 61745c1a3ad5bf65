package ship

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/internal/kstatus"
)

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

// TestKstatus computes the kstatus status of ClusterNetworking resources
// in each state wharf reports, as Flux and other kstatus readers do.
func TestKstatus(t *testing.T) {
	deleting := cnWithStatus(2, 2, readyConds...)
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	deleting.Finalizers = []string{"example.com/keep"}

	for _, tc := range []struct {
		name   string
		cn     *v1alpha1.ClusterNetworking
		want   kstatus.Status
		reason string
		msg    string
	}{
		{"ready", cnWithStatus(2, 2, readyConds...), kstatus.Current, "", "Resource is Ready"},
		{"new generation not observed", cnWithStatus(3, 2, readyConds...), kstatus.InProgress, "LatestGenerationNotObserved",
			"ClusterNetworking generation is 3, but latest observed generation is 2"},
		{"components progressing", cnWithStatus(1, 1, progressingConds...), kstatus.InProgress, "Progressing", "CoreDNSReady: 0 of 1 replicas ready"},
		{"stalled", cnWithStatus(4, 4, stalledConds...), kstatus.Failed, "SecretNotFound", "TraefikReady: the Secret kube-system/authsecret does not exist"},
		{"stalled, new generation", cnWithStatus(5, 4, stalledConds...), kstatus.InProgress, "LatestGenerationNotObserved", ""},
		{"being deleted", deleting, kstatus.Terminating, "", "Resource scheduled for deletion"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := toUnstructured(t, tc.cn)
			got, err := kstatus.Compute(u)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tc.want || got.Reason != tc.reason || tc.msg != "" && got.Message != tc.msg {
				t.Errorf("kstatus = %+v, want %s (reason %q, message %q)", got, tc.want, tc.reason, tc.msg)
			}
			// wharf never relies on the Ready fallback: every kstatus reader,
			// with or without it, gets the same answer.
			generic, err := kstatus.Generic(u)
			if err != nil {
				t.Fatal(err)
			}
			if generic.Status != got.Status {
				t.Errorf("without the Ready rule kstatus says %s, with it %s: Ready=False must come with Reconciling=True or Stalled=True", generic.Status, got.Status)
			}
		})
	}
}

// TestKstatusRules pins the kstatus rules wharf's status is designed
// around, including the two that surprise: a resource without status is
// Current, and Ready=False alone is only InProgress for readers that know
// the Ready rule.
func TestKstatusRules(t *testing.T) {
	fresh := toUnstructured(t, cnWithStatus(1, 0))
	unstructured.RemoveNestedField(fresh.Object, "status")
	if got, _ := kstatus.Compute(fresh); got.Status != kstatus.Current {
		t.Errorf("no status: %s, want Current (kstatus has nothing to go by)", got.Status)
	}
	readyFalseOnly := toUnstructured(t, cnWithStatus(1, 1, cond(v1alpha1.ConditionReady, metav1.ConditionFalse, "Progressing", "waiting")))
	if got, _ := kstatus.Compute(readyFalseOnly); got.Status != kstatus.InProgress {
		t.Errorf("Ready=False alone: %s, want InProgress", got.Status)
	}
	if got, _ := kstatus.Generic(readyFalseOnly); got.Status != kstatus.Current {
		t.Errorf("Ready=False alone, generic rules: %s, want Current", got.Status)
	}
	// The first abnormal condition in list order decides.
	both := toUnstructured(t, cnWithStatus(1, 1,
		cond(v1alpha1.ConditionStalled, metav1.ConditionTrue, "Broken", "broken"),
		cond(v1alpha1.ConditionReconciling, metav1.ConditionTrue, "Working", "working")))
	if got, _ := kstatus.Compute(both); got.Status != kstatus.Failed {
		t.Errorf("Stalled before Reconciling: %s, want Failed", got.Status)
	}
	wrongType := toUnstructured(t, cnWithStatus(1, 1))
	wrongType.Object["status"] = map[string]any{"conditions": "Ready"}
	if _, err := kstatus.Compute(wrongType); err == nil {
		t.Error("conditions that are not a list: want an error")
	}
}
