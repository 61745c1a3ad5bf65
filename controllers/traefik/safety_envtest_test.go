package traefik_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/traefik"
	"github.com/wharf-dev/wharf/internal/testenv"
)

// TestChartFetchAndHelmChartConfigOnAPIServer runs the manager against a
// real API server with CoreDNS and Traefik enabled: a chart repository
// that hangs does not hold up CoreDNS, and valuesFrom reads K3s's
// HelmChartConfig, whose CRD comes after the manager started.
func TestChartFetchAndHelmChartConfigOnAPIServer(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	env := testenv.Start(t)
	c := env.Client
	testenv.StartManager(t, env.Config)

	release := make(chan struct{})
	var hits atomic.Int32
	repo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
		http.Error(w, "the repository gave up", http.StatusServiceUnavailable)
	}))
	t.Cleanup(repo.Close)

	cn := &v1alpha1.ClusterNetworking{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.SingletonName}}
	cn.Spec.ServiceLB.Enabled = ptr.To(false)
	cn.Spec.Traefik.Chart = &v1alpha1.ChartSource{Repository: repo.URL, Name: "traefik", Version: "9.9.9", Insecure: true}
	mustCreate(t, c, cn)

	t.Run("a hanging repository does not hold up CoreDNS", func(t *testing.T) {
		waitObserved(t, c, func(cn *v1alpha1.ClusterNetworking) error {
			if err := wantCondition(cn, v1alpha1.ConditionTraefikReady, metav1.ConditionFalse, traefik.ReasonChartFetching); err != nil {
				return err
			}
			return corednsConfigHas(c, "cluster.local")
		})
		if hits.Load() == 0 {
			t.Fatal("the repository got no request")
		}
		start := time.Now()
		setSpec(t, c, func(s *v1alpha1.ClusterNetworkingSpec) {
			s.CoreDNS.ExtraHosts = []v1alpha1.HostEntry{{IP: "10.0.0.51", Hostnames: []v1alpha1.Hostname{"k3s.test.org"}}}
		})
		eventually(t, 5*time.Second, func() error { return corednsConfigHas(c, "10.0.0.51 k3s.test.org") })
		t.Logf("the extra host landed in the coredns ConfigMap after %s, the fetch still hanging", time.Since(start))
		waitObserved(t, c, func(cn *v1alpha1.ClusterNetworking) error {
			return wantCondition(cn, v1alpha1.ConditionTraefikReady, metav1.ConditionFalse, traefik.ReasonChartFetching)
		})

		// The repository answers with an error: the failure is reported
		// without waiting for another event, and not fetched again at
		// every reconcile.
		close(release)
		eventually(t, watchTimeout, func() error {
			cn := getCN(t, c)
			if err := wantCondition(cn, v1alpha1.ConditionTraefikReady, metav1.ConditionFalse, traefik.ReasonChartFetchFailed); err != nil {
				return err
			}
			if msg := meta.FindStatusCondition(cn.Status.Conditions, v1alpha1.ConditionTraefikReady).Message; !strings.Contains(msg, "503") {
				return fmt.Errorf("the message does not say 503: %s", msg)
			}
			return nil
		})
		n := hits.Load()
		setSpec(t, c, func(s *v1alpha1.ClusterNetworkingSpec) { s.CoreDNS.ExtraHosts[0].IP = "10.0.0.52" })
		eventually(t, 5*time.Second, func() error { return corednsConfigHas(c, "10.0.0.52 k3s.test.org") })
		if hits.Load() != n {
			t.Errorf("a reconcile within the backoff fetched the chart again")
		}
		setTraefik(t, c, func(s *v1alpha1.TraefikSpec) { s.Chart = nil })
	})

	t.Run("valuesFrom HelmChartConfig", func(t *testing.T) {
		ref := v1alpha1.ValuesReference{Kind: "HelmChartConfig", Name: "traefik"}
		setTraefik(t, c, func(s *v1alpha1.TraefikSpec) { s.ValuesFrom = []v1alpha1.ValuesReference{ref} })
		waitObserved(t, c, func(cn *v1alpha1.ClusterNetworking) error {
			if err := wantCondition(cn, v1alpha1.ConditionTraefikReady, metav1.ConditionFalse, traefik.ReasonValuesFromMissing); err != nil {
				return err
			}
			if msg := meta.FindStatusCondition(cn.Status.Conditions, v1alpha1.ConditionTraefikReady).Message; !strings.Contains(msg, "no HelmChartConfig CRD") {
				return fmt.Errorf("the message does not say the CRD is missing: %s", msg)
			}
			return nil
		})
		// Optional, it is skipped.
		setTraefik(t, c, func(s *v1alpha1.TraefikSpec) { s.ValuesFrom[0].Optional = true })
		waitObserved(t, c, func(cn *v1alpha1.ClusterNetworking) error {
			if cond := meta.FindStatusCondition(cn.Status.Conditions, v1alpha1.ConditionTraefikReady); cond == nil || cond.Reason == traefik.ReasonValuesFromMissing {
				return fmt.Errorf("TraefikReady = %+v", cond)
			}
			return objectExists(c, deploymentGVK, ns, "traefik")
		})

		installCRD(t, c, filepath.Join("testdata", "helmchartconfig-crd", "helmchartconfigs.yaml"))
		hcc := &unstructured.Unstructured{Object: map[string]any{
			"metadata": map[string]any{"name": "traefik", "namespace": ns},
			"spec":     map[string]any{"valuesContent": "logs:\n  general:\n    level: DEBUG\n"},
		}}
		hcc.SetGroupVersionKind(traefik.HelmChartConfigGVK)
		mustCreate(t, c, hcc)
		setTraefik(t, c, func(s *v1alpha1.TraefikSpec) { s.ValuesFrom[0].Optional = false })
		eventually(t, timeout, func() error { return deploymentHasArg(t, c, "--log.level=DEBUG") })
	})
}

var deploymentGVK = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}

func corednsConfigHas(c client.Client, s string) error {
	cm := &corev1.ConfigMap{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "coredns"}, cm); err != nil {
		return err
	}
	for _, v := range cm.Data {
		if strings.Contains(v, s) {
			return nil
		}
	}
	return fmt.Errorf("the coredns ConfigMap does not hold %q", s)
}

func setSpec(t *testing.T, c client.Client, mutate func(*v1alpha1.ClusterNetworkingSpec)) {
	t.Helper()
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cn := getCN(t, c)
		mutate(&cn.Spec)
		return c.Update(context.Background(), cn)
	}); err != nil {
		t.Fatal(err)
	}
}

// installCRD creates the CRD in file and waits until it is served.
func installCRD(t *testing.T, c client.Client, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal(data, crd); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, c, crd)
	eventually(t, timeout, func() error {
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(crd), crd); err != nil {
			return err
		}
		for _, cond := range crd.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("CRD %s is not established", crd.Name)
	})
}
