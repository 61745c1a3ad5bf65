package ship

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// installObjects returns the objects of dist/install.yaml.
func installObjects(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	return decodeAll(t, installPath, readFile(t, installPath))
}

func convert[T any](t *testing.T, u *unstructured.Unstructured) *T {
	t.Helper()
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, out, true); err != nil {
		t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
	}
	return out
}

// managerDeployment returns the Deployment of dist/install.yaml.
func managerDeployment(t *testing.T, objs []*unstructured.Unstructured) *appsv1.Deployment {
	t.Helper()
	return convert[appsv1.Deployment](t, find(t, objs, "Deployment", managerName))
}

// makeVar returns the default value of a `NAME ?= value` Makefile variable.
func makeVar(t *testing.T, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `\s*\?=\s*(.*)$`).FindStringSubmatch(string(readFile(t, "Makefile")))
	if m == nil {
		t.Fatalf("no `%s ?=` in the Makefile", name)
	}
	return strings.TrimSpace(m[1])
}

// TestInstallUpToDate renders config/default again, as `make
// build-installer` does, and compares it with dist/install.yaml.
func TestInstallUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs kubectl; skipped with -short")
	}
	objs := installObjects(t)
	image := managerDeployment(t, objs).Spec.Template.Spec.Containers[0].Image
	out := filepath.Join(t.TempDir(), "install.yaml")
	run(t, []string{"IMG=" + image, "KUBECTL=" + kubectl(t)}, "bash", "hack/build-installer.sh", out)
	fresh, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(fresh) != string(readFile(t, installPath)) {
		t.Errorf("dist/install.yaml is stale: run `make build-installer` (config/ or the generated RBAC and CRD changed)")
	}
	if want := defaultImageRepo + ":v" + makeVar(t, "VERSION"); image != want {
		t.Errorf("dist/install.yaml deploys %s, want %s (the Makefile's VERSION): run `make build-installer`", image, want)
	}
}

// TestInstallContents checks what dist/install.yaml holds: the CRD as
// generated, the namespace under the restricted Pod Security Standard,
// the manager's identity and its RBAC, the Deployment and metrics Service.
func TestInstallContents(t *testing.T) {
	objs := installObjects(t)
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o.GetKind()]++
		if ns := o.GetNamespace(); ns != "" && ns != systemNamespace {
			t.Errorf("%s %s is in namespace %s, want %s", o.GetKind(), o.GetName(), ns, systemNamespace)
		}
	}
	want := map[string]int{"CustomResourceDefinition": 1, "Namespace": 1, "ServiceAccount": 1, "Deployment": 1, "Service": 1,
		"Role": 1, "RoleBinding": 1, "ClusterRole": 3, "ClusterRoleBinding": 2, "PodDisruptionBudget": 1,
		"ValidatingAdmissionPolicy": 2, "ValidatingAdmissionPolicyBinding": 2}
	if !equality.Semantic.DeepEqual(kinds, want) {
		t.Errorf("kinds = %v, want %v", kinds, want)
	}

	crd := find(t, objs, "CustomResourceDefinition", crdName)
	generated := decodeAll(t, "CRD", readFile(t, "config/crd/bases/networking.wharf.dev_clusternetworkings.yaml"))[0]
	if !equality.Semantic.DeepEqual(crd.Object["spec"], generated.Object["spec"]) {
		t.Error("the CRD differs from config/crd/bases: run `make manifests build-installer`")
	}

	ns := find(t, objs, "Namespace", systemNamespace)
	if ns.GetLabels()["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("namespace labels %v: want pod-security.kubernetes.io/enforce=restricted", ns.GetLabels())
	}

	role := convert[rbacv1.ClusterRole](t, find(t, objs, "ClusterRole", managerName))
	genRole := convert[rbacv1.ClusterRole](t, decodeAll(t, "role.yaml", readFile(t, "config/rbac/role.yaml"))[0])
	if !equality.Semantic.DeepEqual(role.Rules, genRole.Rules) {
		t.Error("ClusterRole wharf-manager differs from the generated config/rbac/role.yaml: run `make manifests build-installer`")
	}

	svc := convert[corev1.Service](t, find(t, objs, "Service", "wharf-manager-metrics"))
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 8443 {
		t.Errorf("metrics Service ports %v, want 8443", svc.Spec.Ports)
	}
	d := managerDeployment(t, objs)
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("the metrics Service selects %s=%s, which the manager's pods do not carry", k, v)
		}
	}
	pdb := convert[policyv1.PodDisruptionBudget](t, find(t, objs, "PodDisruptionBudget", managerName))
	if pdb.Spec.Selector == nil || !equality.Semantic.DeepEqual(pdb.Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels) {
		t.Errorf("the PodDisruptionBudget selects %v, the Deployment %v", pdb.Spec.Selector, d.Spec.Selector)
	}
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
		t.Errorf("PodDisruptionBudget maxUnavailable %v, want 1: one replica stays to take the lease", pdb.Spec.MaxUnavailable)
	}
}

