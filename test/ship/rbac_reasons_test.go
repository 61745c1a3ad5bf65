package ship

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/wharf-dev/wharf/internal/golden"
)

// ruleReason says why the manager's ClusterRole holds some verbs on one
// resource: the code path that needs them.
type ruleReason struct {
	group, resource string
	// verbs are space-separated; named marks verbs granted only on the
	// resourceNames of their rule.
	verbs  string
	named  bool
	reason string
}

// Reasons shared by many rows.
const (
	traefikRole = "the Traefik ClusterRole grants it, and the API server lets wharf grant only what it holds (templates/traefik/templates/rbac.yaml)"
	chartObject = "the Traefik chart renders it from upstream values; applied, pruned and read back by the Applier (controllers/traefik/rbac_chart.go)"
	applied     = "applied with server-side apply (patch; create when new), read by name before and pruned by delete (internal/apply)"
	watchedMeta = "metadata watched cluster-wide, so a hand edit of what wharf applied is reverted at once (controllers/clusternetworking/controller.go)"
)

// managerRuleReasons is every verb of config/rbac/role.yaml with its
// reason. TestManagerRuleReasons fails on a verb without a row and on a row
// whose verb is gone, and writes the table to docs/rbac.md.
var managerRuleReasons = []ruleReason{
	{"", "configmaps", "create delete get patch", false, "CoreDNS's coredns ConfigMap (Corefile, NodeHosts): " + applied},
	{"", "configmaps", "list watch", false, watchedMeta + "; spec.traefik.valuesFrom reads ConfigMaps, uncached"},
	{"", "secrets", "create delete get patch", false, "the dashboard's generated basicAuth Secret (controllers/traefik/credentials.go), created once, deleted when no longer used; released with the Orphan policy; patch also marks adopted objects in the record Secrets of the Helm releases spec.traefik.adoptHelmReleases names (controllers/traefik/adopt.go)"},
	{"", "secrets", "list watch", false, watchedMeta + "; also " + traefikRole},
	{"", "serviceaccounts", "create delete get patch", false, "the coredns, traefik and svclb ServiceAccounts: " + applied},
	{"", "serviceaccounts", "list watch", false, watchedMeta},
	{"", "services", "create delete", false, "kube-dns and the traefik Service: " + applied},
	{"", "services", "get list watch", false, "ServiceLB serves every LoadBalancer Service (controllers/servicelb/reconciler.go); CoreDNS finds the kube-dns IP (controllers/coredns/facts.go); " + traefikRole},
	{"", "services", "patch", false, "server-side apply of kube-dns and traefik; ServiceLB adds and removes its finalizer (controllers/servicelb/finalizer.go) and releases them on deletion (controllers/clusternetworking/finalize.go)"},
	{"", "services/status", "patch", false, "ServiceLB publishes status.loadBalancer.ingress (controllers/servicelb/status.go)"},
	{"", "persistentvolumeclaims", "create delete get list patch watch", false, chartObject + " (persistence)"},
	{"", "endpoints", "list watch", false, "the system:coredns ClusterRole grants it (templates/coredns/rbac.yaml.tmpl)"},
	{"", "pods", "list watch", false, "ServiceLB watches svclb pods by label into its own index (ingress from ready pods); CoreDNS reads its pods to say why a rollout fails (controllers/coredns/observe.go); system:coredns grants it"},
	{"", "events", "list", false, "ServiceLB reads a svclb DaemonSet's Events to say why it has no pod (controllers/servicelb/failure.go)"},
	{"", "namespaces", "create get", false, "ServiceLB renders its namespace; the Applier creates a missing Namespace and never patches or deletes one (internal/apply/applyall.go, Inventoried)"},
	{"", "namespaces", "list watch", false, "spec.serviceLB.namespaceSelector (controllers/servicelb/watches.go); system:coredns and " + traefikRole},
	{"", "nodes", "get list watch", false, "ServiceLB places svclb pods and publishes node IPs; CoreDNS fills NodeHosts from node addresses; " + traefikRole},
	{"apiextensions.k8s.io", "customresourcedefinitions", "create delete get patch", true, "the traefik.io CRDs wharf ships, by name: applied (an apply that creates is authorized as create with the name; a POST create could not be named), read before apply and prune (controllers/traefik/prune.go), deleted with the Delete policy"},
	{"apps", "daemonsets", "create delete get list patch watch", false, "ServiceLB's svclb DaemonSets (controllers/servicelb/serve.go, release.go), watched by label; Traefik as a DaemonSet (deployment.kind)"},
	{"apps", "deployments", "create delete get list patch watch", false, "the coredns and traefik Deployments: " + applied + "; watched for readiness"},
	{"apps", "replicasets", "list", false, "CoreDNS reads its newest ReplicaSet to say why a rollout fails (controllers/coredns/observe.go)"},
	{"autoscaling", "horizontalpodautoscalers", "create delete get list patch watch", false, chartObject + " (autoscaling)"},
	{"discovery.k8s.io", "endpointslices", "list watch", false, "ServiceLB with externalTrafficPolicy Local (nodes with a ready endpoint); CoreDNS readiness; system:coredns and " + traefikRole},
	{"events.k8s.io", "events", "create patch", false, "Events on Services and the ClusterNetworking (controllers/setup.go, controllers/servicelb/events.go)"},
	{"gateway.networking.k8s.io", "backendtlspolicies", "get list watch", false, traefikRole + " (Gateway API provider)"},
	{"gateway.networking.k8s.io", "gatewayclasses", "get list watch", false, traefikRole + " (Gateway API provider)"},
	{"gateway.networking.k8s.io", "gateways", "get list watch", false, traefikRole + " (Gateway API provider)"},
	{"gateway.networking.k8s.io", "grpcroutes", "get list watch", false, traefikRole + " (Gateway API provider)"},
	{"gateway.networking.k8s.io", "httproutes", "get list watch", false, traefikRole + " (Gateway API provider)"},
	{"gateway.networking.k8s.io", "referencegrants", "get list watch", false, traefikRole + " (Gateway API provider)"},
	{"gateway.networking.k8s.io", "tcproutes", "get list watch", false, traefikRole + " (Gateway API provider)"},
	{"gateway.networking.k8s.io", "tlsroutes", "get list watch", false, traefikRole + " (Gateway API provider)"},
	{"gateway.networking.k8s.io", "backendtlspolicies/status", "update", false, traefikRole + " (Gateway API provider)"},
	{"gateway.networking.k8s.io", "gatewayclasses/status", "update", false, traefikRole + " (Gateway API provider)"},
	{"gateway.networking.k8s.io", "gateways/status", "update", false, traefikRole + " (Gateway API provider)"},
	{"gateway.networking.k8s.io", "grpcroutes/status", "update", false, traefikRole + " (Gateway API provider)"},
	{"gateway.networking.k8s.io", "httproutes/status", "update", false, traefikRole + " (Gateway API provider)"},
	{"gateway.networking.k8s.io", "tcproutes/status", "update", false, traefikRole + " (Gateway API provider)"},
	{"gateway.networking.k8s.io", "tlsroutes/status", "update", false, traefikRole + " (Gateway API provider)"},
	{"helm.cattle.io", "helmchartconfigs", "get list watch", false, "spec.traefik.valuesFrom of kind HelmChartConfig, K3s's objects (controllers/traefik/values.go)"},
	{"monitoring.coreos.com", "servicemonitors", "create delete get list patch watch", false, chartObject + " (metrics.prometheus.serviceMonitor)"},
	{"networking.k8s.io", "ingressclasses", "create delete get patch", false, "the traefik IngressClass: " + applied},
	{"networking.k8s.io", "ingressclasses", "list watch", false, watchedMeta + "; " + traefikRole},
	{"networking.k8s.io", "ingresses", "get list watch", false, traefikRole},
	{"networking.k8s.io", "ingresses/status", "update", false, traefikRole},
	{"networking.wharf.dev", "clusternetworkings", "get list watch", false, "the resource wharf reconciles (controllers/clusternetworking/controller.go)"},
	{"networking.wharf.dev", "clusternetworkings", "patch", false, "wharf's finalizer, added and removed with a patch (controllers/clusternetworking/finalize.go)"},
	{"networking.wharf.dev", "clusternetworkings/status", "patch", false, "status written once per reconcile with server-side apply (controllers/clusternetworking/status.go)"},
	{"policy", "poddisruptionbudgets", "create delete get patch", false, "the Traefik chart's PodDisruptionBudget: " + applied},
	{"policy", "poddisruptionbudgets", "list watch", false, watchedMeta},
	{"rbac.authorization.k8s.io", "clusterroles", "create delete get patch", false, "system:coredns and Traefik's <name>-<namespace>: " + applied + "; not by name in RBAC because Traefik's follows its namespace: the admission policy names them"},
	{"rbac.authorization.k8s.io", "clusterroles", "list watch", false, watchedMeta},
	{"rbac.authorization.k8s.io", "clusterrolebindings", "create delete get patch", false, "the bindings of system:coredns and Traefik's role to their ServiceAccounts: " + applied + "; the admission policy limits their names, roles and subjects"},
	{"rbac.authorization.k8s.io", "clusterrolebindings", "list watch", false, watchedMeta},
	{"scheduling.k8s.io", "priorityclasses", "get", false, "ServiceLB checks spec.serviceLB.priorityClassName exists (controllers/servicelb/component.go)"},
	{"traefik.io", "ingressroutes", "create delete get patch", false, "the dashboard IngressRoute: " + applied},
	{"traefik.io", "ingressroutes", "list watch", false, "watched from its first apply (controllers/clusternetworking/watchapplied.go); " + traefikRole},
	{"traefik.io", "middlewares", "create delete get patch", false, "the dashboard's basicAuth Middleware: " + applied},
	{"traefik.io", "middlewares", "list watch", false, "watched from its first apply (controllers/clusternetworking/watchapplied.go); " + traefikRole},
	{"traefik.io", "tlsoptions", "create delete get list patch watch", false, chartObject + " (tlsOptions); " + traefikRole},
	{"traefik.io", "tlsstores", "create delete get list patch watch", false, chartObject + " (tlsStore); " + traefikRole},
	{"traefik.io", "ingressroutetcps", "get list watch", false, traefikRole},
	{"traefik.io", "ingressrouteudps", "get list watch", false, traefikRole},
	{"traefik.io", "middlewaretcps", "get list watch", false, traefikRole},
	{"traefik.io", "serverstransports", "get list watch", false, traefikRole},
	{"traefik.io", "serverstransporttcps", "get list watch", false, traefikRole},
	{"traefik.io", "traefikservices", "get list watch", false, traefikRole},
}

