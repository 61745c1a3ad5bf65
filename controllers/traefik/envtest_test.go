package traefik_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/traefik"
	"github.com/wharf-dev/wharf/internal/testenv"
)

const (
	ns      = "kube-system"
	timeout = 60 * time.Second
	// watchTimeout is shorter than the frame's 30s requeue, so a change
	// seen within it was brought by a watch.
	watchTimeout = 15 * time.Second
	// seedsUsers is the guide's authsecret: admin/admin from `htpasswd -nb`.
	seedsUsers = "admin:$apr1$.E0xwugA$R0f./9ZwI5vVDS2Gav.kD/\n\n"
)

var deploymentKey = client.ObjectKey{Namespace: ns, Name: "traefik"}

// TestTraefikOnAPIServer runs wharf's manager against a real API server
// with only Traefik enabled and walks through the acceptance: the
// seeds' dashboard, a values change, bad values, valuesFrom, a broken
// dashboard Secret, a generated password over reconciles and a restart, a
// chart from a repository, and turning Traefik off.
func TestTraefikOnAPIServer(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // where fetched charts are cached
	env := testenv.Start(t)
	c := env.Client
	stop := testenv.StartManager(t, env.Config)

	mustCreate(t, c, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "authsecret", Namespace: ns},
		Data: map[string][]byte{"users": []byte(seedsUsers)}})
	cn := &v1alpha1.ClusterNetworking{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.SingletonName}}
	cn.Spec.CoreDNS.Enabled = ptr.To(false)
	cn.Spec.ServiceLB.Enabled = ptr.To(false)
	cn.Spec.Traefik.Dashboard = v1alpha1.DashboardSpec{Enabled: true, Host: "traefik.example.com",
		EntryPoints: []string{"web"}, BasicAuth: &v1alpha1.BasicAuth{SecretName: "authsecret"}}
	mustCreate(t, c, cn)

	t.Run("seeds dashboard", func(t *testing.T) { checkSeedsDashboard(t, c) })
	t.Run("dashboard objects come back at once", func(t *testing.T) { checkDashboardDrift(t, c) })
	t.Run("values change only the Deployment", func(t *testing.T) { checkValuesChange(t, c) })
	t.Run("bad values keep the Deployment", func(t *testing.T) { checkBadValues(t, c) })
	t.Run("valuesFrom", func(t *testing.T) { checkValuesFrom(t, c) })
	t.Run("broken dashboard Secret", func(t *testing.T) { checkBrokenSecret(t, c) })
	password := ""
	t.Run("generated password", func(t *testing.T) { password = checkGeneratedSecret(t, c) })
	// The restarted manager belongs to the whole test, not to a subtest.
	restart := func() { stop(); testenv.StartManager(t, env.Config) }
	t.Run("password survives reconciles and a restart", func(t *testing.T) { checkPasswordKept(t, c, password, restart) })
	t.Run("the dashboard off deletes the generated Secret", func(t *testing.T) { checkDashboardOffPrunes(t, c, password) })
	t.Run("chart from a repository", func(t *testing.T) { checkRemoteChart(t, c) })
	t.Run("disable", func(t *testing.T) { checkDisable(t, c) })
}

