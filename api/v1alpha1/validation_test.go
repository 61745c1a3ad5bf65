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
metadata: {name: mine}`, "metadata: Invalid value: there is one ClusterNetworking per cluster and it must be named 'cluster'"},
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
		{"K3s's Traefik releases are adopted by name", `
metadata: {name: cluster}
spec: {traefik: {adoptHelmReleases: [traefik, traefik-crd]}}`, ""},
		{"an adopted release name with a capital", `
metadata: {name: cluster}
spec: {traefik: {adoptHelmReleases: [Traefik]}}`, "adoptHelmReleases must be Helm release names such as traefik and traefik-crd"},
		{"clusterIP not an IP", `
metadata: {name: cluster}
spec: {coredns: {clusterIP: 10.43.0.300}}`, "clusterIP must be an IPv4 or IPv6 address"},
		{"upstream with a space", `
metadata: {name: cluster}
spec: {coredns: {upstreams: ["1.1.1.1 8.8.8.8"]}}`, "upstream must be an IP address"},
		{"upstream that is not an address or a resolv.conf (CoreDNS exits on it)", `
metadata: {name: cluster}
spec: {coredns: {upstreams: [not-an-ip]}}`, "upstream must be an IP address"},
		{"upstream that is a file CoreDNS cannot read as resolv.conf", `
metadata: {name: cluster}
spec: {coredns: {upstreams: [/etc/shadow]}}`, "upstream must be an IP address"},
		{"upstream with an IP out of range and a port", `
metadata: {name: cluster}
spec: {coredns: {upstreams: ["1.1.1.300:53"]}}`, "upstream must be an IP address"},
		{"upstream forms CoreDNS accepts", `
metadata: {name: cluster}
spec: {coredns: {upstreams: [/etc/resolv.conf, /run/systemd/resolve/resolv.conf, 8.8.8.8:53, "dns://1.1.1.1", "tls://9.9.9.9:853", "2606:4700::1111", "tls://[2606:4700::1111]:853"]}}`, ""},
		{"a hostname label of 64 characters", `
metadata: {name: cluster}
spec: {coredns: {extraHosts: [{ip: 10.0.0.51, hostnames: [a234567890123456789012345678901234567890123456789012345678901234.test]}]}}`, "labels of at most 63"},
		{"a hostname label of 63 characters", `
metadata: {name: cluster}
spec: {coredns: {extraHosts: [{ip: 10.0.0.51, hostnames: [a23456789012345678901234567890123456789012345678901234567890123.test]}]}}`, ""},
		{"an empty dashboard entry point", `
metadata: {name: cluster}
spec: {traefik: {dashboard: {entryPoints: [""]}}}`, "should be at least 1 chars long"},
		{"a dashboard entry point that is not a name", `
metadata: {name: cluster}
spec: {traefik: {dashboard: {entryPoints: ["web secure"]}}}`, "each entry point must be the name of a Traefik entry point"},
		{"the contract's new fields are accepted", `