// TestInstallDeployment checks the manager's Deployment: two replicas
// with leader election, probes, resources, and a pod the restricted Pod
// Security Standard admits.
func TestInstallDeployment(t *testing.T) {
	d := managerDeployment(t, installObjects(t))
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas %v, want 2", d.Spec.Replicas)
	}
	pod := d.Spec.Template.Spec
	if pod.ServiceAccountName != serviceAccount {
		t.Errorf("serviceAccountName %q, want %s", pod.ServiceAccountName, serviceAccount)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if !strings.HasPrefix(c.Image, defaultImageRepo+":") {
		t.Errorf("image %s, want %s:<tag>", c.Image, defaultImageRepo)
	}
	for _, arg := range []string{"--leader-elect", "--health-probe-bind-address=:8081", "--metrics-bind-address=:8443"} {
		if !slices.Contains(c.Args, arg) {
			t.Errorf("args %v: missing %s", c.Args, arg)
		}
	}
	for name, p := range map[string]*corev1.Probe{"/healthz": c.LivenessProbe, "/readyz": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != name || (p.HTTPGet.Port.IntValue() != 8081 && p.HTTPGet.Port.String() != "health") {
			t.Errorf("probe %s: %+v, want GET %s on 8081", name, p, name)
		}
	}
	for _, want := range []struct {
		list corev1.ResourceList
		name corev1.ResourceName
		qty  string
	}{
		{c.Resources.Requests, corev1.ResourceCPU, "10m"}, {c.Resources.Requests, corev1.ResourceMemory, "64Mi"},
		{c.Resources.Limits, corev1.ResourceCPU, "500m"}, {c.Resources.Limits, corev1.ResourceMemory, "256Mi"},
	} {
		if got := want.list[want.name]; got.Cmp(resource.MustParse(want.qty)) != 0 {
			t.Errorf("resources %s = %s, want %s", want.name, got.String(), want.qty)
		}
	}
	// The manager sets its soft memory limit to 90% of the container's
	// (internal/memlimit); GOMEMLIMIT in the environment would override it.
	for _, e := range c.Env {
		if e.Name == "GOMEMLIMIT" {
			t.Errorf("env GOMEMLIMIT %+v overrides the manager's soft memory limit (90%% of the container's limit)", e)
		}
	}
	if pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds > 30 {
		t.Errorf("terminationGracePeriodSeconds %v: want a short one (leader election is released on shutdown)", pod.TerminationGracePeriodSeconds)
	}
	for _, p := range restrictedViolations(&pod) {
		t.Errorf("restricted Pod Security Standard: %s", p)
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("the root filesystem is not read-only")
	}
	if uid := runAsUser(&pod, &c); uid == nil || *uid == 0 {
		t.Errorf("runAsUser %v: want the image's non-root 65532", uid)
	}
	if pod.Affinity == nil || pod.Affinity.PodAntiAffinity == nil || len(pod.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
		t.Error("no preferred pod anti-affinity: both replicas may land on one node")
	}
}

func runAsUser(pod *corev1.PodSpec, c *corev1.Container) *int64 {
	if c.SecurityContext != nil && c.SecurityContext.RunAsUser != nil {
		return c.SecurityContext.RunAsUser
	}
	if pod.SecurityContext != nil {
		return pod.SecurityContext.RunAsUser
	}
	return nil
}