func checkSeedsDashboard(t *testing.T, c client.Client) {
	eventually(t, timeout, func() error {
		cn := getCN(t, c)
		if st := cn.Status.Traefik; st == nil || st.DashboardURL == "" {
			return fmt.Errorf("status.traefik = %+v", cn.Status.Traefik)
		}
		return objectExists(c, ingressRouteGVK, ns, traefik.DashboardRouteName)
	})
	routes := list(t, c, ingressRouteGVK)
	middlewares := list(t, c, middlewareGVK)
	if len(routes) != 1 || len(middlewares) != 1 {
		t.Fatalf("want exactly one IngressRoute and one Middleware, got %d and %d", len(routes), len(middlewares))
	}
	if s, _, _ := unstructured.NestedString(middlewares[0].Object, "spec", "basicAuth", "secret"); s != "authsecret" {
		t.Errorf("the Middleware reads Secret %q, want authsecret", s)
	}
	r := firstRoute(t, routes[0])
	if r["match"] != "Host(`traefik.example.com`) && (PathPrefix(`/api`) || PathPrefix(`/dashboard`))" {
		t.Errorf("match = %v", r["match"])
	}
	if mw := r["middlewares"].([]any)[0].(map[string]any)["name"]; mw != middlewares[0].GetName() {
		t.Errorf("the route uses middleware %v, not %s", mw, middlewares[0].GetName())
	}
	if svc := r["services"].([]any)[0].(map[string]any); svc["name"] != "api@internal" || svc["kind"] != "TraefikService" {
		t.Errorf("the route goes to %v", svc)
	}
	cn := getCN(t, c)
	want := v1alpha1.TraefikStatus{Chart: "traefik-1.1.0", DashboardURL: "http://traefik.example.com/dashboard/", DashboardSecret: "authsecret"}
	if got := *cn.Status.Traefik; got != want {
		t.Errorf("status.traefik = %+v, want %+v", got, want)
	}
	checkCRDs(t, c, 10)
	if cond := meta.FindStatusCondition(cn.Status.Conditions, v1alpha1.ConditionTraefikReady); cond == nil || cond.Status != metav1.ConditionFalse {
		t.Errorf("TraefikReady = %+v, want False while no pod runs", cond)
	}
}

// checkDashboardDrift deletes the dashboard's IngressRoute and edits its
// Middleware by hand: wharf watches the kinds it applies once their CRDs
// exist, so both are back within seconds, long before the 30 s requeue of
// a component that is not ready yet.
func checkDashboardDrift(t *testing.T, c client.Client) {
	ctx := context.Background()
	route := &unstructured.Unstructured{}
	route.SetGroupVersionKind(ingressRouteGVK)
	route.SetNamespace(ns)
	route.SetName(traefik.DashboardRouteName)
	if err := c.Delete(ctx, route); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() error { return objectExists(c, ingressRouteGVK, ns, traefik.DashboardRouteName) })

	mw := &unstructured.Unstructured{}
	mw.SetGroupVersionKind(middlewareGVK)
	mw.SetNamespace(ns)
	mw.SetName(traefik.DashboardMiddlewareName)
	patch := []byte(`{"spec":{"basicAuth":{"secret":"someone-elses"}}}`)
	if err := c.Patch(ctx, mw, client.RawPatch(types.MergePatchType, patch)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() error {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(middlewareGVK)
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: traefik.DashboardMiddlewareName}, got); err != nil {
			return err
		}
		if s, _, _ := unstructured.NestedString(got.Object, "spec", "basicAuth", "secret"); s != "authsecret" {
			return fmt.Errorf("the Middleware reads Secret %q, want authsecret", s)
		}
		return nil
	})
}

// checkCRDs checks that n traefik.io CRDs are established, labelled by
// wharf and owned by nothing (they must outlive the ClusterNetworking).
func checkCRDs(t *testing.T, c client.Client, n int) {
	t.Helper()
	crds := &apiextensionsv1.CustomResourceDefinitionList{}
	if err := c.List(context.Background(), crds); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, crd := range crds.Items {
		if crd.Spec.Group != "traefik.io" {
			continue
		}
		found++
		if len(crd.OwnerReferences) != 0 || crd.Labels["app.kubernetes.io/managed-by"] != "wharf" {
			t.Errorf("CRD %s: owners %v, labels %v", crd.Name, crd.OwnerReferences, crd.Labels)
		}
	}
	if found != n {
		t.Errorf("%d traefik.io CRDs, want %d", found, n)
	}
}

