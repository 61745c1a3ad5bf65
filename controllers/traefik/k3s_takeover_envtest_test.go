package traefik_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/internal/apply"
	"github.com/wharf-dev/wharf/internal/render"
	"github.com/wharf-dev/wharf/internal/testenv"
	"github.com/wharf-dev/wharf/templates"
	"github.com/wharf-dev/wharf/test/k3s"
)

// TestK3sTraefikTakeOver takes over the Traefik K3s installed, as K3s
// does it: K3s's deploy controller applies the HelmCharts traefik-crd and
// traefik with wrangler, and helm-controller (here Helm's own library)
// installs them as Helm releases. With spec.traefik.adoptHelmReleases
// naming them, wharf adopts the objects in place; then k3s --disable
// traefik deletes the HelmCharts and helm-controller's job runs a real
// `helm uninstall` of each release. Every object wharf adopted stays the
// same object with the same spec (the Deployment's pods are not
// replaced), the traefik.io CRDs and the user's IngressRoutes and
// Middlewares stay, and the Service keeps its ingress. An object only the
// release had is uninstalled, as before. The manager runs with the
// install's RBAC and admission policies only.
func TestK3sTraefikTakeOver(t *testing.T) {
	ctx := context.Background()
	env := testenv.Start(t)
	c := env.Client
	helmChartCRD, err := k3s.HelmChartCRD()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := envtest.InstallCRDs(env.Config, envtest.CRDInstallOptions{CRDs: []*apiextensionsv1.CustomResourceDefinition{helmChartCRD}}); err != nil {
		t.Fatal(err)
	}
	deployer, err := k3s.NewDeployer(env.Config, "traefik")
	if err != nil {
		t.Fatal(err)
	}
	if err := deployer.Apply(k3s.Traefik()...); err != nil {
		t.Fatal(err)
	}
	helm, err := k3s.NewHelmController(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := render.LoadChart(templates.Traefik, "traefik")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := helm.Install("traefik-crd", k3s.CRDChart(ch), nil, false); err != nil {
		t.Fatal(err)
	}
	values := map[string]any{}
	if err := yaml.Unmarshal([]byte(k3s.TraefikValues), &values); err != nil {
		t.Fatal(err)
	}
	// A witness only the release has: uninstalling really deletes what is
	// still Helm's.
	witness := map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "helm-only-witness", "namespace": ns}}
	withWitness := map[string]any{"extraObjects": []any{witness}}
	for k, v := range values {
		withWitness[k] = v
	}
	if _, err := helm.Install("traefik", ch, withWitness, true); err != nil {
		t.Fatal(err)
	}
	userObjects := createUserRoutes(t, c)
	svc := &corev1.Service{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "traefik"}, svc); err != nil {
		t.Fatal(err)
	}
	// K3s's ServiceLB published the Service's ingress.
	if err := c.Status().Patch(ctx, svc, client.RawPatch(types.MergePatchType, []byte(`{"status":{"loadBalancer":{"ingress":[{"ip":"10.0.0.51"}]}}}`))); err != nil {
		t.Fatal(err)
	}
	before := traefikObjects(t, c, ch)

	startCN := func() {
		cn := &v1alpha1.ClusterNetworking{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.SingletonName}}
		cn.Spec.CoreDNS.Enabled = ptr.To(false)
		cn.Spec.ServiceLB.Enabled = ptr.To(false)
		raw, err := json.Marshal(values)
		if err != nil {
			t.Fatal(err)
		}
		cn.Spec.Traefik.Values = &apiextensionsv1.JSON{Raw: raw}
		mustCreate(t, c, cn)
		// The manager runs with exactly the rights the install gives it:
		// its ClusterRole, confined by the admission policies.
		testenv.InstallManagerScope(ctx, t, c)
		testenv.StartManager(t, testenv.ManagerConfig(env.Config))
	}

	t.Run("without adoptHelmReleases K3s's Traefik is a Conflict", func(t *testing.T) {
		startCN()
		waitObserved(t, c, func(cn *v1alpha1.ClusterNetworking) error {
			return wantCondition(cn, v1alpha1.ConditionTraefikReady, metav1.ConditionFalse, apply.ReasonConflict)
		})
		unchangedSince(t, c, before)
	})

	t.Run("a release whose objects wharf cannot all take is left unmarked", func(t *testing.T) {
		// Only traefik-crd named: its CRDs could be adopted, but the
		// Deployment and the rest of release traefik still conflict, so
		// nothing is applied, and K3s's records must stay as K3s wrote them.
		records := releaseRecords(t, c, "traefik-crd")
		setTraefik(t, c, func(s *v1alpha1.TraefikSpec) { s.AdoptHelmReleases = []string{"traefik-crd"} })
		waitObserved(t, c, func(cn *v1alpha1.ClusterNetworking) error {
			return wantCondition(cn, v1alpha1.ConditionTraefikReady, metav1.ConditionFalse, apply.ReasonConflict)
		})
		if got := releaseRecords(t, c, "traefik-crd"); !equality.Semantic.DeepEqual(got, records) {
			t.Errorf("the records of release traefik-crd changed while Traefik was in conflict: %v, were %v", got, records)
		}
		unchangedSince(t, c, before)
	})

	t.Run("adoptHelmReleases takes the release objects over in place", func(t *testing.T) {
		setTraefik(t, c, func(s *v1alpha1.TraefikSpec) { s.AdoptHelmReleases = []string{"traefik", "traefik-crd"} })
		eventually(t, timeout, func() error {
			for id := range before {
				u := id.get(c)
				if u == nil {
					return fmt.Errorf("%s is gone", id)
				}
				if u.GetAnnotations()[apply.OriginAnnotation] != apply.OriginAdopted {
					return fmt.Errorf("%s not adopted yet: annotations %v", id, u.GetAnnotations())
				}
			}
			return nil
		})
		unchangedSince(t, c, before)
	})

	t.Run("k3s --disable traefik and helm uninstall keep what wharf adopted", func(t *testing.T) {
		if err := deployer.Disable(); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"traefik", "traefik-crd"} {
			res, err := helm.Uninstall(name)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("helm uninstall %s: %s", name, strings.TrimSpace(res.Info))
		}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "helm-only-witness"}, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
			t.Fatalf("helm uninstall did not delete the release's own ConfigMap (err %v): the test proves nothing", err)
		}
		time.Sleep(2 * time.Second) // let CRD deletion reach the custom resources
		unchangedSince(t, c, before)
		for _, u := range userObjects {
			if err := objectExists(c, u.GroupVersionKind(), u.GetNamespace(), u.GetName()); err != nil {
				t.Errorf("the user's %s %s: %v", u.GetKind(), u.GetName(), err)
			}
		}
		if err := c.Get(ctx, client.ObjectKeyFromObject(svc), svc); err != nil {
			t.Fatal(err)
		}
		if in := svc.Status.LoadBalancer.Ingress; len(in) != 1 || in[0].IP != "10.0.0.51" {
			t.Errorf("the traefik Service's ingress is %v", in)
		}
	})

	t.Run("rollback: K3s's Traefik installs again over what wharf released", func(t *testing.T) {
		setTraefik(t, c, func(s *v1alpha1.TraefikSpec) { s.Enabled = ptr.To(false) })
		eventually(t, timeout, func() error {
			for id := range before {
				if u := id.get(c); u != nil && apply.IsWharfs(u.GetLabels()) {
					return fmt.Errorf("%s is still wharf's: labels %v", id, u.GetLabels())
				}
			}
			return nil
		})
		cn := getCN(t, c)
		if err := c.Delete(ctx, cn); err != nil {
			t.Fatal(err)
		}
		if err := deployer.Apply(k3s.Traefik()...); err != nil {
			t.Fatal(err)
		}
		if _, err := helm.Install("traefik-crd", k3s.CRDChart(ch), nil, false); err != nil {
			t.Fatal(err)
		}
		if _, err := helm.Install("traefik", ch, withWitness, true); err != nil {
			t.Fatal(err)
		}
		unchangedSince(t, c, before)
		for _, u := range userObjects {
			if err := objectExists(c, u.GroupVersionKind(), u.GetNamespace(), u.GetName()); err != nil {
				t.Errorf("the user's %s %s: %v", u.GetKind(), u.GetName(), err)
			}
		}
	})
}

