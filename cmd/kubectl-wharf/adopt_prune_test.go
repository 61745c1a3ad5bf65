package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/traefik"
	"github.com/wharf-dev/wharf/internal/testenv"
)

const kubeSystem = "kube-system"

// TestAdoptDryRunTellsWhatLeaves plans files against a ClusterNetworking
// the real manager applied with Traefik and its dashboard on: turning
// Traefik off deletes its objects and holds back its CRDs while a user's
// Middleware uses them; turning the dashboard off deletes its IngressRoute
// and Middleware only; an object wharf would not take over makes the plan
// exit with 3 and prunes nothing of its component. Nothing is written.
func TestAdoptDryRunTellsWhatLeaves(t *testing.T) {
	env := testenv.Start(t)
	c := env.Client
	ctx := context.Background()
	stop := testenv.StartManager(t, env.Config)
	mustCreate(t, c, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "authsecret", Namespace: kubeSystem},
		Data: map[string][]byte{"users": []byte("admin:$apr1$.E0xwugA$R0f./9ZwI5vVDS2Gav.kD/\n")}})
	cn := &v1alpha1.ClusterNetworking{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.SingletonName}}
	cn.Spec.CoreDNS.Enabled = ptr.To(false)
	cn.Spec.ServiceLB.Enabled = ptr.To(false)
	cn.Spec.Traefik.Dashboard = v1alpha1.DashboardSpec{Enabled: true, Host: "traefik.example.com",
		EntryPoints: []string{"web"}, BasicAuth: &v1alpha1.BasicAuth{SecretName: "authsecret"}}
	mustCreate(t, c, cn)
	waitForInventory(t, c, "IngressRoute", traefik.DashboardRouteName)
	userMW := &unstructured.Unstructured{}
	userMW.SetAPIVersion("traefik.io/v1alpha1")
	userMW.SetKind("Middleware")
	userMW.SetNamespace("default")
	userMW.SetName("users-own")
	userMW.Object["spec"] = map[string]any{"stripPrefix": map[string]any{"prefixes": []any{"/app"}}}
	mustCreate(t, c, userMW)
	stop()

	deployment := &appsv1.Deployment{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: kubeSystem, Name: "traefik"}, deployment); err != nil {
		t.Fatal(err)
	}
	kubeconfig := testenv.WriteKubeconfig(t, env.Config)
	const head = "apiVersion: networking.wharf.dev/v1alpha1\nkind: ClusterNetworking\nmetadata: {name: cluster}\n"

	out := adoptDryRun(t, kubeconfig, head+"spec: {coredns: {enabled: false}, traefik: {enabled: false}, serviceLB: {enabled: false}}\n", 0)
	wantLines(t, out, "delete  traefik   Deployment kube-system/traefik\n",
		"delete  traefik   IngressRoute kube-system/"+traefik.DashboardRouteName+"\n",
		"delete  traefik   Middleware kube-system/"+traefik.DashboardMiddlewareName+"\n",
		"hold    traefik   CustomResourceDefinition middlewares.traefik.io: kept while custom resources use traefik's CRDs\n",
		"0 kept, 0 changed, 0 created, ")

	out = adoptDryRun(t, kubeconfig, head+"spec: {coredns: {enabled: false}, serviceLB: {enabled: false}}\n", 0)
	wantLines(t, out, "delete  traefik   IngressRoute kube-system/"+traefik.DashboardRouteName+"\n",
		"delete  traefik   Middleware kube-system/"+traefik.DashboardMiddlewareName+"\n",
		"keep    traefik   Deployment kube-system/traefik\n", " 2 deleted, 0 released, 0 held, 0 left, 0 refused\n")

	// Moved to a namespace where a ServiceAccount traefik runs that wharf
	// did not create, Traefik is refused: nothing of it is applied, and so
	// nothing of it is pruned.
	mustCreate(t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "web"}})
	mustCreate(t, c, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "traefik", Namespace: "web"}})
	out = adoptDryRun(t, kubeconfig, head+"spec: {coredns: {enabled: false}, traefik: {namespace: web}, serviceLB: {enabled: false}}\n", exitRefused)
	wantLines(t, out, "refuse  traefik   ServiceAccount web/traefik: it exists and wharf did not create it\n", " 0 deleted, ")

	after := &appsv1.Deployment{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(deployment), after); err != nil {
		t.Fatalf("the dry run deleted the traefik Deployment: %v", err)
	}
	if after.ResourceVersion != deployment.ResourceVersion {
		t.Errorf("the dry run wrote the traefik Deployment")
	}
	route := &unstructured.Unstructured{}
	route.SetAPIVersion("traefik.io/v1alpha1")
	route.SetKind("IngressRoute")
	if err := c.Get(ctx, client.ObjectKey{Namespace: kubeSystem, Name: traefik.DashboardRouteName}, route); err != nil {
		t.Errorf("the dry run deleted the dashboard route: %v", err)
	}
}

// adoptDryRun runs adopt --dry-run on doc and checks its exit status.
func adoptDryRun(t *testing.T, kubeconfig, doc string, wantCode int) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "cn.yaml")
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd(t, "", "adopt", "--dry-run", "-f", file, "--kubeconfig", kubeconfig)
	t.Logf("adopt --dry-run for %s:\n%s%s", doc, out, errOut)
	if code != wantCode {
		t.Fatalf("adopt --dry-run: exit %d, want %d", code, wantCode)
	}
	return out
}

func wantLines(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("the plan lacks %q", w)
		}
	}
}

func mustCreate(t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Create(context.Background(), obj); err != nil {
		t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
}

// waitForInventory waits until the live ClusterNetworking's inventory
// holds the object kind/name.
func waitForInventory(t *testing.T, c client.Client, kind, name string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		cn := &v1alpha1.ClusterNetworking{}
		err := c.Get(context.Background(), client.ObjectKey{Name: v1alpha1.SingletonName}, cn)
		if err == nil {
			for _, e := range cn.Status.Inventory {
				if e.Kind == kind && e.Name == name {
					return
				}
			}
			err = fmt.Errorf("the inventory lacks %s %s: %v", kind, name, cn.Status.Inventory)
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