func checkValuesChange(t *testing.T, c client.Client) {
	before := versions(t, c)
	setTraefik(t, c, func(s *v1alpha1.TraefikSpec) { s.Values = values(t, `{"deployment": {"replicas": 2}}`) })
	waitObserved(t, c, func(cn *v1alpha1.ClusterNetworking) error {
		if r := deployment(t, c).Spec.Replicas; r == nil || *r != 2 {
			return fmt.Errorf("replicas = %v", r)
		}
		return nil
	})
	after := versions(t, c)
	for id, rv := range before {
		switch {
		case strings.HasPrefix(id, "apps/Deployment/"):
			if after[id] == rv {
				t.Errorf("%s was not updated", id)
			}
		case after[id] != rv:
			t.Errorf("%s changed (resourceVersion %s -> %s), only the Deployment should", id, rv, after[id])
		}
	}
	// The chart adds a PodDisruptionBudget above one replica, and nothing else.
	for id := range after {
		if _, ok := before[id]; !ok && id != "policy/PodDisruptionBudget/kube-system/traefik" {
			t.Errorf("%s appeared", id)
		}
	}
}

func checkBadValues(t *testing.T, c client.Client) {
	before := deployment(t, c)
	inventory := getCN(t, c).Status.Inventory
	setTraefik(t, c, func(s *v1alpha1.TraefikSpec) { s.Values = values(t, `{"deployment": {"replicas": "two"}}`) })
	waitObserved(t, c, func(cn *v1alpha1.ClusterNetworking) error {
		return wantCondition(cn, v1alpha1.ConditionTraefikReady, metav1.ConditionFalse, traefik.ReasonInvalidValues)
	})
	cn := getCN(t, c)
	if err := wantCondition(cn, v1alpha1.ConditionStalled, metav1.ConditionTrue, traefik.ReasonInvalidValues); err != nil {
		t.Error(err)
	}
	msg := meta.FindStatusCondition(cn.Status.Conditions, v1alpha1.ConditionTraefikReady).Message
	if !strings.Contains(msg, "/deployment/replicas") || !strings.Contains(msg, "got string") {
		t.Errorf("the condition does not carry Helm's message: %q", msg)
	}
	if after := deployment(t, c); after.ResourceVersion != before.ResourceVersion {
		t.Errorf("the Deployment changed after bad values")
	}
	if !slices.Equal(cn.Status.Inventory, inventory) {
		t.Errorf("the inventory changed after bad values")
	}
}

func checkValuesFrom(t *testing.T, c client.Client) {
	setTraefik(t, c, func(s *v1alpha1.TraefikSpec) {
		s.Values = values(t, `{"deployment": {"replicas": 2}}`)
		s.ValuesFrom = []v1alpha1.ValuesReference{{Kind: "ConfigMap", Name: "traefik-values", Key: "values.yaml"}}
	})
	waitObserved(t, c, func(cn *v1alpha1.ClusterNetworking) error {
		cond := meta.FindStatusCondition(cn.Status.Conditions, v1alpha1.ConditionTraefikReady)
		if cond == nil || !strings.Contains(cond.Message, "does not exist yet") {
			return fmt.Errorf("TraefikReady = %+v", cond)
		}
		return wantCondition(cn, v1alpha1.ConditionStalled, metav1.ConditionFalse, "")
	})
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "traefik-values", Namespace: ns},
		Data: map[string]string{"values.yaml": "logs:\n  general:\n    level: DEBUG\n"}}
	mustCreate(t, c, cm)
	eventually(t, watchTimeout, func() error { return deploymentHasArg(t, c, "--log.level=DEBUG") })
	cm.Data["values.yaml"] = "logs:\n  general:\n    level: WARN\n"
	if err := c.Update(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	eventually(t, watchTimeout, func() error { return deploymentHasArg(t, c, "--log.level=WARN") })
	// values still win over valuesFrom.
	if r := deployment(t, c).Spec.Replicas; r == nil || *r != 2 {
		t.Errorf("replicas = %v, want 2", r)
	}
}

