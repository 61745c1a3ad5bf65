package cluster

import (
	"fmt"
	"path/filepath"
	"strings"
)

// controllers are the kube-controller-manager controllers the cluster runs:
// enough for Deployments, DaemonSets, StatefulSets, Jobs, Services and
// namespaces to behave as in a real cluster, and for nodes to lose their
// not-ready taint once kwok reports them Ready.
var controllers = []string{
	"deployment-controller",
	"replicaset-controller",
	"daemonset-controller",
	"statefulset-controller",
	"job-controller",
	"endpoints-controller",
	"endpointslice-controller",
	"garbage-collector-controller",
	"namespace-controller",
	"serviceaccount-controller",
	"serviceaccount-token-controller",
	"root-ca-certificate-publisher-controller",
	"clusterrole-aggregation-controller",
	"pod-garbage-collector-controller",
	"node-lifecycle-controller",
}

// ports are the TCP ports the control plane listens on, all on 127.0.0.1.
type ports struct {
	etcdClient, etcdPeer, apiserver, controllerManager, scheduler int
}

func (c *Cluster) newProcess(name string, args []string, env ...string) *process {
	return &process{
		name:    name,
		path:    filepath.Join(c.binDir, name),
		args:    args,
		env:     env,
		logPath: filepath.Join(c.dir, name+".log"),
	}
}

func (c *Cluster) etcdProcess() *process {
	client := fmt.Sprintf("http://127.0.0.1:%d", c.ports.etcdClient)
	peer := fmt.Sprintf("http://127.0.0.1:%d", c.ports.etcdPeer)
	return c.newProcess("etcd", []string{
		"--name=wharf",
		"--data-dir=" + filepath.Join(c.dir, "etcd"),
		"--listen-client-urls=" + client,
		"--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=wharf=" + peer,
		"--unsafe-no-fsync=true",
		"--log-level=warn",
	})
}

func (c *Cluster) apiserverProcess() *process {
	p := c.pki
	return c.newProcess("kube-apiserver", []string{
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", c.ports.etcdClient),
		"--bind-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", c.ports.apiserver),
		"--advertise-address=127.0.0.1",
		// A loopback address cannot be an endpoint of the kubernetes Service.
		"--endpoint-reconciler-type=none",
		"--cert-dir=" + filepath.Join(c.dir, "kube-apiserver"),
		"--tls-cert-file=" + p.servingCert,
		"--tls-private-key-file=" + p.servingKey,
		"--client-ca-file=" + p.caCert,
		"--requestheader-client-ca-file=" + p.frontProxyCACert,
		"--requestheader-allowed-names=" + frontProxyClientName,
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + p.frontProxyCert,
		"--proxy-client-key-file=" + p.frontProxyKey,
		"--service-cluster-ip-range=" + ServiceCIDR,
		"--authorization-mode=Node,RBAC",
		// The default plugins stay on; NodeRestriction is added as K3s does.
		"--enable-admission-plugins=NodeRestriction",
		"--allow-privileged=true",
		"--service-account-issuer=https://kubernetes.default.svc." + ClusterDomain,
		"--service-account-key-file=" + p.serviceAccountPub,
		"--service-account-signing-key-file=" + p.serviceAccountKey,
		// Without it, shutdown waits up to --request-timeout (60s) for open
		// watches; with it, new requests get 429 Retry-After while in-flight
		// ones drain, then the server closes within 2s.
		"--shutdown-send-retry-after=true",
		"--profiling=false",
		"--v=1",
	})
}

func (c *Cluster) controllerManagerProcess() *process {
	p := c.pki
	kubeconfig := filepath.Join(c.dir, "controller-manager.kubeconfig")
	return c.newProcess("kube-controller-manager", []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--bind-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", c.ports.controllerManager),
		"--tls-cert-file=" + p.servingCert,
		"--tls-private-key-file=" + p.servingKey,
		"--leader-elect=false",
		"--controllers=" + strings.Join(controllers, ","),
		"--use-service-account-credentials=true",
		"--service-account-private-key-file=" + p.serviceAccountKey,
		"--root-ca-file=" + p.caCert,
		"--node-monitor-period=2s",
		"--kube-api-qps=200",
		"--kube-api-burst=400",
		"--concurrent-daemonset-syncs=5",
		"--profiling=false",
		"--v=1",
	})
}

func (c *Cluster) schedulerProcess() *process {
	p := c.pki
	kubeconfig := filepath.Join(c.dir, "scheduler.kubeconfig")
	return c.newProcess("kube-scheduler", []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--bind-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", c.ports.scheduler),
		"--tls-cert-file=" + p.servingCert,
		"--tls-private-key-file=" + p.servingKey,
		"--leader-elect=false",
		// Its default client QPS (50) would bind DaemonSet pods at 50 a
		// second: with every node serving 500 Services, 25,000 svclb pods
		// would take the scheduler 8 minutes. kube-controller-manager gets
		// the same above.
		"--kube-api-qps=200",
		"--kube-api-burst=400",
		"--profiling=false",
		"--v=1",
	})
}

func (c *Cluster) kwokProcess() *process {
	return c.newProcess("kwok", []string{
		"--kubeconfig=" + c.kubeconfig,
		"--config=" + filepath.Join(c.dir, "kwok.yaml"),
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=" + KwokNodeAnnotation + "=fake",
		"--node-lease-duration-seconds=40",
		"--cidr=" + PodCIDR,
	},
		// kwok also reads ~/.kwok/kwok.yaml: keep a developer's file out.
		"HOME="+filepath.Join(c.dir, "kwok"),
	)
}