// restrictedViolations lists what the restricted Pod Security Standard
// (https://kubernetes.io/docs/concepts/security/pod-security-standards/)
// refuses in pod. The cluster test proves it by admission too.
func restrictedViolations(pod *corev1.PodSpec) []string {
	var out []string
	psc := pod.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if pod.HostNetwork || pod.HostPID || pod.HostIPC {
		out = append(out, "host namespaces")
	}
	for _, v := range pod.Volumes {
		if v.ConfigMap == nil && v.Secret == nil && v.EmptyDir == nil && v.Projected == nil && v.DownwardAPI == nil &&
			v.PersistentVolumeClaim == nil && v.CSI == nil && v.Ephemeral == nil {
			out = append(out, "volume "+v.Name+" of a restricted type")
		}
	}
	for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
		sc := c.SecurityContext
		if sc == nil {
			sc = &corev1.SecurityContext{}
		}
		for _, p := range c.Ports {
			if p.HostPort != 0 {
				out = append(out, c.Name+": hostPort")
			}
		}
		if sc.Privileged != nil && *sc.Privileged {
			out = append(out, c.Name+": privileged")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			out = append(out, c.Name+": allowPrivilegeEscalation is not false")
		}
		nonRoot := sc.RunAsNonRoot
		if nonRoot == nil {
			nonRoot = psc.RunAsNonRoot
		}
		if nonRoot == nil || !*nonRoot {
			out = append(out, c.Name+": runAsNonRoot is not true")
		}
		seccomp := sc.SeccompProfile
		if seccomp == nil {
			seccomp = psc.SeccompProfile
		}
		if seccomp == nil || (seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault && seccomp.Type != corev1.SeccompProfileTypeLocalhost) {
			out = append(out, c.Name+": seccompProfile is not RuntimeDefault or Localhost")
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			out = append(out, c.Name+": capabilities do not drop ALL")
		} else {
			for _, add := range sc.Capabilities.Add {
				if add != "NET_BIND_SERVICE" {
					out = append(out, c.Name+": adds capability "+string(add))
				}
			}
		}
	}
	return out
}

// secretVerbs are the most any role of the install may do with Secrets:
// never deletecollection, escalation or wildcards.
var secretVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete"}

// TestInstallRBACLeastPrivilege checks every role of dist/install.yaml: no
// wildcard anywhere, no privilege-escalation verbs, Secrets only in the
// manager's ClusterRole and with limited verbs, every binding for the
// manager's ServiceAccount and to a role of the install.
func TestInstallRBACLeastPrivilege(t *testing.T) {
	objs := installObjects(t)
	for _, p := range rbacProblems(t, objs) {
		t.Error(p)
	}
	le := convert[rbacv1.Role](t, find(t, objs, "Role", "wharf-leader-election"))
	if le.Namespace != systemNamespace {
		t.Errorf("the leader election Role is in %q, want %s", le.Namespace, systemNamespace)
	}
}

// TestRBACChecks makes sure rbacProblems catches what it is for.
func TestRBACChecks(t *testing.T) {
	role := func(kind, name string, rules ...rbacv1.PolicyRule) *unstructured.Unstructured {
		r := &rbacv1.ClusterRole{Rules: rules}
		r.Name = name
		u := toUnstructured(t, r)
		u.SetKind(kind)
		u.SetAPIVersion("rbac.authorization.k8s.io/v1")
		return u
	}
	rule := func(groups, resources, verbs []string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{APIGroups: groups, Resources: resources, Verbs: verbs}
	}
	core, secrets := []string{""}, []string{"secrets"}
	for name, tc := range map[string]struct {
		obj  *unstructured.Unstructured
		want string
	}{
		"wildcard verb":      {role("ClusterRole", managerName, rule([]string{"apps"}, []string{"deployments"}, []string{"*"})), `uses "*"`},
		"wildcard resource":  {role("ClusterRole", managerName, rule([]string{"apps"}, []string{"*"}, []string{"get"})), `uses "*"`},
		"wildcard group":     {role("ClusterRole", managerName, rule([]string{"*"}, []string{"deployments"}, []string{"get"})), `uses "*"`},
		"escalate":           {role("ClusterRole", managerName, rule([]string{"rbac.authorization.k8s.io"}, []string{"clusterroles"}, []string{"escalate"})), "grants escalate"},
		"secrets elsewhere":  {role("Role", "wharf-leader-election", rule(core, secrets, []string{"get"})), "only the manager's own"},
		"secrets collection": {role("ClusterRole", managerName, rule(core, secrets, []string{"deletecollection"})), "verb deletecollection"},
		"secrets mixed":      {role("ClusterRole", managerName, rule(core, []string{"configmaps", "secrets"}, []string{"deletecollection"})), "on Secrets"},
		"foreign binding": {func() *unstructured.Unstructured {
			b := &rbacv1.ClusterRoleBinding{RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "cluster-admin"},
				Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: serviceAccount, Namespace: systemNamespace}}}
			b.Name = "x"
			u := toUnstructured(t, b)
			u.SetKind("ClusterRoleBinding")
			return u
		}(), "not a role of the install"},
	} {
		t.Run(name, func(t *testing.T) {
			problems := rbacProblems(t, []*unstructured.Unstructured{tc.obj})
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("want a problem mentioning %q, got %q", tc.want, problems)
			}
		})
	}
}