func checkBrokenSecret(t *testing.T, c client.Client) {
	s := &corev1.Secret{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "authsecret"}, s); err != nil {
		t.Fatal(err)
	}
	s.Data["second"] = []byte("bob:$apr1$x$y")
	if err := c.Update(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	eventually(t, watchTimeout, func() error {
		if err := wantCondition(getCN(t, c), v1alpha1.ConditionTraefikReady, metav1.ConditionFalse, traefik.ReasonDashboardSecretInvalid); err != nil {
			return err
		}
		if n, m := len(list(t, c, ingressRouteGVK)), len(list(t, c, middlewareGVK)); n+m != 0 {
			return fmt.Errorf("%d IngressRoutes and %d Middlewares left", n, m)
		}
		return nil
	})
	if err := wantCondition(getCN(t, c), v1alpha1.ConditionStalled, metav1.ConditionFalse, ""); err != nil {
		t.Error(err)
	}
	delete(s.Data, "second")
	if err := c.Update(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	eventually(t, watchTimeout, func() error {
		if n, m := len(list(t, c, ingressRouteGVK)), len(list(t, c, middlewareGVK)); n != 1 || m != 1 {
			return fmt.Errorf("%d IngressRoutes and %d Middlewares", n, m)
		}
		return nil
	})
}

// checkGeneratedSecret lets wharf generate the dashboard user and returns
// its password, after checking it against the Secret's bcrypt hash.
func checkGeneratedSecret(t *testing.T, c client.Client) string {
	setTraefik(t, c, func(s *v1alpha1.TraefikSpec) { s.Dashboard.BasicAuth = &v1alpha1.BasicAuth{} })
	waitObserved(t, c, func(cn *v1alpha1.ClusterNetworking) error {
		if st := cn.Status.Traefik; st == nil || st.DashboardSecret != traefik.GeneratedSecretName {
			return fmt.Errorf("status.traefik = %+v", cn.Status.Traefik)
		}
		mw := &unstructured.Unstructured{}
		mw.SetGroupVersionKind(middlewareGVK)
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: traefik.DashboardMiddlewareName}, mw); err != nil {
			return err
		}
		if s, _, _ := unstructured.NestedString(mw.Object, "spec", "basicAuth", "secret"); s != traefik.GeneratedSecretName {
			return fmt.Errorf("the Middleware reads %q", s)
		}
		return nil
	})
	s := generatedSecret(t, c)
	if s.Type != corev1.SecretTypeBasicAuth || string(s.Data["username"]) != traefik.GeneratedUser {
		t.Errorf("generated Secret: type %s, user %q", s.Type, s.Data["username"])
	}
	password := s.Data["password"]
	if len(password) < 24 {
		t.Errorf("the password has %d characters", len(password))
	}
	_, hash, _ := strings.Cut(strings.TrimSpace(string(s.Data[traefik.GeneratedUsersKey])), ":")
	if err := bcrypt.CompareHashAndPassword([]byte(hash), password); err != nil {
		t.Errorf("the generated password does not verify against the Secret's hash: %v", err)
	}
	raw, err := json.Marshal(getCN(t, c))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), string(password)) {
		t.Errorf("the password is in the ClusterNetworking")
	}
	return string(password)
}

func checkPasswordKept(t *testing.T, c client.Client, password string, restart func()) {
	first := generatedSecret(t, c)
	dep := deployment(t, c).ResourceVersion
	for i := 1; i <= 11; i++ {
		if i == 11 {
			restart()
		}
		setTraefik(t, c, func(s *v1alpha1.TraefikSpec) {
			s.Values = values(t, fmt.Sprintf(`{"deployment": {"replicas": 2}, "global": {"wharfTestNonce": %d}}`, i))
		})
		waitObserved(t, c, func(*v1alpha1.ClusterNetworking) error { return nil })
		s := generatedSecret(t, c)
		if string(s.Data["password"]) != password || s.UID != first.UID || s.ResourceVersion != first.ResourceVersion {
			t.Fatalf("reconcile %d changed the generated Secret", i)
		}
	}
	if deployment(t, c).ResourceVersion != dep {
		t.Errorf("reconciles that change nothing rewrote the Deployment")
	}
}

