#!/usr/bin/env bash
# make bench: measure ServiceLB at scale on the local control plane and
# write test/bench/results/latest.json and latest.png.
#
#   N=2000 make bench           # 2,000 Services (default 500)
#   M=50 PODS=5000 POOL=2       # nodes, unrelated pods, nodes per Service
#   POOL=all                    # every node serves every Service, as K3s does by
#                               # default: N×M svclb pods; writes every-node.json
#   BENCH_ARGS="-steady 30s"    # more flags of wharfbench (-h lists them)
#
# It needs bin/manager (make build) and bin/tools (make envtest); `make
# bench` builds both first. Run it on an otherwise idle machine: the
# control plane, kwok, the manager and the floor client share its CPUs.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}"
export KUBEBUILDER_ASSETS="${KUBEBUILDER_ASSETS:-${root}/bin/tools}"
go build -o "${root}/bin/wharfbench" ./test/bench/cmd/wharfbench
# shellcheck disable=SC2086 # BENCH_ARGS holds several flags
exec "${root}/bin/wharfbench" -manager "${root}/bin/manager" ${BENCH_ARGS:-}