// rbacProblems returns what breaks least privilege in the roles and
// bindings among objs.
func rbacProblems(t *testing.T, objs []*unstructured.Unstructured) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	roles := map[string]bool{}
	for _, o := range append(ofKind(objs, "ClusterRole"), ofKind(objs, "Role")...) {
		roles[o.GetKind()+"/"+o.GetName()] = true
		r := convert[rbacv1.ClusterRole](t, o) // a Role has the same rules
		if r.AggregationRule != nil {
			bad("%s %s aggregates other roles", o.GetKind(), o.GetName())
		}
		for i, rule := range r.Rules {
			for _, list := range [][]string{rule.Verbs, rule.APIGroups, rule.Resources, rule.NonResourceURLs, rule.ResourceNames} {
				for _, v := range list {
					if strings.Contains(v, "*") {
						bad("%s %s rule %d uses %q: %+v", o.GetKind(), o.GetName(), i, v, rule)
					}
				}
			}
			for _, v := range rule.Verbs {
				if v == "escalate" || v == "bind" || v == "impersonate" {
					bad("%s %s rule %d grants %s", o.GetKind(), o.GetName(), i, v)
				}
			}
			if !slices.Contains(rule.APIGroups, "") || !slices.Contains(rule.Resources, "secrets") {
				continue
			}
			if o.GetKind() != "ClusterRole" || o.GetName() != managerName {
				bad("%s %s grants access to Secrets: only the manager's own ClusterRole may", o.GetKind(), o.GetName())
			}
			for _, v := range rule.Verbs {
				if !slices.Contains(secretVerbs, v) {
					bad("%s %s: verb %s on Secrets, want only %v", o.GetKind(), o.GetName(), v, secretVerbs)
				}
			}
		}
	}
	for _, o := range append(ofKind(objs, "ClusterRoleBinding"), ofKind(objs, "RoleBinding")...) {
		b := convert[rbacv1.ClusterRoleBinding](t, o)
		if !roles[b.RoleRef.Kind+"/"+b.RoleRef.Name] {
			bad("%s %s binds %s %s, which is not a role of the install", o.GetKind(), o.GetName(), b.RoleRef.Kind, b.RoleRef.Name)
		}
		for _, s := range b.Subjects {
			if s.Kind != rbacv1.ServiceAccountKind || s.Name != serviceAccount || s.Namespace != systemNamespace {
				bad("%s %s binds %+v, want only ServiceAccount %s/%s", o.GetKind(), o.GetName(), s, systemNamespace, serviceAccount)
			}
		}
	}
	return out
}

// TestInstallerPinsDigest: with IMG_DIGEST, dist/install.yaml runs the
// manager image by digest (what was pushed, whatever its tag points to
// later); a malformed digest is refused.
func TestInstallerPinsDigest(t *testing.T) {
	digest := "sha256:" + strings.Repeat("0123456789abcdef", 4)
	out := filepath.Join(t.TempDir(), "install.yaml")
	env := []string{"IMG=registry.example.com/wharf:v9.9.9", "IMG_DIGEST=" + digest, "KUBECTL=" + kubectl(t)}
	run(t, env, "bash", "hack/build-installer.sh", out)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	image := managerDeployment(t, decodeAll(t, out, data)).Spec.Template.Spec.Containers[0].Image
	if want := "registry.example.com/wharf@" + digest; image != want {
		t.Errorf("the manager runs %s, want %s", image, want)
	}
	env[1] = "IMG_DIGEST=sha256:abc"
	if _, errOut, err := runCode(t, env, "bash", "hack/build-installer.sh", out); err == nil || !strings.Contains(errOut, "IMG_DIGEST must be") {
		t.Errorf("a malformed IMG_DIGEST was not refused: %v %s", err, errOut)
	}
}
