package ship

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/wharf-dev/wharf/controllers/coredns"
)

// TestEgressNetworkPolicyComponent builds an overlay of config/default
// with the optional component config/components/egress-networkpolicy, as
// its comment shows, and checks what the policy allows: the manager's
// pods may reach the cluster DNS on port 53 and TCP 443 and 6443 (the API
// server), and nothing else; their ingress is left alone.
func TestEgressNetworkPolicyComponent(t *testing.T) {
	dir := t.TempDir()
	rel := func(parts ...string) string { // kustomize takes no absolute paths
		p, err := filepath.Rel(dir, repoPath(parts...))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	overlay := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- " +
		rel("config", "default") + "\ncomponents:\n- " + rel("config", "components", "egress-networkpolicy") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(overlay), 0o644); err != nil {
		t.Fatal(err)
	}
	objs := decodeAll(t, "the overlay", []byte(run(t, nil, kubectl(t), "kustomize", dir)))
	policies := ofKind(objs, "NetworkPolicy")
	if len(policies) != 1 {
		t.Fatalf("%d NetworkPolicies, want 1", len(policies))
	}
	np := convert[networkingv1.NetworkPolicy](t, policies[0])
	if np.Namespace != systemNamespace {
		t.Errorf("the policy is in namespace %q, want %s", np.Namespace, systemNamespace)
	}
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil {
		t.Fatal(err)
	}
	d := managerDeployment(t, objs)
	if !sel.Matches(labels.Set(d.Spec.Template.Labels)) || sel.Empty() {
		t.Errorf("the policy selects %s, not (only) the manager's pods %v", sel, d.Spec.Template.Labels)
	}
	if !equality.Semantic.DeepEqual(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}) {
		t.Errorf("policyTypes %v, want only Egress: ingress (metrics, probes) stays open", np.Spec.PolicyTypes)
	}
	if len(np.Spec.Egress) != 2 {
		t.Fatalf("%d egress rules, want 2 (DNS, API server): %+v", len(np.Spec.Egress), np.Spec.Egress)
	}
	dns, api := np.Spec.Egress[0], np.Spec.Egress[1]
	if len(dns.To) != 1 || dns.To[0].NamespaceSelector == nil || dns.To[0].PodSelector == nil || dns.To[0].IPBlock != nil ||
		dns.To[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "kube-system" ||
		dns.To[0].PodSelector.MatchLabels[coredns.AppLabel] != coredns.AppLabelValue {
		t.Errorf("the DNS rule goes to %+v, want the %s=%s pods of kube-system", dns.To, coredns.AppLabel, coredns.AppLabelValue)
	}
	if got := portsOf(dns.Ports); !equality.Semantic.DeepEqual(got, []string{"UDP/53", "TCP/53"}) {
		t.Errorf("the DNS rule allows %v", got)
	}
	if len(api.To) != 0 {
		t.Errorf("the API server rule is limited to %+v: its address is not known", api.To)
	}
	if got := portsOf(api.Ports); !equality.Semantic.DeepEqual(got, []string{"TCP/443", "TCP/6443"}) {
		t.Errorf("the API server rule allows %v", got)
	}
	// The rest of the install is the same as without the component.
	if len(objs) != len(decodeAll(t, "config/default", []byte(run(t, nil, kubectl(t), "kustomize", repoPath("config", "default")))))+1 {
		t.Errorf("the component adds more than the NetworkPolicy")
	}
}

func portsOf(ports []networkingv1.NetworkPolicyPort) []string {
	var out []string
	for _, p := range ports {
		proto := "TCP"
		if p.Protocol != nil {
			proto = string(*p.Protocol)
		}
		port := "all"
		if p.Port != nil {
			port = p.Port.String()
		}
		if p.Port != nil && p.Port.Type == intstr.String {
			port = "named:" + port
		}
		if p.EndPort != nil {
			port += fmt.Sprintf("-%d", *p.EndPort)
		}
		out = append(out, proto+"/"+port)
	}
	return out
}
