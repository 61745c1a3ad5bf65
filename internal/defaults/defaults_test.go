package defaults_test

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/diff"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/internal/defaults"
	"github.com/wharf-dev/wharf/internal/testenv"
)

// TestApplyMatchesTheAPIServer defaults specs with Apply and with a real
// API server (a dry-run create), and wants the same spec from both: `manager
// render -f` must render what the operator would render for the same file.
func TestApplyMatchesTheAPIServer(t *testing.T) {
	env := testenv.Start(t)
	for name, spec := range map[string]string{
		"empty": `{}`,
		"the guides' scenario": `
coredns:
  extraHosts: [{ip: 10.0.0.51, hostnames: [k3s.test.org]}]
traefik:
  dashboard: {enabled: true, host: traefik.example.com, entryPoints: [web], basicAuth: {secretName: authsecret}}
serviceLB: {}`,
		"components off":               `{coredns: {enabled: false}, traefik: {enabled: false}, serviceLB: {enabled: false}}`,
		"generated dashboard password": `{traefik: {namespace: ingress, dashboard: {enabled: true, host: t.example.com, basicAuth: {}}}}`,
		"chart and values": `
traefik:
  chart: {repository: https://traefik.github.io/charts, name: traefik, version: 39.0.0}
  values: {deployment: {replicas: 2}}
  valuesFrom: [{kind: ConfigMap, name: extra, key: values.yaml}]`,
		"serviceLB pools":                `{serviceLB: {namespace: svclb, nodeSelector: {matchLabels: {pool: edge}}, tolerations: [{operator: Exists}]}}`,
		"coredns nodeHosts and upstream": `{coredns: {nodeHosts: false, upstreams: [1.1.1.1, 8.8.8.8], cache: {successTTL: 10}, snippets: {serverBlock: log}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			cn := &v1alpha1.ClusterNetworking{}
			cn.Name = v1alpha1.SingletonName
			if err := yaml.UnmarshalStrict([]byte(spec), &cn.Spec); err != nil {
				t.Fatalf("the test's spec: %v", err)
			}
			server := cn.DeepCopy()
			if err := env.Client.Create(context.Background(), server, client.DryRunAll); err != nil {
				t.Fatalf("dry-run create: %v", err)
			}
			local := cn.DeepCopy()
			if err := defaults.Apply(local); err != nil {
				t.Fatal(err)
			}
			if !equality.Semantic.DeepEqual(local.Spec, server.Spec) {
				t.Errorf("Apply differs from the API server (- Apply, + API server):\n%s", diff.Diff(local.Spec, server.Spec))
			}
			if equality.Semantic.DeepEqual(local.Spec, cn.Spec) && name != "components off" {
				t.Errorf("Apply filled no default into %s", spec)
			}
		})
	}
}
