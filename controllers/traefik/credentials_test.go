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
	"sigs.k8s.io/controller-runtime/pkg/client"
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

func TestEnsureDashboardSecretGeneratesOnce(t *testing.T) {
	ctx := context.Background()
	cl := fake.NewClientBuilder().Build()
	c := New(component.Deps{Client: cl, Reader: cl})
	cn := newTestCN()

	name, problem, err := c.ensureDashboardSecret(ctx, cn)
	if err != nil || problem != nil || name != GeneratedSecretName {
		t.Fatalf("ensureDashboardSecret = %q, %v, %v", name, problem, err)
	}
	first := &corev1.Secret{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: "kube-system", Name: GeneratedSecretName}, first); err != nil {
		t.Fatal(err)
	}
	if first.Type != corev1.SecretTypeBasicAuth || first.Labels[apply.ManagedByLabel] != apply.ManagedByValue {
		t.Errorf("generated Secret has type %q and labels %v", first.Type, first.Labels)
	}
	if len(first.OwnerReferences) != 0 {
		t.Errorf("generated Secret owner references = %v, want none (the garbage collector must never delete it)", first.OwnerReferences)
	}
	verifyGenerated(t, first)
	for range 10 {
		if _, problem, err := c.ensureDashboardSecret(ctx, cn); err != nil || problem != nil {
			t.Fatalf("ensureDashboardSecret: %v, %v", problem, err)
		}
	}
	again := &corev1.Secret{}
	if err := cl.Get(ctx, client.ObjectKeyFromObject(first), again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Data["password"], first.Data["password"]) || again.ResourceVersion != first.ResourceVersion {
		t.Errorf("the generated Secret changed over reconciles")
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

func TestEnsureDashboardSecretUserSecret(t *testing.T) {
	ctx := context.Background()
	cl := fake.NewClientBuilder().Build()
	c := New(component.Deps{Client: cl, Reader: cl})
	cn := newTestCN()
	cn.Spec.Traefik.Dashboard.BasicAuth.SecretName = "authsecret"

	_, problem, err := c.ensureDashboardSecret(ctx, cn)
	if err != nil || problem == nil || !strings.Contains(problem.Error(), "does not exist") {
		t.Fatalf("missing user Secret: problem %v, err %v", problem, err)
	}
	list := &corev1.SecretList{}
	if err := cl.List(ctx, list); err != nil || len(list.Items) != 0 {
		t.Fatalf("a Secret was created for a user's missing Secret: %v %v", list.Items, err)
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "authsecret", Namespace: "kube-system"},
		Data: map[string][]byte{"users": []byte(seedsUsers)}}
	if err := cl.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	if name, problem, err := c.ensureDashboardSecret(ctx, cn); err != nil || problem != nil || name != "authsecret" {
		t.Fatalf("seeds Secret: %q, %v, %v", name, problem, err)
	}
}

func TestDeleteGeneratedSecretOnlyOurs(t *testing.T) {
	ctx := context.Background()
	theirs := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: GeneratedSecretName, Namespace: "kube-system"}}
	cl := fake.NewClientBuilder().WithObjects(theirs).Build()
	c := New(component.Deps{Client: cl, Reader: cl})
	if err := c.deleteGeneratedSecret(ctx, newTestCN()); err != nil {
		t.Fatal(err)
	}
	if err := cl.Get(ctx, client.ObjectKeyFromObject(theirs), &corev1.Secret{}); err != nil {
		t.Errorf("a Secret wharf did not create was deleted: %v", err)
	}
}