// objectID names one object for unchangedSince.
type objectID struct {
	apiVersion, kind, namespace, name string
}

func (id objectID) String() string { return id.kind + " " + id.namespace + "/" + id.name }

// get returns the object, or nil when it does not exist.
func (id objectID) get(c client.Client) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(id.apiVersion)
	u.SetKind(id.kind)
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: id.namespace, Name: id.name}, u); err != nil {
		return nil
	}
	return u
}

// objectState is what must not change of an object taken over: its UID
// (not deleted and created again) and its spec (for the Deployment: the
// same pod template, so no pod is replaced). Not its generation: a
// Deployment's counts changes to its annotations too.
type objectState struct {
	uid  types.UID
	spec any
}

// traefikObjects returns the state of what K3s's Traefik runs: the
// Deployment, Service, ServiceAccount, IngressClass and the traefik.io
// CRDs of ch.
func traefikObjects(t *testing.T, c client.Client, ch *chart.Chart) map[objectID]objectState {
	t.Helper()
	ids := []objectID{
		{"apps/v1", "Deployment", ns, "traefik"},
		{"v1", "Service", ns, "traefik"},
		{"v1", "ServiceAccount", ns, "traefik"},
		{"networking.k8s.io/v1", "IngressClass", "", "traefik"},
	}
	for _, crd := range ch.CRDObjects() {
		m := &metav1.PartialObjectMetadata{}
		if err := yaml.Unmarshal(crd.File.Data, m); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, objectID{"apiextensions.k8s.io/v1", "CustomResourceDefinition", "", m.Name})
	}
	out := map[objectID]objectState{}
	for _, id := range ids {
		u := id.get(c)
		if u == nil {
			t.Fatalf("K3s's Traefik has no %s", id)
		}
		out[id] = objectState{uid: u.GetUID(), spec: u.Object["spec"]}
	}
	return out
}

