package apply_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/internal/apply"
	"github.com/wharf-dev/wharf/internal/testenv"
)

// TestNamespacesAreOnlyCreated: a rendered Namespace that is missing is
// created, without wharf's labels; one that exists, the user's labels and
// all, is left as it is and no write is sent; neither is ever an
// inventory entry, so nothing prunes (deletes) a Namespace and everything
// in it.
func TestNamespacesAreOnlyCreated(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	c, counter := countedClient(t, env)
	a := apply.New(c, c, "wharf-test")
	theirs := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "theirs", Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}}}
	if err := env.Client.Create(ctx, theirs); err != nil {
		t.Fatal(err)
	}
	rendered := func(name string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("v1")
		u.SetKind("Namespace")
		u.SetName(name)
		apply.Mark(u, "servicelb")
		return u
	}
	opts := apply.ApplyOptions{Component: "servicelb"}

	cs, err := a.Apply(ctx, apply.Objects(rendered("svclb"), rendered("theirs")), opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := []apply.Action{cs.Entries[0].Action, cs.Entries[1].Action}; got[0] != apply.Created || got[1] != apply.Unchanged {
		t.Fatalf("actions %v, want created for the missing Namespace and unchanged for the existing one", got)
	}
	created := &corev1.Namespace{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "svclb"}, created); err != nil {
		t.Fatal(err)
	}
	if apply.IsWharfs(created.Labels) {
		t.Errorf("the created Namespace carries wharf's labels %v: nothing may prune it", created.Labels)
	}
	got := &corev1.Namespace{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "theirs"}, got); err != nil {
		t.Fatal(err)
	}
	if apply.IsWharfs(got.Labels) || got.Labels["pod-security.kubernetes.io/enforce"] != "restricted" || got.ResourceVersion != theirs.ResourceVersion {
		t.Errorf("an existing Namespace was changed: labels %v", got.Labels)
	}
	if apply.Inventoried(rendered("svclb")) {
		t.Errorf("a Namespace would be recorded in the inventory, and so pruned")
	}

	counter.Reset()
	if _, err := a.Apply(ctx, apply.Objects(rendered("svclb"), rendered("theirs")), opts); err != nil {
		t.Fatal(err)
	}
	if w := counter.Writes(); w != 0 {
		t.Errorf("a second apply sent %d writes:\n%s", w, counter.WritePaths())
	}
}
