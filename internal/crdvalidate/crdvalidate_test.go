package crdvalidate_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/diff"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/wharf-dev/wharf/config/crd"
	"github.com/wharf-dev/wharf/internal/crdvalidate"
	"github.com/wharf-dev/wharf/internal/testenv"
)

// invalid are specs the API server refuses, each with a part of the
// message it must say.
var invalid = []struct {
	name, doc, want string
}{
	{"ip out of range", `
spec:
  coredns:
    extraHosts: [{ip: 10.0.0.999, hostnames: [k3s.test.org]}]`,
		`spec.coredns.extraHosts[0].ip: Invalid value: "10.0.0.999": ip must be an IPv4 or IPv6 address`},
	{"ip that is a word", `
spec:
  coredns:
    extraHosts: [{ip: not-an-ip, hostnames: [k3s.test.org]}]`,
		`spec.coredns.extraHosts[0].ip: Invalid value: "not-an-ip"`},
	{"hostname with an underscore", `
spec:
  coredns:
    extraHosts: [{ip: 10.0.0.51, hostnames: [Bad_Host]}]`,
		`spec.coredns.extraHosts[0].hostnames[0]: Invalid value: "Bad_Host": hostname must be an RFC 1123 DNS name`},
	{"dashboard without basicAuth", `
spec:
  traefik:
    dashboard: {enabled: true, host: traefik.example.com}`,
		`spec.traefik.dashboard: Invalid value: the dashboard must be protected`},
	{"several errors at once", `
spec:
  coredns:
    extraHosts: [{ip: 10.0.0.999, hostnames: [Bad_Host]}, {ip: not-an-ip, hostnames: [a.example.com]}]
  traefik:
    dashboard: {enabled: true}`,
		`is invalid: [`},
	{"a boolean given as a string", `
spec:
  coredns: {enabled: "yes"}`,
		`spec.coredns.enabled: Invalid value: "string": spec.coredns.enabled in body must be of type boolean: "string"`},
	{"a cluster IP too long", `
spec:
  coredns: {clusterIP: "1000:1000:1000:1000:1000:1000:1000:1000:1000:1000"}`,
		`spec.coredns.clusterIP: Too long`},
	{"a field the schema does not declare", `
spec:
  coredns: {extrahosts: []}`,
		`strict decoding error: unknown field "spec.coredns.extrahosts"`},
	{"a name other than cluster", `
metadata: {name: other}
spec: {}`,
		`there is one ClusterNetworking per cluster and it must be named 'cluster'`},
}

// valid are specs the API server accepts.
var valid = map[string]string{
	"empty": `spec: {}`,
	"the sample": `
spec:
  coredns:
    extraHosts: [{ip: 10.0.0.51, hostnames: [k3s.test.org]}]
  traefik:
    dashboard: {enabled: true, host: traefik.example.com, basicAuth: {secretName: authsecret}}
  serviceLB: {}`,
	"serviceLB node selector": `spec: {serviceLB: {nodeSelector: {matchLabels: {pool: edge}}}}`,
	"with a status, which create drops": `
spec: {}
status: {observedGeneration: 3}`,
}

func resource(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{Object: map[string]any{}}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatalf("the test's document: %v", err)
	}
	u.SetAPIVersion("networking.wharf.dev/v1alpha1")
	u.SetKind("ClusterNetworking")
	if u.GetName() == "" {
		u.SetName("cluster")
	}
	return u
}

func validator(t *testing.T) *crdvalidate.Validator {
	t.Helper()
	v, err := crdvalidate.New(crd.ClusterNetworking)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestAdmitRefuses needs no API server: each invalid spec is refused with
// its message.
func TestAdmitRefuses(t *testing.T) {
	v := validator(t)
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			err := v.Admit(context.Background(), resource(t, tc.doc))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\ndoes not say %q", err, tc.want)
			}
		})
	}
}

// TestAdmitDefaults checks that an accepted resource comes back with its
// schema's defaults, as the API server stores it.
func TestAdmitDefaults(t *testing.T) {
	u := resource(t, valid["empty"])
	if err := validator(t).Admit(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	for _, path := range [][]string{{"spec", "coredns", "enabled"}, {"spec", "traefik", "enabled"}, {"spec", "serviceLB", "enabled"}} {
		if on, found, _ := unstructured.NestedBool(u.Object, path...); !found || !on {
			t.Errorf("%s: %v (found %v), want the default true", strings.Join(path, "."), on, found)
		}
	}
}

// sameMessage reports whether two API errors say the same. With several
// causes, their order follows Go map iteration on both sides: the causes
// are compared as sets, and the text before them exactly.
func sameMessage(a, b error) bool {
	if a.Error() == b.Error() {
		return true
	}
	ca, cb := causes(a), causes(b)
	if len(ca) < 2 || !slices.Equal(ca, cb) {
		return false
	}
	head := func(err error) string { h, _, _ := strings.Cut(err.Error(), ": ["); return h }
	return head(a) == head(b)
}

func causes(err error) []string {
	st, ok := err.(apierrors.APIStatus)
	if !ok || st.Status().Details == nil {
		return nil
	}
	var out []string
	for _, c := range st.Status().Details.Causes {
		out = append(out, c.Field+": "+c.Message)
	}
	slices.Sort(out)
	return out
}

// TestAdmitMatchesTheAPIServer sends each spec to a real API server (a
// dry-run create with strict field validation, as kubectl apply does) and
// to Admit, and wants the same answer from both: the same error text for
// an invalid spec, the same defaulted spec for a valid one.
func TestAdmitMatchesTheAPIServer(t *testing.T) {
	env := testenv.Start(t)
	v := validator(t)
	ctx := context.Background()
	create := func(u *unstructured.Unstructured) error {
		return env.Client.Create(ctx, u, client.DryRunAll, client.FieldValidation("Strict"))
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			serverErr := create(resource(t, tc.doc))
			if serverErr == nil {
				t.Fatal("the API server accepted it: the test case is wrong")
			}
			if !apierrors.IsInvalid(serverErr) && !apierrors.IsBadRequest(serverErr) {
				t.Fatalf("the API server: %v", serverErr)
			}
			localErr := v.Admit(ctx, resource(t, tc.doc))
			if localErr == nil {
				t.Fatalf("Admit accepted what the API server refused with:\n%v", serverErr)
			}
			if !sameMessage(localErr, serverErr) {
				t.Errorf("messages differ:\nAPI server: %v\nAdmit:      %v", serverErr, localErr)
			}
			if apierrors.ReasonForError(localErr) != apierrors.ReasonForError(serverErr) {
				t.Errorf("reason %s, the API server's %s", apierrors.ReasonForError(localErr), apierrors.ReasonForError(serverErr))
			}
		})
	}
	for name, doc := range valid {
		t.Run(name, func(t *testing.T) {
			server := resource(t, doc)
			if err := create(server); err != nil {
				t.Fatalf("the API server refused it: %v", err)
			}
			local := resource(t, doc)
			if err := v.Admit(ctx, local); err != nil {
				t.Fatalf("Admit refused what the API server accepted: %v", err)
			}
			if !equality.Semantic.DeepEqual(local.Object["spec"], server.Object["spec"]) {
				t.Errorf("specs differ (- Admit, + API server):\n%s", diff.Diff(local.Object["spec"], server.Object["spec"]))
			}
			if _, has := local.Object["status"]; has {
				t.Errorf("Admit kept the status; create drops it")
			}
		})
	}
}
