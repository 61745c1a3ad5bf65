package ship

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers"
	"github.com/wharf-dev/wharf/internal/apply"
	"github.com/wharf-dev/wharf/internal/defaults"
	"github.com/wharf-dev/wharf/internal/preview"
	"github.com/wharf-dev/wharf/internal/testenv"
)

// The policy's messages, as the API server returns them.
const (
	outsideNamespaces = "writes only in the namespaces of spec.coredns"
	bindsOnlyOwnRole  = "binds only a component's own role"
	protectedNames    = "writes no role or binding named cluster-admin"
	traefikCRDsOnly   = "writes only CustomResourceDefinitions of the traefik.io group"
	namespacesOnly    = "creates only the namespaces of spec.coredns"
	// byPolicy is in the message of a refusal by either policy.
	byPolicy = "ValidatingAdmissionPolicy 'wharf-manager-"
)

// TestManagerScope loads the generated ClusterRole (config/rbac) and the
// admission policy (config/admission) into a real API server, creates the
// seeds' ClusterNetworking, and acts as the manager's ServiceAccount
// (impersonated, so that RBAC and the policy judge it as they judge the
// pod): what wharf renders for the sample is accepted, and what a stolen
// token would try beyond it is refused.
func TestManagerScope(t *testing.T) {
	env := testenv.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	admin := env.Client

	installScope(ctx, t, admin)
	mgr := managerClient(t, env.Config)
	attacker := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: metav1.NamespaceDefault, Name: "attacker"}}
	escalate := func(role string) *rbacv1.ClusterRoleBinding {
		return &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "escalate-" + role},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role}, Subjects: attacker}
	}
	secret := func(ns, name string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StringData: map[string]string{"k": "v"}}
	}

	// The policies take effect once the API server has loaded them: until
	// then what they refuse goes through (RBAC lets the manager bind its
	// own role: it holds every permission in it).
	poll(ctx, t, time.Minute, func() error {
		err := mgr.Create(ctx, escalate(managerName))
		if err == nil {
			_ = admin.Delete(ctx, escalate(managerName))
			return errors.New("the policy does not refuse yet")
		}
		return refusedWith(err, bindsOnlyOwnRole)
	})
	t.Run("before any ClusterNetworking: the rules on roles hold, no one else is affected", func(t *testing.T) {
		expectRefused(t, mgr.Delete(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "admin"}}), protectedNames)
		if err := admin.Create(ctx, secret(metav1.NamespaceDefault, "admins")); err != nil {
			t.Errorf("the admin creates a Secret in default: %v", err)
		}
	})

	cn := createSample(ctx, t, admin)
	poll(ctx, t, time.Minute, func() error {
		err := mgr.Create(ctx, secret(metav1.NamespaceDefault, "probe-"+fmt.Sprint(time.Now().UnixNano())))
		if err == nil {
			return errors.New("the policy does not refuse a Secret in default yet")
		}
		return refusedWith(err, outsideNamespaces)
	})

	t.Run("everything wharf renders for the sample is accepted", func(t *testing.T) {
		if err := defaults.Apply(cn); err != nil {
			t.Fatal(err)
		}
		objs, _, err := preview.Objects(cn)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			// A kind whose CRD was just applied is served after a moment.
			var err error
			_ = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
				if !apply.Inventoried(o) {
					// The Applier only creates a missing Namespace.
					err = client.IgnoreAlreadyExists(mgr.Create(ctx, o.DeepCopy(), client.FieldOwner("wharf")))
					return true, nil
				}
				err = serverSideApply(ctx, mgr, o.DeepCopy(), client.FieldOwner("wharf"), client.ForceOwnership) // as wharf's Applier
				return !meta.IsNoMatchError(err), nil
			})
			if err != nil {
				t.Errorf("apply %s %s/%s as the manager: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
			}
		}
	})

	t.Run("Secrets only in the components' namespaces", func(t *testing.T) {
		if err := mgr.Create(ctx, secret(metav1.NamespaceSystem, "wharf-test")); err != nil {
			t.Errorf("a Secret in kube-system, the spec's namespace: %v", err)
		}
		expectRefused(t, mgr.Create(ctx, secret(metav1.NamespaceDefault, "stolen")), outsideNamespaces)
		expectRefused(t, mgr.Create(ctx, secret(systemNamespace, "stolen")), outsideNamespaces)
	})

	t.Run("its own role or cluster-admin bound to another subject is refused", func(t *testing.T) {
		// From here on both policies refuse some requests; which message
		// the API server returns first varies.
		expectRefused(t, mgr.Create(ctx, escalate(managerName)), byPolicy)
		// RBAC's escalation check refuses cluster-admin already.
		expectRefused(t, mgr.Create(ctx, escalate("cluster-admin")), "")
		// The binding of the install, given one more subject.
		crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: managerName}}
		more := []byte(`{"subjects":[{"kind":"ServiceAccount","namespace":"wharf-system","name":"wharf-manager"},` +
			`{"kind":"ServiceAccount","namespace":"default","name":"attacker"}]}`)
		expectRefused(t, mgr.Patch(ctx, crb, client.RawPatch(types.MergePatchType, more)), byPolicy)
		// A role the manager may write (Traefik's, by its name), bound
		// outside the components' namespaces, to itself, or to another role.
		for _, subjects := range [][]rbacv1.Subject{attacker, {{Kind: rbacv1.ServiceAccountKind, Namespace: systemNamespace, Name: serviceAccount}},
			{{Kind: rbacv1.UserKind, Name: "mallory"}}} {
			crb := &rbacv1.ClusterRoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"},
				ObjectMeta: metav1.ObjectMeta{Name: "traefik-kube-system"},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "traefik-kube-system"}, Subjects: subjects}
			expectRefused(t, serverSideApply(ctx, mgr, crb, client.FieldOwner("wharf"), client.ForceOwnership), byPolicy)
		}
		crb = &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "traefik-kube-system"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:coredns"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: metav1.NamespaceSystem, Name: "traefik"}}}
		if err := admin.Delete(ctx, crb); err != nil {
			t.Fatal(err)
		}
		expectRefused(t, mgr.Create(ctx, crb), bindsOnlyOwnRole)
		// RoleBindings: RBAC grants the manager none (the policy would
		// judge them as ClusterRoleBindings).
		rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceSystem, Name: managerName},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: managerName},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: metav1.NamespaceSystem, Name: "traefik"}}}
		expectRefused(t, mgr.Create(ctx, rb), "")
	})

	t.Run("cluster roles and CRDs other than the components' are refused", func(t *testing.T) {
		expectRefused(t, mgr.Delete(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "admin"}}), byPolicy)
		expectRefused(t, mgr.Delete(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "cluster-admin"}}), byPolicy)
		other := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "ingress-nginx"}}
		mustCreate(ctx, t, admin, other)
		expectRefused(t, mgr.Delete(ctx, other), "ClusterRoles and ClusterRoleBindings of CoreDNS")
		crd := &unstructured.Unstructured{}
		crd.SetAPIVersion("apiextensions.k8s.io/v1")
		crd.SetKind("CustomResourceDefinition")
		crd.SetName("widgets.example.com")
		_ = unstructured.SetNestedMap(crd.Object, map[string]any{
			"group": "example.com", "scope": "Namespaced",
			"names": map[string]any{"plural": "widgets", "kind": "Widget"},
			"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object"}}}},
		}, "spec")
		// RBAC grants CRDs by name only, create included (wharf creates them
		// by server-side apply, which RBAC authorizes with the name).
		expectRefused(t, mgr.Create(ctx, crd.DeepCopy()), "")
		expectRefused(t, serverSideApply(ctx, mgr, crd.DeepCopy(), client.FieldOwner("wharf")), "")
		expectRefused(t, mgr.Get(ctx, client.ObjectKey{Name: crdName}, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition"}}), "")
		// Should a future rule grant more, the policy still holds.
		widen := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "widened-crds"}, Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"apiextensions.k8s.io"}, Resources: []string{"customresourcedefinitions"}, Verbs: []string{"create"}}}}
		mustCreate(ctx, t, admin, widen)
		mustCreate(ctx, t, admin, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "widened-crds"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: widen.Name},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: systemNamespace, Name: serviceAccount}}})
		poll(ctx, t, 30*time.Second, func() error { return refusedWith(mgr.Create(ctx, crd.DeepCopy()), traefikCRDsOnly) })
	})

	t.Run("tenants' Services: ServiceLB's finalizer yes; spec, labels, annotations, owners and other finalizers no", func(t *testing.T) {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceDefault, Name: "web"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80}}}}
		mustCreate(ctx, t, admin, svc)
		fin := []byte(`{"metadata":{"finalizers":["service.kubernetes.io/load-balancer-cleanup"]}}`)
		if err := mgr.Patch(ctx, svc.DeepCopy(), client.RawPatch(types.MergePatchType, fin)); err != nil {
			t.Errorf("add the finalizer to default/web: %v", err)
		}
		spec := []byte(`{"spec":{"externalIPs":["10.0.0.99"]}}`)
		expectRefused(t, mgr.Patch(ctx, svc.DeepCopy(), client.RawPatch(types.MergePatchType, spec)), outsideNamespaces)
		for _, meta := range []string{`{"metadata":{"labels":{"team":"mallory"}}}`, `{"metadata":{"annotations":{"svccontroller.k3s.cattle.io/tolerations":"[]"}}}`} {
			expectRefused(t, mgr.Patch(ctx, svc.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(meta))), outsideNamespaces)
		}
		expectRefused(t, mgr.Delete(ctx, svc.DeepCopy()), outsideNamespaces)
		// An owner that does not exist would have the garbage collector
		// delete the Service; a finalizer of its own would block it and its
		// namespace for good.
		for _, meta := range []string{
			`{"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"gone","uid":"6f1c5a8e-0000-4000-8000-000000000000"}]}}`,
			`{"metadata":{"finalizers":["service.kubernetes.io/load-balancer-cleanup","example.com/forever"]}}`,
		} {
			expectRefused(t, mgr.Patch(ctx, svc.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(meta))), outsideNamespaces)
		}
		if err := mgr.Patch(ctx, svc.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`))); err != nil {
			t.Errorf("remove the finalizer from default/web: %v", err)
		}
	})

	t.Run("objects wharf labelled are pruned anywhere, others not", func(t *testing.T) {
		labelled := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceDefault, Name: "left-behind",
			Labels: map[string]string{apply.ManagedByLabel: apply.ManagedByValue}}}
		plain := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceDefault, Name: "tenants"}}
		mustCreate(ctx, t, admin, labelled)
		mustCreate(ctx, t, admin, plain)
		if err := mgr.Delete(ctx, labelled); err != nil {
			t.Errorf("delete a ConfigMap labelled %s=%s in default: %v", apply.ManagedByLabel, apply.ManagedByValue, err)
		}
		expectRefused(t, mgr.Delete(ctx, plain), outsideNamespaces)
	})

	t.Run("cluster roles wharf labelled are pruned after a namespace move", func(t *testing.T) {
		// Traefik's cluster role is named after its namespace: after a move,
		// the old one must still go.
		old := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "traefik-old-namespace",
			Labels: map[string]string{apply.ManagedByLabel: apply.ManagedByValue}}}
		mustCreate(ctx, t, admin, old)
		if err := mgr.Delete(ctx, old); err != nil {
			t.Errorf("delete the ClusterRole %s wharf labelled: %v", old.Name, err)
		}
		expectRefused(t, mgr.Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "traefik-elsewhere",
			Labels: map[string]string{apply.ManagedByLabel: apply.ManagedByValue}}}), "ClusterRoles and ClusterRoleBindings of CoreDNS")
	})

	t.Run("a component namespace moved: the new one may be created, no other", func(t *testing.T) {
		// ServiceLB moves in two steps (a CEL rule refuses one).
		for _, patch := range []string{`{"spec":{"serviceLB":{"enabled":false}}}`, `{"spec":{"serviceLB":{"namespace":"lb-system","enabled":true}}}`} {
			if err := admin.Patch(ctx, cn.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
				t.Fatal(err)
			}
		}
		expectRefused(t, mgr.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere"}}), namespacesOnly)
		poll(ctx, t, 30*time.Second, func() error {
			return mgr.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "lb-system"}})
		})
		if err := mgr.Create(ctx, secret("lb-system", "svclb-state")); err != nil {
			t.Errorf("a Secret in lb-system, the new serviceLB namespace: %v", err)
		}
		// RBAC grants no delete of namespaces.
		expectRefused(t, mgr.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "lb-system"}}), "")
	})
}

// installScope creates what the install gives the manager: its
// ServiceAccount, the generated ClusterRole and its binding, and the
// admission policies.
func installScope(ctx context.Context, t *testing.T, admin client.Client) {
	t.Helper()
	testenv.InstallManagerScope(ctx, t, admin)
}

// createSample creates the objects of config/samples as the admin and
// returns the ClusterNetworking as the API server defaulted it.
func createSample(ctx context.Context, t *testing.T, admin client.Client) *v1alpha1.ClusterNetworking {
	t.Helper()
	cn := &v1alpha1.ClusterNetworking{}
	for _, o := range decodeAll(t, samplePath, readFile(t, samplePath)) {
		mustCreate(ctx, t, admin, o)
		if o.GetKind() == "ClusterNetworking" {
			if err := admin.Get(ctx, client.ObjectKeyFromObject(o), cn); err != nil {
				t.Fatal(err)
			}
		}
	}
	return cn
}

// managerClient returns a client that acts as the manager's ServiceAccount.
func managerClient(t *testing.T, admin *rest.Config) client.Client {
	t.Helper()
	c, err := client.New(testenv.ManagerConfig(admin), client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mustCreate creates obj as the admin.
func mustCreate(ctx context.Context, t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Create(ctx, obj); err != nil {
		t.Fatalf("create %T %s: %v", obj, client.ObjectKeyFromObject(obj), err)
	}
}

// refusedWith returns nil when err is a 403 Forbidden whose message
// contains want.
func refusedWith(err error, want string) error {
	if err == nil {
		return errors.New("accepted")
	}
	if !apierrors.IsForbidden(err) {
		return fmt.Errorf("not refused as Forbidden: %w", err)
	}
	if !strings.Contains(err.Error(), want) {
		return fmt.Errorf("refused, but not with %q: %w", want, err)
	}
	return nil
}

// expectRefused fails t unless err is a 403 Forbidden with want in its
// message ("" for any: RBAC's own refusals).
func expectRefused(t *testing.T, err error, want string) {
	t.Helper()
	if e := refusedWith(err, want); e != nil {
		t.Error(e)
	}
}

// serverSideApply applies obj (typed or unstructured) as wharf's Applier
// does: server-side apply of the whole object.
func serverSideApply(ctx context.Context, c client.Client, obj client.Object, opts ...client.ApplyOption) error {
	gvk, err := c.GroupVersionKindFor(obj)
	if err != nil {
		return err
	}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: content}
	u.SetGroupVersionKind(gvk)
	return c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), opts...)
}
