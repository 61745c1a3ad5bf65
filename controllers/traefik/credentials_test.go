package traefik

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
	"github.com/wharf-dev/wharf/internal/apply"
	"github.com/wharf-dev/wharf/internal/defaults"
)

func TestNewCredentials(t *testing.T) {
	a, err := newCredentials("admin")
	if err != nil {
		t.Fatal(err)
	}
	b, err := newCredentials("admin")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.password) < 24 {
		t.Errorf("password has %d characters, want at least 24", len(a.password))
	}
	if a.password == b.password {
		t.Errorf("two generated passwords are equal")
	}
	user, hash, ok := strings.Cut(strings.TrimSuffix(a.htpasswd, "\n"), ":")
	if !ok || user != "admin" {
		t.Fatalf("htpasswd line %q is not admin:hash", a.htpasswd)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(a.password)); err != nil {
		t.Errorf("the password does not verify against its bcrypt hash: %v", err)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(b.password)); err == nil {
		t.Errorf("another password verifies against the hash")
	}
}

func newTestCN() *v1alpha1.ClusterNetworking {
	cn := &v1alpha1.ClusterNetworking{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.SingletonName, UID: "uid-1"}}
	cn.Spec.Traefik.Dashboard = v1alpha1.DashboardSpec{Enabled: true, Host: "traefik.example.com", BasicAuth: &v1alpha1.BasicAuth{}}
	if err := defaults.Apply(cn); err != nil {
		panic(err)
	}
	return cn
}

// TestDashboardFactsGeneratesOnce: without the generated Secret, Inputs
// draws credentials for it; once it exists (as the Applier leaves it, with
// wharf's labels), every later reconcile renders what it holds, so the
// password survives.
func TestDashboardFactsGeneratesOnce(t *testing.T) {
	ctx := context.Background()
	cl := fake.NewClientBuilder().Build()
	c := New(component.Deps{Client: cl, Reader: cl})
	cn := newTestCN()

	f := facts{}
	if err := c.dashboardFacts(ctx, cn, &f); err != nil || f.dashboardProblem != nil || f.in.DashboardSecret != GeneratedSecretName {
		t.Fatalf("dashboardFacts: %v, problem %v, secret %q", err, f.dashboardProblem, f.in.DashboardSecret)
	}
	first := f.generated
	if first == nil || !f.drawn {
		t.Fatalf("no credentials drawn for a missing generated Secret")
	}
	if first.Type != corev1.SecretTypeBasicAuth || first.Namespace != "kube-system" {
		t.Errorf("generated Secret has type %q in %q", first.Type, first.Namespace)
	}
	if len(first.OwnerReferences) != 0 {
		t.Errorf("generated Secret owner references = %v, want none (the garbage collector must never delete it)", first.OwnerReferences)
	}
	verifyGenerated(t, first)

	applied := first.DeepCopy()
	applied.Labels[apply.ManagedByLabel], applied.Labels[apply.ComponentLabel] = apply.ManagedByValue, componentName
	if err := cl.Create(ctx, applied); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		again := facts{}
		if err := c.dashboardFacts(ctx, cn, &again); err != nil || again.dashboardProblem != nil {
			t.Fatalf("dashboardFacts: %v, problem %v", err, again.dashboardProblem)
		}
		if again.drawn || again.generated == nil || !bytes.Equal(again.generated.Data["password"], first.Data["password"]) {
			t.Fatalf("the generated Secret's password changed over reconciles (drawn again: %v)", again.drawn)
		}
	}
}

// verifyGenerated checks the generated password against the bcrypt hash in
// the users key, and that Traefik's own check (SHA-1 of the password of a
// kubernetes.io/basic-auth Secret) is what it reads.
func verifyGenerated(t *testing.T, s *corev1.Secret) {
	t.Helper()
	if err := ValidateDashboardSecret(s); err != nil {
		t.Fatalf("the generated Secret is not valid: %v", err)
	}
	password := s.Data["password"]
	_, hash, _ := strings.Cut(strings.TrimSpace(string(s.Data[GeneratedUsersKey])), ":")
	if err := bcrypt.CompareHashAndPassword([]byte(hash), password); err != nil {
		t.Errorf("the generated password does not verify against the Secret's hash: %v", err)
	}
	sum := sha1.Sum(password)
	if line := string(s.Data["username"]) + ":{SHA}" + base64.StdEncoding.EncodeToString(sum[:]); validateHtpasswdLine(line) != nil {
		t.Errorf("the line Traefik derives is not valid: %q", line)
	}
}

// TestDashboardFactsUserSecret: a Secret the user names is read, never
// rendered; a missing one is a problem, not a Secret wharf makes.
func TestDashboardFactsUserSecret(t *testing.T) {
	ctx := context.Background()
	cl := fake.NewClientBuilder().Build()
	c := New(component.Deps{Client: cl, Reader: cl})
	cn := newTestCN()
	cn.Spec.Traefik.Dashboard.BasicAuth.SecretName = "authsecret"

	f := facts{}
	if err := c.dashboardFacts(ctx, cn, &f); err != nil || f.dashboardProblem == nil || !strings.Contains(f.dashboardProblem.Error(), "does not exist") {
		t.Fatalf("missing user Secret: problem %v, err %v", f.dashboardProblem, err)
	}
	if f.generated != nil || f.in.DashboardSecret != "" {
		t.Fatalf("a Secret is rendered (%v) or the dashboard bound (%q) for a user's missing Secret", f.generated != nil, f.in.DashboardSecret)
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "authsecret", Namespace: "kube-system"},
		Data: map[string][]byte{"users": []byte(seedsUsers)}}
	if err := cl.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	f = facts{}
	if err := c.dashboardFacts(ctx, cn, &f); err != nil || f.dashboardProblem != nil || f.in.DashboardSecret != "authsecret" || f.generated != nil {
		t.Fatalf("seeds Secret: %v, problem %v, bound to %q, rendered %v", err, f.dashboardProblem, f.in.DashboardSecret, f.generated != nil)
	}
}

// TestDashboardFactsLeavesAForeignSecret: a Secret of the generated name
// that wharf did not create is used as it is, never rendered, so wharf
// neither takes it over nor prunes it.
func TestDashboardFactsLeavesAForeignSecret(t *testing.T) {
	ctx := context.Background()
	theirs := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: GeneratedSecretName, Namespace: "kube-system"},
		Data: map[string][]byte{"users": []byte(seedsUsers)}}
	cl := fake.NewClientBuilder().WithObjects(theirs).Build()
	c := New(component.Deps{Client: cl, Reader: cl})
	f := facts{}
	if err := c.dashboardFacts(ctx, newTestCN(), &f); err != nil || f.dashboardProblem != nil {
		t.Fatalf("dashboardFacts: %v, problem %v", err, f.dashboardProblem)
	}
	if f.generated != nil || f.drawn || f.in.DashboardSecret != GeneratedSecretName {
		t.Errorf("a Secret wharf did not create is rendered (%v) or replaced (%v), or not used (%q)", f.generated != nil, f.drawn, f.in.DashboardSecret)
	}
}
