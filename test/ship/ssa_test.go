package ship

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/clusternetworking"
	"github.com/wharf-dev/wharf/internal/testenv"
)

// TestServerSideApplyTwice applies the sample with `kubectl apply
// --server-side` while wharf runs, twice, and checks that wharf never
// takes a field of the spec: it owns status alone (field manager
// wharf-status, status subresource), the second apply changes nothing,
// and `kubectl diff --server-side` shows no difference. That is what
// GitOps tools need to see no drift.
func TestServerSideApplyTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an API server; skipped with -short")
	}
	env := testenv.Start(t)
	testenv.StartManager(t, env.Config)
	kc := "--kubeconfig=" + testenv.WriteKubeconfig(t, env.Config)
	kubectlBin := kubectl(t)
	ctx := context.Background()

	run(t, nil, kubectlBin, kc, "apply", "--server-side", "-f", samplePath)
	first := waitObserved(ctx, t, env.Client)
	t.Logf("after the first apply: generation %d, kstatus %s", first.GetGeneration(), mustKstatus(t, first))

	out := run(t, nil, kubectlBin, kc, "apply", "--server-side", "-f", samplePath, "-o", "json")
	second := lastObject(t, out)
	if second.GetGeneration() != first.GetGeneration() {
		t.Errorf("the second apply moved the generation from %d to %d: the spec changed", first.GetGeneration(), second.GetGeneration())
	}
	if !equality.Semantic.DeepEqual(first.Object["spec"], second.Object["spec"]) {
		t.Errorf("the second apply changed the spec:\nbefore %v\nafter  %v", first.Object["spec"], second.Object["spec"])
	}

	// Give wharf time to react to the apply, as it would to a GitOps sync.
	time.Sleep(3 * time.Second)
	final := getCN(ctx, t, env.Client)
	if final.GetGeneration() != first.GetGeneration() {
		t.Errorf("generation %d after wharf ran on, was %d: something wrote the spec", final.GetGeneration(), first.GetGeneration())
	}
	checkFieldOwners(t, final)

	stdout, stderr, err := runCode(t, nil, kubectlBin, kc, "diff", "--server-side", "-f", samplePath)
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		t.Errorf("kubectl diff --server-side shows a difference after wharf reconciled:\n%s", stdout)
	default:
		t.Errorf("kubectl diff: %v\n%s", err, stderr)
	}

	// Status is kstatus-clean: the Ready rule never decides.
	ks, generic := mustKstatus(t, final), mustKstatus(t, withoutReady(final))
	if ks != generic {
		t.Errorf("kstatus %s, but %s without the Ready condition: Ready=False must come with Reconciling=True or Stalled=True", ks, generic)
	}
}

// checkFieldOwners checks the managed fields of the ClusterNetworking:
// the spec is kubectl's, and every other manager (wharf's) holds status,
// on the status subresource, and at most metadata of the main resource.
func checkFieldOwners(t *testing.T, cn *unstructured.Unstructured) {
	t.Helper()
	sawKubectl, sawStatus := false, false
	for _, mf := range cn.GetManagedFields() {
		fields := map[string]any{}
		if mf.FieldsV1 != nil {
			if err := json.Unmarshal(mf.FieldsV1.GetRawBytes(), &fields); err != nil {
				t.Fatal(err)
			}
		}
		switch {
		case mf.Manager == "kubectl" && mf.Operation == metav1.ManagedFieldsOperationApply:
			sawKubectl = true
			if _, ok := fields["f:spec"]; !ok {
				t.Errorf("kubectl does not own the spec: %v", fields)
			}
		default:
			// wharf may own status, and metadata (a finalizer, say) of the
			// main resource; never a field of the spec.
			for k := range fields {
				if k == "f:spec" || mf.Subresource == "status" && k != "f:status" || mf.Subresource == "" && k != "f:metadata" {
					t.Errorf("manager %q (%s, subresource %q) owns %s: wharf may own status only", mf.Manager, mf.Operation, mf.Subresource, k)
				}
			}
			if mf.Manager == clusternetworking.StatusFieldManager && mf.Operation == metav1.ManagedFieldsOperationApply && mf.Subresource == "status" {
				sawStatus = true
			}
		}
	}
	if !sawKubectl {
		t.Error("no managed fields of kubectl's server-side apply")
	}
	if !sawStatus {
		t.Errorf("no managed fields of %s: wharf did not apply status", clusternetworking.StatusFieldManager)
	}
}

// waitObserved waits until wharf has written status for the current
// generation of the ClusterNetworking.
func waitObserved(ctx context.Context, t *testing.T, c client.Client) *unstructured.Unstructured {
	t.Helper()
	var cn *unstructured.Unstructured
	poll(ctx, t, time.Minute, func() error {
		cn = getCN(ctx, t, c)
		observed, _, _ := unstructured.NestedInt64(cn.Object, "status", "observedGeneration")
		if observed != cn.GetGeneration() {
			return fmt.Errorf("observedGeneration %d, generation %d", observed, cn.GetGeneration())
		}
		return nil
	})
	return cn
}

func getCN(ctx context.Context, t *testing.T, c client.Client) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("ClusterNetworking"))
	if err := c.Get(ctx, client.ObjectKey{Name: v1alpha1.SingletonName}, u); err != nil {
		t.Fatalf("get the ClusterNetworking: %v", err)
	}
	return u
}

// lastObject returns the ClusterNetworking of `kubectl apply -o json`
// output (a List when the file holds several objects).
func lastObject(t *testing.T, out string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON([]byte(out)); err != nil {
		t.Fatalf("parse kubectl output: %v\n%s", err, out)
	}
	if u.IsList() {
		list, _ := u.ToList()
		for i := range list.Items {
			if list.Items[i].GetKind() == "ClusterNetworking" {
				return &list.Items[i]
			}
		}
		t.Fatalf("no ClusterNetworking in kubectl output:\n%s", out)
	}
	return u
}

func mustKstatus(t *testing.T, u *unstructured.Unstructured) status.Status {
	t.Helper()
	st, _, _, err := kstatusOf(u)
	if err != nil {
		t.Fatal(err)
	}
	return st
}