// unchangedSince fails t for each object that is gone, being deleted,
// another object, or with another spec than in before.
func unchangedSince(t *testing.T, c client.Client, before map[objectID]objectState) {
	t.Helper()
	for id, was := range before {
		u := id.get(c)
		switch {
		case u == nil:
			t.Errorf("%s was deleted", id)
		case u.GetDeletionTimestamp() != nil:
			t.Errorf("%s is being deleted", id)
		case u.GetUID() != was.uid:
			t.Errorf("%s was replaced: uid %s, was %s", id, u.GetUID(), was.uid)
		case !equality.Semantic.DeepEqual(u.Object["spec"], was.spec):
			t.Errorf("%s changed: spec\n%v\nwas\n%v", id, u.Object["spec"], was.spec)
		}
	}
}

// createUserRoutes creates the user's own IngressRoute and Middleware, as
// on any K3s cluster with Traefik.
func createUserRoutes(t *testing.T, c client.Client) []*unstructured.Unstructured {
	t.Helper()
	mw := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{"stripPrefix": map[string]any{"prefixes": []any{"/app"}}},
	}}
	mw.SetGroupVersionKind(middlewareGVK)
	mw.SetNamespace("default")
	mw.SetName("strip-app")
	route := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{
			"entryPoints": []any{"web"},
			"routes": []any{map[string]any{
				"match": "Host(`app.example.com`) && PathPrefix(`/app`)", "kind": "Rule",
				"middlewares": []any{map[string]any{"name": "strip-app"}},
				"services":    []any{map[string]any{"name": "app", "port": int64(80)}},
			}},
		},
	}}
	route.SetGroupVersionKind(ingressRouteGVK)
	route.SetNamespace("default")
	route.SetName("app")
	for _, u := range []*unstructured.Unstructured{mw, route} {
		mustCreate(t, c, u)
	}
	return []*unstructured.Unstructured{mw, route}
}

// releaseRecords returns the resourceVersion of each record Secret of a
// Helm release in kube-system, by name.
func releaseRecords(t *testing.T, c client.Client, release string) map[string]string {
	t.Helper()
	list := &corev1.SecretList{}
	if err := c.List(context.Background(), list, client.InNamespace(metav1.NamespaceSystem),
		client.MatchingLabels{"owner": "helm", "name": release}); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) == 0 {
		t.Fatalf("helm release %s has no records", release)
	}
	versions := map[string]string{}
	for _, s := range list.Items {
		versions[s.Name] = s.ResourceVersion
	}
	return versions
}
