#!/usr/bin/env bash
# make demo: start a local control plane (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and two kwok nodes), run wharf
# against it, apply the sample ClusterNetworking plus the guide's nginx
# LoadBalancer Service, and show what came of it.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}"
dir="${root}/.demo"
tools="${root}/bin/tools"
export KUBECONFIG="${dir}/kubeconfig"
kubectl() { "${tools}/kubectl" "$@"; }

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local timeout=$1 what=$2; shift 2
  local start=$SECONDS
  printf '    waiting for %s ' "${what}"
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS - start > timeout )); then
      printf ' gave up after %ss\n' "${timeout}"
      return 1
    fi
    printf '.'; sleep 2
  done
  printf ' done (%ss)\n' "$(( SECONDS - start ))"
}

if [[ -f "${dir}/localcluster.pid" ]]; then
  step "Stopping the previous demo"
  bash "${root}/hack/demo-down.sh" || true
fi
mkdir -p "${dir}"

step "Building the local cluster runner"
go build -o "${root}/bin/localcluster" ./test/cluster/cmd/localcluster

step "Starting a local control plane with nodes master01 (10.0.0.51) and master02 (10.0.0.52)"
nohup "${root}/bin/localcluster" up --dir "${dir}" --nodes master01=10.0.0.51,master02=10.0.0.52 \
  >"${dir}/localcluster.log" 2>&1 &
wait_for 180 "the API server and nodes" kubectl get nodes master01 master02
kubectl get nodes -o wide

step "Installing the ClusterNetworking CRD and starting wharf (log: .demo/manager.log)"
kubectl apply --server-side -f config/crd/bases/networking.wharf.dev_clusternetworkings.yaml
wait_for 60 "the CRD to be established" kubectl wait --for=condition=Established crd/clusternetworkings.networking.wharf.dev --timeout=5s
nohup "${root}/bin/manager" --kubeconfig "${KUBECONFIG}" --health-probe-bind-address=0 --zap-log-level=info \
  >"${dir}/manager.log" 2>&1 &
echo $! >"${dir}/manager.pid"

step "Applying config/samples/clusternetworking.yaml and the guide's nginx LoadBalancer Service"
kubectl apply --server-side -f config/samples/clusternetworking.yaml
kubectl apply --server-side -f hack/demo-nginx.yaml
wait_for 240 "ClusterNetworking/cluster to be Ready" kubectl wait --for=condition=Ready clusternetworking/cluster --timeout=5s || true

step "kubectl get clusternetworking"
kubectl get cn -o wide
kubectl get cn cluster -o jsonpath='{range .status.conditions[*]}{"    "}{.type}{"="}{.status}{"  "}{.reason}{": "}{.message}{"\n"}{end}'

step "The Traefik dashboard"
kubectl get cn cluster -o jsonpath='    {.status.traefik.dashboardURL} (users from Secret kube-system/{.status.traefik.dashboardSecret}){"\n"}'
kubectl -n kube-system get ingressroutes.traefik.io,middlewares.traefik.io

step "What wharf deployed in kube-system"
kubectl -n kube-system get deployments,services,configmaps -l app.kubernetes.io/managed-by=wharf

step "svclb pods (one per node per LoadBalancer Service)"
kubectl -n kube-system get pods -l svccontroller.k3s.cattle.io/svcname -o wide

step "LoadBalancer IPs"
kubectl get services -A --field-selector spec.type=LoadBalancer

step "A DNS answer from the real CoreDNS serving wharf's Corefile"
go run ./hack/demodns --kubeconfig "${KUBECONFIG}" --coredns "${tools}/coredns" --dir "${dir}/coredns" k3s.test.org master01 kubernetes.default.svc.cluster.local || true

cat <<MSG

The demo cluster keeps running. Try:
  export KUBECONFIG=${KUBECONFIG}
  bin/tools/kubectl get cn cluster -o yaml
  bin/tools/kubectl label node master02 svccontroller.k3s.cattle.io/enablelb=true
Stop it with: make demo-down
MSG