// grant is one verb on one resource, by name or not.
type grant struct {
	group, resource, verb string
	named                 bool
}

func (g grant) String() string {
	s := g.resource + " " + g.verb
	if g.group != "" {
		s = g.group + "/" + s
	}
	if g.named {
		s += " (by name)"
	}
	return s
}

// TestManagerRuleReasons checks that every verb the generated ClusterRole
// grants has a reason in managerRuleReasons and that every reason still
// has its verb, and writes the table to docs/rbac.md (UPDATE_GOLDEN=1).
func TestManagerRuleReasons(t *testing.T) {
	role := convert[rbacv1.ClusterRole](t, decodeAll(t, "config/rbac/role.yaml", readFile(t, "config/rbac/role.yaml"))[0])
	granted := map[grant]bool{}
	for _, r := range role.Rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					granted[grant{g, res, v, len(r.ResourceNames) > 0}] = true
				}
			}
		}
	}
	reasoned := map[grant]bool{}
	var doc strings.Builder
	doc.WriteString("# What the manager's ClusterRole grants, and why\n\n" +
		"Generated by `UPDATE_GOLDEN=1 go test ./test/ship -run TestManagerRuleReasons` from the table in\n" +
		"test/ship/rbac_reasons_test.go, which fails on a rule of config/rbac/role.yaml without a reason\n" +
		"and on a reason whose rule is gone. The admission policy config/admission/policy.yaml narrows\n" +
		"the writes further (README → Security).\n\n" +
		"| API group | resource | verbs | why |\n|---|---|---|---|\n")
	for _, r := range managerRuleReasons {
		for _, v := range strings.Fields(r.verbs) {
			g := grant{r.group, r.resource, v, r.named}
			if reasoned[g] {
				t.Errorf("%s has two reasons", g)
			}
			reasoned[g] = true
			if !granted[g] {
				t.Errorf("%s has a reason but config/rbac/role.yaml no longer grants it: remove its row", g)
			}
		}
		group, verbs := r.group, r.verbs
		if group == "" {
			group = "core"
		}
		if r.named {
			verbs += " (by name)"
		}
		fmt.Fprintf(&doc, "| %s | %s | %s | %s |\n", group, r.resource, verbs, r.reason)
	}
	var missing []string
	for g := range granted {
		if !reasoned[g] {
			missing = append(missing, g.String())
		}
	}
	slices.Sort(missing)
	for _, g := range missing {
		t.Errorf("config/rbac/role.yaml grants %s without a reason: add a row to managerRuleReasons naming the code that needs it", g)
	}
	golden.Assert(t, repoPath("docs", "rbac.md"), []byte(doc.String()))
}