// checkDashboardOffPrunes: the generated Secret is pruned like any object
// wharf applied once the dashboard is off, and the next one has a new
// password.
func checkDashboardOffPrunes(t *testing.T, c client.Client, password string) {
	key := client.ObjectKey{Namespace: ns, Name: traefik.GeneratedSecretName}
	setTraefik(t, c, func(s *v1alpha1.TraefikSpec) { s.Dashboard.Enabled = false })
	eventually(t, timeout, func() error {
		if err := c.Get(context.Background(), key, &corev1.Secret{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("the generated Secret is still there (%v)", err)
		}
		return nil
	})
	setTraefik(t, c, func(s *v1alpha1.TraefikSpec) { s.Dashboard.Enabled = true })
	eventually(t, timeout, func() error {
		s := &corev1.Secret{}
		if err := c.Get(context.Background(), key, s); err != nil {
			return err
		}
		if string(s.Data["password"]) == password {
			t.Fatalf("the new generated Secret has the old password")
		}
		return nil
	})
}

func checkRemoteChart(t *testing.T, c client.Client) {
	repo := traefik.StartChartRepo(t, "9.9.9", false)
	setTraefik(t, c, func(s *v1alpha1.TraefikSpec) {
		s.Chart = &v1alpha1.ChartSource{Repository: repo.URL, Name: "traefik", Version: "9.9.9", Insecure: true}
	})
	waitObserved(t, c, func(cn *v1alpha1.ClusterNetworking) error {
		if st := cn.Status.Traefik; st == nil || st.Chart != "traefik-9.9.9" {
			return fmt.Errorf("status.traefik = %+v", st)
		}
		if l := deployment(t, c).Labels["helm.sh/chart"]; l != "traefik-9.9.9" {
			return fmt.Errorf("the Deployment has helm.sh/chart=%s", l)
		}
		return nil
	})
	setTraefik(t, c, func(s *v1alpha1.TraefikSpec) { s.Chart = nil })
	waitObserved(t, c, func(cn *v1alpha1.ClusterNetworking) error {
		if l := deployment(t, c).Labels["helm.sh/chart"]; l != "traefik-1.1.0" {
			return fmt.Errorf("the Deployment has helm.sh/chart=%s", l)
		}
		return nil
	})
}

func checkDisable(t *testing.T, c client.Client) {
	userMW := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": "user-strip", "namespace": "default"},
		"spec":     map[string]any{"stripPrefix": map[string]any{"prefixes": []any{"/app"}}},
	}}
	userMW.SetGroupVersionKind(middlewareGVK)
	mustCreate(t, c, userMW)
	setTraefik(t, c, func(s *v1alpha1.TraefikSpec) { s.Enabled = ptr.To(false) })
	waitObserved(t, c, func(cn *v1alpha1.ClusterNetworking) error {
		if err := wantCondition(cn, v1alpha1.ConditionTraefikReady, metav1.ConditionTrue, v1alpha1.ReasonDisabled); err != nil {
			return err
		}
		if err := c.Get(context.Background(), deploymentKey, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("the Deployment is still there (%v)", err)
		}
		return nil
	})
	cn := getCN(t, c)
	if cn.Status.Traefik != nil {
		t.Errorf("status.traefik = %+v after disabling", cn.Status.Traefik)
	}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: traefik.GeneratedSecretName}, &corev1.Secret{}); !apierrors.IsNotFound(err) {
		t.Errorf("the generated Secret is still there (%v)", err)
	}
	if objectExists(c, ingressRouteGVK, ns, traefik.DashboardRouteName) == nil {
		t.Errorf("the dashboard route is still there")
	}
	// The user's Middleware keeps the CRDs, and only them, in the inventory.
	checkCRDs(t, c, 10)
	for _, e := range cn.Status.Inventory {
		if e.Component == "traefik" && e.Kind != "CustomResourceDefinition" {
			t.Errorf("%s %s is still in the inventory", e.Kind, e.Name)
		}
	}
	if err := c.Delete(context.Background(), userMW); err != nil {
		t.Fatal(err)
	}
	// Any reconcile (here a spec change) sees the CRDs are unused now.
	setTraefik(t, c, func(s *v1alpha1.TraefikSpec) { s.Values = values(t, `{"global": {"wharfTestNonce": "off"}}`) })
	eventually(t, timeout, func() error {
		crds := &apiextensionsv1.CustomResourceDefinitionList{}
		if err := c.List(context.Background(), crds); err != nil {
			return err
		}
		for _, crd := range crds.Items {
			if crd.Spec.Group == "traefik.io" {
				return fmt.Errorf("CRD %s is still there", crd.Name)
			}
		}
		return nil
	})
}

