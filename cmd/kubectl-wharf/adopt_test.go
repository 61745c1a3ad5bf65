package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/internal/testenv"
	"github.com/wharf-dev/wharf/test/k3s"
)

// TestAdoptDryRunOnK3sCoreDNS plans the take-over of the CoreDNS K3s
// deployed on a real API server: the ServiceAccount is kept as it runs,
// the Deployment changes (wharf rolls with maxUnavailable 0), the
// ClusterRole K3s's manifest lacks here is created, and nothing is
// written.
func TestAdoptDryRunOnK3sCoreDNS(t *testing.T) {
	env := startWithK3sCoreDNS(t)
	ctx := context.Background()
	before := &appsv1.Deployment{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: k3s.Namespace, Name: "coredns"}, before); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "cn.yaml")
	cn := "apiVersion: networking.wharf.dev/v1alpha1\nkind: ClusterNetworking\nmetadata: {name: cluster}\n" +
		"spec: {traefik: {enabled: false}}\n"
	if err := os.WriteFile(file, []byte(cn), 0o644); err != nil {
		t.Fatal(err)
	}
	kubeconfig := testenv.WriteKubeconfig(t, env.Config)

	if code, _, errOut := runCmd(t, "", "adopt", "-f", file, "--kubeconfig", kubeconfig); code == 0 || !strings.Contains(errOut, "--dry-run") {
		t.Errorf("adopt without --dry-run: exit %d, %s", code, errOut)
	}
	code, out, errOut := runCmd(t, "", "adopt", "--dry-run", "-f", file, "--kubeconfig", kubeconfig)
	if code != 0 {
		t.Fatalf("adopt --dry-run: exit %d: %s", code, errOut)
	}
	t.Logf("adopt --dry-run:\n%s", out)
	for _, want := range []string{
		"keep    coredns   ServiceAccount kube-system/coredns (taken over)\n",
		"change  coredns   Deployment kube-system/coredns (taken over)\n",
		"create  coredns   ClusterRole system:coredns\n",
		// ServiceLB's namespace exists: left as it is, never refused.
		"keep    servicelb Namespace kube-system\n",
		"create  servicelb ServiceAccount kube-system/svclb\n",
		"+      maxUnavailable: 0",
		"-        image: rancher/mirrored-coredns-coredns:1.12.0",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the plan lacks %q", want)
		}
	}

	after := &appsv1.Deployment{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(before), after); err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != before.ResourceVersion {
		t.Errorf("the dry run wrote the coredns Deployment")
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "system:coredns"}, &rbacv1.ClusterRole{}); !apierrors.IsNotFound(err) {
		t.Errorf("the dry run created the ClusterRole (err %v)", err)
	}
}

// TestAdoptDryRunReleasesWhatWharfAdopted: once the real manager has taken
// over K3s's CoreDNS, a file turning CoreDNS off releases what K3s
// created (it keeps running) and deletes what wharf created.
func TestAdoptDryRunReleasesWhatWharfAdopted(t *testing.T) {
	env := startWithK3sCoreDNS(t)
	stop := testenv.StartManager(t, env.Config)
	cn := &v1alpha1.ClusterNetworking{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.SingletonName}}
	cn.Spec.Traefik.Enabled = ptr.To(false)
	cn.Spec.ServiceLB.Enabled = ptr.To(false)
	mustCreate(t, env.Client, cn)
	waitForInventory(t, env.Client, "ClusterRole", "system:coredns")
	stop()

	kubeconfig := testenv.WriteKubeconfig(t, env.Config)
	out := adoptDryRun(t, kubeconfig, "apiVersion: networking.wharf.dev/v1alpha1\nkind: ClusterNetworking\nmetadata: {name: cluster}\n"+
		"spec: {coredns: {enabled: false}, traefik: {enabled: false}, serviceLB: {enabled: false}}\n", 0)
	wantLines(t, out,
		"release coredns   Deployment kube-system/coredns (left running, no longer managed)\n",
		"release coredns   ServiceAccount kube-system/coredns (left running, no longer managed)\n",
		"delete  coredns   ClusterRole system:coredns\n")
	if err := env.Client.Get(context.Background(), client.ObjectKey{Name: "system:coredns"}, &rbacv1.ClusterRole{}); err != nil {
		t.Errorf("the dry run deleted the ClusterRole: %v", err)
	}
}

// startWithK3sCoreDNS starts an API server running the CoreDNS objects K3s
// deploys, as K3s's deploy controller applies them.
func startWithK3sCoreDNS(t *testing.T) *testenv.Env {
	t.Helper()
	env := testenv.Start(t)
	deployer, err := k3s.NewDeployer(env.Config, "coredns")
	if err != nil {
		t.Fatal(err)
	}
	if err := deployer.Apply(k3s.CoreDNS(v1alpha1.DefaultDNSClusterIP, "10.0.0.11 server-0\n")...); err != nil {
		t.Fatal(err)
	}
	return env
}