metadata: {name: cluster}
spec:
  deletionPolicy: Delete
  systemDefaultRegistry: registry.example.com:5000
  imagePullSecrets: [{name: regcred}]
  coredns: {clusterIPs: ["10.43.0.10", "2001:cafe:43::a"], clusterIP: 10.43.0.10}
  traefik:
    valuesFrom: [{kind: HelmChartConfig, name: traefik}]
    chart: {repository: "https://traefik.github.io/charts", name: traefik, version: 37.1.0, digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
  serviceLB:
    allowedPriorityClasses: [system-node-critical]
    reservedPorts: ["22", "30000-32767"]
    namespaceSelector: {matchLabels: {lb: allowed}}
    maxPortsPerService: 8`, ""},
		{"deletionPolicy other than Orphan or Delete", `
metadata: {name: cluster}
spec: {deletionPolicy: Foreground}`, `supported values: "Orphan", "Delete"`},
		{"two cluster DNS addresses of one family", `
metadata: {name: cluster}
spec: {coredns: {clusterIPs: ["10.43.0.10", "10.43.0.11"]}}`, "at most one address per IP family"},
		{"clusterIP not first of clusterIPs", `
metadata: {name: cluster}
spec: {coredns: {clusterIP: 10.43.0.10, clusterIPs: ["2001:cafe:43::a", "10.43.0.10"]}}`, "clusterIP must be the first of clusterIPs"},
		{"a registry with a scheme", `
metadata: {name: cluster}
spec: {systemDefaultRegistry: "https://registry.example.com"}`, "systemDefaultRegistry must be a registry host"},
		{"a chart digest that is not sha256", `
metadata: {name: cluster}
spec: {traefik: {chart: {repository: "https://charts.example.com", name: traefik, version: 1.0.0, digest: "md5:abc"}}}`, "digest must be sha256:"},
		{"a plain http chart repository without insecure", `
metadata: {name: cluster}
spec: {traefik: {chart: {repository: "http://charts.example.com", name: traefik, version: 1.0.0}}}`, "an http:// repository is not encrypted"},
		{"a plain http chart repository with insecure", `
metadata: {name: cluster}
spec: {traefik: {chart: {repository: "http://charts.example.com", name: traefik, version: 1.0.0, insecure: true}}}`, ""},
		{"a reserved port out of range", `
metadata: {name: cluster}
spec: {serviceLB: {reservedPorts: ["70000"]}}`, "each reserved port must be a port 1-65535"},
		{"a reserved range upside down", `
metadata: {name: cluster}
spec: {serviceLB: {reservedPorts: ["2380-2379"]}}`, "each reserved port must be a port 1-65535"},
		{"an empty priorityClassName", `
metadata: {name: cluster}
spec: {serviceLB: {priorityClassName: ""}}`, "priorityClassName must be the name of a PriorityClass"},
		{"an allowed priority class that is no name", `
metadata: {name: cluster}
spec: {serviceLB: {allowedPriorityClasses: [system-cluster-critical, "High Priority"]}}`, "each allowed priority class must be the name of a PriorityClass"},
		{"a nodeSelector in map form", `
metadata: {name: cluster}
spec: {serviceLB: {nodeSelector: {svccontroller.k3s.cattle.io/enablelb: "true"}}}`, `unknown field "spec.serviceLB.nodeSelector.svccontroller.k3s.cattle.io/enablelb"`},
		{"a nodeSelector with an unknown operator", `
metadata: {name: cluster}
spec: {serviceLB: {nodeSelector: {matchExpressions: [{key: a, operator: Foo}]}}}`, "matchExpressions[].operator must be one of In, NotIn, Exists, DoesNotExist"},
		{"valuesFrom of an unknown kind", `
metadata: {name: cluster}
spec: {traefik: {valuesFrom: [{kind: Deployment, name: x}]}}`, `supported values: "ConfigMap", "Secret", "HelmChartConfig"`},
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
			err := env.Client.Create(context.Background(), u, client.DryRunAll, client.FieldValidation("Strict"))
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

// apply server-side applies doc as the ClusterNetworking "cluster" with
// the field manager GitOps tools use, as `kubectl apply --server-side` does.
func apply(t *testing.T, c client.Client, doc string) error {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatal(err)
	}
	u.SetAPIVersion("networking.wharf.dev/v1alpha1")
	u.SetKind("ClusterNetworking")
	u.SetName("cluster")
	return c.Apply(context.Background(), client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("gitops"), client.ForceOwnership)
}

// TestAPIServerTransitions applies the documented changes of a running
// resource one after the other with one field manager, as Flux and Argo CD
// do, and checks the API server takes the safe ones and refuses, with a
// message saying how, those that would strand a running component.
func TestAPIServerTransitions(t *testing.T) {
	env := testenv.Start(t)
	steps := []struct {
		name string
		doc  string
		want string // substring of the error; empty means accepted
	}{
		{"dashboard with a named Secret", `spec: {traefik: {dashboard: {enabled: true, host: t.example.com, basicAuth: {secretName: authsecret}}}}`, ""},
		{"switch to a generated password", `spec: {traefik: {dashboard: {enabled: true, host: t.example.com, basicAuth: {}}}}`, ""},
		{"back to a named Secret", `spec: {traefik: {dashboard: {enabled: true, host: t.example.com, basicAuth: {secretName: other}}}}`, ""},
		{"dashboard off", `spec: {traefik: {dashboard: {enabled: false}}}`, ""},
		{"move running CoreDNS", `spec: {coredns: {namespace: dns2}}`, "the CoreDNS namespace cannot change while CoreDNS is enabled"},
		{"move running Traefik", `spec: {traefik: {namespace: ingress}}`, "the Traefik namespace cannot change while Traefik is enabled"},
		{"move running ServiceLB", `spec: {serviceLB: {namespace: lb}}`, "the ServiceLB namespace cannot change while ServiceLB is enabled"},
		{"disable ServiceLB", `spec: {serviceLB: {enabled: false}}`, ""},
		{"move and enable ServiceLB", `spec: {serviceLB: {enabled: true, namespace: lb}}`, ""},
		{"a document without the moved namespace would move ServiceLB back", `spec: {coredns: {enabled: false}}`, "the ServiceLB namespace cannot change"},
		{"disable CoreDNS", `spec: {coredns: {enabled: false}, serviceLB: {namespace: lb}}`, ""},
		{"move disabled CoreDNS", `spec: {coredns: {enabled: false, namespace: dns2}, serviceLB: {namespace: lb}}`, ""},
		{"enable moved CoreDNS", `spec: {coredns: {enabled: true, namespace: dns2}, serviceLB: {namespace: lb}}`, ""},
		{"deletionPolicy Delete", `spec: {deletionPolicy: Delete, coredns: {namespace: dns2}, serviceLB: {namespace: lb}}`, ""},
		{"deletionPolicy back to the default", `spec: {coredns: {namespace: dns2}, serviceLB: {namespace: lb}}`, ""},
		{"enable the dashboard without a way to authenticate", `spec: {coredns: {namespace: dns2}, serviceLB: {namespace: lb}, traefik: {dashboard: {enabled: true, host: t.example.com}}}`, "the dashboard must be protected"},
	}
	for _, st := range steps {
		err := apply(t, env.Client, st.doc)
		switch {
		case st.want == "" && err != nil:
			t.Fatalf("%s: refused: %v", st.name, err)
		case st.want != "" && err == nil:
			t.Fatalf("%s: accepted", st.name)
		case st.want != "" && !strings.Contains(err.Error(), st.want):
			t.Fatalf("%s: error %q does not say %q", st.name, err, st.want)
		}
	}
}