// helpers

var (
	ingressRouteGVK = schema.GroupVersionKind{Group: "traefik.io", Version: "v1alpha1", Kind: "IngressRoute"}
	middlewareGVK   = schema.GroupVersionKind{Group: "traefik.io", Version: "v1alpha1", Kind: "Middleware"}
)

func eventually(t *testing.T, d time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", d, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func mustCreate(t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Create(context.Background(), obj); err != nil {
		t.Fatalf("create %s: %v", obj.GetName(), err)
	}
}

func getCN(t *testing.T, c client.Client) *v1alpha1.ClusterNetworking {
	t.Helper()
	cn := &v1alpha1.ClusterNetworking{}
	if err := c.Get(context.Background(), client.ObjectKey{Name: v1alpha1.SingletonName}, cn); err != nil {
		t.Fatal(err)
	}
	return cn
}

func setTraefik(t *testing.T, c client.Client, mutate func(*v1alpha1.TraefikSpec)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cn := getCN(t, c)
		mutate(&cn.Spec.Traefik)
		return c.Update(context.Background(), cn)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// waitObserved waits until status describes the current generation and
// check passes.
func waitObserved(t *testing.T, c client.Client, check func(*v1alpha1.ClusterNetworking) error) {
	t.Helper()
	eventually(t, timeout, func() error {
		cn := getCN(t, c)
		if cn.Status.ObservedGeneration != cn.Generation {
			return fmt.Errorf("observedGeneration %d, generation %d", cn.Status.ObservedGeneration, cn.Generation)
		}
		return check(cn)
	})
}

func wantCondition(cn *v1alpha1.ClusterNetworking, typ string, status metav1.ConditionStatus, reason string) error {
	cond := meta.FindStatusCondition(cn.Status.Conditions, typ)
	if cond == nil || cond.Status != status || (reason != "" && cond.Reason != reason) {
		return fmt.Errorf("%s = %+v, want %s %s", typ, cond, status, reason)
	}
	return nil
}

func values(t *testing.T, s string) *apiextensionsv1.JSON {
	t.Helper()
	if !json.Valid([]byte(s)) {
		t.Fatalf("bad JSON %s", s)
	}
	return &apiextensionsv1.JSON{Raw: []byte(s)}
}

func deployment(t *testing.T, c client.Client) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{}
	if err := c.Get(context.Background(), deploymentKey, d); err != nil {
		t.Fatal(err)
	}
	return d
}

func deploymentHasArg(t *testing.T, c client.Client, arg string) error {
	if args := deployment(t, c).Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, arg) {
		return fmt.Errorf("args %v lack %s", args, arg)
	}
	return nil
}

func generatedSecret(t *testing.T, c client.Client) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: traefik.GeneratedSecretName}, s); err != nil {
		t.Fatal(err)
	}
	return s
}

func objectExists(c client.Client, gvk schema.GroupVersionKind, namespace, name string) error {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	return c.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, u)
}

func list(t *testing.T, c client.Client, gvk schema.GroupVersionKind) []unstructured.Unstructured {
	t.Helper()
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := c.List(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	return l.Items
}

func firstRoute(t *testing.T, route unstructured.Unstructured) map[string]any {
	t.Helper()
	routes, _, _ := unstructured.NestedSlice(route.Object, "spec", "routes")
	if len(routes) != 1 {
		t.Fatalf("the IngressRoute has %d routes", len(routes))
	}
	return routes[0].(map[string]any)
}

// versions maps each traefik object of the inventory to its resourceVersion.
func versions(t *testing.T, c client.Client) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, e := range getCN(t, c).Status.Inventory {
		if e.Component != "traefik" {
			continue
		}
		m := &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(schema.GroupVersionKind{Group: e.Group, Version: e.Version, Kind: e.Kind})
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: e.Namespace, Name: e.Name}, m); err != nil {
			t.Fatal(err)
		}
		out[e.Group+"/"+e.Kind+"/"+e.Namespace+"/"+e.Name] = m.ResourceVersion
	}
	return out
}
