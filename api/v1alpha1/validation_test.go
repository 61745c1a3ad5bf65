package v1alpha1_test

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/wharf-dev/wharf/internal/testenv"
)

// TestAPIServerRefusesInvalidResources sends resources to a real API server
// and checks it refuses the invalid ones with a message a person
// understands, and accepts the valid ones.
func TestAPIServerRefusesInvalidResources(t *testing.T) {
	env := testenv.Start(t)
	cases := []struct {
		name string
		doc  string
		want string // substring of the error; empty means accepted
	}{
		{"the seeds' resource is accepted", `
metadata: {name: cluster}
spec:
  coredns:
    extraHosts: [{ip: 10.0.0.51, hostnames: [k3s.test.org]}]
  traefik:
    dashboard: {enabled: true, host: traefik.example.com, basicAuth: {secretName: authsecret}}`, ""},
		{"a generated dashboard password is a way to authenticate", `
metadata: {name: cluster}
spec: {traefik: {dashboard: {enabled: true, host: traefik.example.com, basicAuth: {}}}}`, ""},
		{"IPv6 hosts and upstreams are accepted", `
metadata: {name: cluster}
spec: {coredns: {clusterIP: "fd00:43::a", upstreams: [1.1.1.1, "tls://9.9.9.9", "[2606:4700::1111]:53"], extraHosts: [{ip: "fd00::51", hostnames: [k3s.test.org, Mixed.Case.example]}]}}`, ""},
		{"name other than cluster", `
metadata: {name: mine}`, "must be named 'cluster'"},
		{"extraHosts IP out of range", `
metadata: {name: cluster}
spec: {coredns: {extraHosts: [{ip: 999.1.1.1, hostnames: [k3s.test.org]}]}}`, "ip must be an IPv4 or IPv6 address"},
		{"hostname with underscore and bang", `
metadata: {name: cluster}
spec: {coredns: {extraHosts: [{ip: 10.0.0.51, hostnames: ["bad_host!"]}]}}`, "hostname must be an RFC 1123 DNS name"},
		{"the same IP twice", `
metadata: {name: cluster}
spec: {coredns: {extraHosts: [{ip: 10.0.0.51, hostnames: [a.test]}, {ip: 10.0.0.51, hostnames: [b.test]}]}}`, "Duplicate value"},
		{"dashboard enabled with no way to authenticate", `
metadata: {name: cluster}
spec: {traefik: {dashboard: {enabled: true, host: traefik.example.com}}}`, "the dashboard must be protected"},
		{"dashboard enabled without a host", `
metadata: {name: cluster}
spec: {traefik: {dashboard: {enabled: true, basicAuth: {}}}}`, "the dashboard needs a host"},
		{"clusterIP not an IP", `
metadata: {name: cluster}
spec: {coredns: {clusterIP: 10.43.0.300}}`, "clusterIP must be an IPv4 or IPv6 address"},
		{"upstream with a space", `
metadata: {name: cluster}
spec: {coredns: {upstreams: ["1.1.1.1 8.8.8.8"]}}`, "each upstream must be one word"},
		{"valuesFrom of an unknown kind", `
metadata: {name: cluster}
spec: {traefik: {valuesFrom: [{kind: Deployment, name: x}]}}`, `supported values: "ConfigMap", "Secret"`},
		{"chart without a version", `
metadata: {name: cluster}
spec: {traefik: {chart: {repository: "https://charts.example.com", name: traefik}}}`, "chart needs repository, name and version"},
		{"replicas below one", `
metadata: {name: cluster}
spec: {coredns: {replicas: 0}}`, "should be greater than or equal to 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte(tc.doc), &u.Object); err != nil {
				t.Fatal(err)
			}
			u.SetAPIVersion("networking.wharf.dev/v1alpha1")
			u.SetKind("ClusterNetworking")
			err := env.Client.Create(context.Background(), u, client.DryRunAll)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused a valid resource: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("accepted an invalid resource")
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
		})
	}
}
