package testenv

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The install's names for the manager's identity (config/rbac).
const (
	ManagerNamespace      = "wharf-system"
	ManagerServiceAccount = "wharf-manager"
)

// ManagerUser is the user name the API server gives the manager's
// ServiceAccount.
const ManagerUser = "system:serviceaccount:" + ManagerNamespace + ":" + ManagerServiceAccount

// scopeFiles are what dist/install.yaml gives the manager: its
// ServiceAccount, the generated ClusterRole and its binding, and the
// admission policies that confine its token.
var scopeFiles = []string{
	"config/rbac/service_account.yaml", "config/rbac/role.yaml", "config/rbac/role_binding.yaml",
	"config/admission/policy.yaml", "config/admission/binding.yaml",
}

// InstallManagerScope creates, as admin, the manager's namespace and the
// objects of scopeFiles from the repository.
func InstallManagerScope(ctx context.Context, t testing.TB, admin client.Client) {
	t.Helper()
	if err := admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ManagerNamespace}}); err != nil {
		t.Fatalf("create namespace %s: %v", ManagerNamespace, err)
	}
	for _, rel := range scopeFiles {
		objs, err := decodeFile(filepath.Join(RepoRoot(), rel))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if err := admin.Create(ctx, o); err != nil {
				t.Fatalf("create %s %s from %s: %v", o.GetKind(), o.GetName(), rel, err)
			}
		}
	}
}

// ManagerConfig returns admin's config acting as the manager's
// ServiceAccount (impersonation), so that the manager runs with exactly
// the rights the install gives it.
func ManagerConfig(admin *rest.Config) *rest.Config {
	cfg := rest.CopyConfig(admin)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: ManagerUser,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ManagerNamespace, "system:authenticated"}}
	return cfg
}

// decodeFile returns the objects of a multi-document YAML file.
func decodeFile(path string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}
