#!/usr/bin/env bash
# Builds the binaries of the local test control plane from the test/tools
# module into bin/tools (KUBEBUILDER_ASSETS=$PWD/bin/tools works for envtest):
# kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok,
# etcd and coredns.
#
# A cold build takes about 15-30 minutes on 2 cores, so built binaries are
# cached outside the repository, keyed by everything that decides them
# (test/tools go.mod, go.sum and cmd/ sources, the Go version, the platform and
# this recipe):
#   ${WHARF_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wharf/tools}/<key>/
# and hard-linked (or copied) into bin/tools with a stamp file. A fresh clone
# on a machine that built them once costs seconds.
#
# Needs only Go and a module proxy. Exits non-zero if any build fails.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
module="${root}/test/tools"
out="${root}/bin/tools"
stamp="${out}/.stamp"
GO="${GO:-go}"

# Bump when the build flags below change, to invalidate cached binaries.
recipe=1

# name=package, built from ${module}.
binaries=(
  kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver
  kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager
  kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler
  kubectl=k8s.io/kubernetes/cmd/kubectl
  kwok=sigs.k8s.io/kwok/cmd/kwok
  etcd=./cmd/etcd
  coredns=./cmd/coredns
)

# The tools module is built on its own, with fixed settings.
export GOWORK=off GOFLAGS= CGO_ENABLED=0

log() { printf 'tools: %s\n' "$*" >&2; }

# ticker WHAT prints "WHAT, XmYYs elapsed" every minute (WHARF_TOOLS_TICK
# seconds) until killed, so a long build or wait is never silent. Run it in
# the background.
ticker() {
  local what=$1 start sleeper= elapsed
  start=$(date +%s)
  trap '[[ -n "${sleeper}" ]] && kill "${sleeper}" 2>/dev/null; exit 0' TERM
  while :; do
    sleep "${WHARF_TOOLS_TICK:-60}" &
    sleeper=$!
    wait "${sleeper}"
    elapsed=$(( $(date +%s) - start ))
    log "$(printf '%s, %dm%02ds elapsed' "${what}" $((elapsed / 60)) $((elapsed % 60)))"
  done
}
tick=
start_ticker() { ticker "$1" & tick=$!; }
stop_ticker() {
  if [[ -n "${tick}" ]]; then
    kill "${tick}" 2>/dev/null || true
    wait "${tick}" 2>/dev/null || true
    tick=
  fi
}
trap stop_ticker EXIT
die() { log "error: $*"; exit 1; }

command -v "${GO}" >/dev/null || die "go not found in PATH"
[[ -f "${module}/go.mod" ]] || die "${module}/go.mod not found"

# required_version MODULE prints the version test/tools/go.mod requires.
required_version() {
  awk -v m="$1" '$1 == m && $2 ~ /^v/ { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "${module}/go.mod"
}

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum | cut -d' ' -f1; else shasum -a 256 | cut -d' ' -f1; fi
}

kube_version="$(required_version k8s.io/kubernetes)"
kwok_version="$(required_version sigs.k8s.io/kwok)"
[[ -n "${kube_version}" ]] || die "k8s.io/kubernetes is not required by ${module}/go.mod"
[[ -n "${kwok_version}" ]] || die "sigs.k8s.io/kwok is not required by ${module}/go.mod"

key="$(
  cd "${module}"
  {
    echo "recipe ${recipe}"
    "${GO}" env GOVERSION GOOS GOARCH
    cat go.mod go.sum
    find cmd -type f | LC_ALL=C sort | while read -r f; do echo "== ${f}"; cat "${f}"; done
  } | sha256 | cut -c1-16
)"

names=()
for entry in "${binaries[@]}"; do names+=("${entry%%=*}"); done

installed() {
  [[ -f "${stamp}" && "$(cat "${stamp}")" == "${key}" ]] || return 1
  local n
  for n in "${names[@]}"; do [[ -x "${out}/${n}" ]] || return 1; done
}

if installed; then
  log "bin/tools is up to date (${key})"
  exit 0
fi

cache_root="${WHARF_TOOLS_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/wharf/tools}"
cache="${cache_root}/${key}"
mkdir -p "${cache_root}"

# One builder per key at a time; others wait and then reuse its result.
if command -v flock >/dev/null; then
  exec 9>"${cache_root}/${key}.lock"
  if ! flock -n 9; then
    log "another build of ${key} is running; waiting for it"
    start_ticker "still waiting for the other build of ${key}"
    flock 9
    stop_ticker
  fi
fi

if [[ ! -f "${cache}/.complete" ]]; then
  k8s_ldflags=(
    "-X k8s.io/component-base/version.gitVersion=${kube_version}"
    "-X k8s.io/component-base/version.gitMajor=$(cut -d. -f1 <<<"${kube_version#v}")"
    "-X k8s.io/component-base/version.gitMinor=$(cut -d. -f2 <<<"${kube_version}")"
    "-X k8s.io/component-base/version.gitTreeState=clean"
    "-X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
    "-X k8s.io/client-go/pkg/version.gitVersion=${kube_version}"
    "-X k8s.io/client-go/pkg/version.gitMajor=$(cut -d. -f1 <<<"${kube_version#v}")"
    "-X k8s.io/client-go/pkg/version.gitMinor=$(cut -d. -f2 <<<"${kube_version}")"
    "-X k8s.io/client-go/pkg/version.gitTreeState=clean"
  )
  kwok_ldflags=("-X sigs.k8s.io/kwok/pkg/consts.Version=${kwok_version#v}")

  tmp="$(mktemp -d "${cache_root}/.build-${key}.XXXXXX")"
  trap 'stop_ticker; rm -rf "${tmp}"' EXIT
  log "building ${#binaries[@]} binaries (k8s ${kube_version}, kwok ${kwok_version}) into ${cache}"
  log "a cold build takes about 15-30 minutes on 2 cores (kube-apiserver, the first, is the longest); a line a minute says it is still going"
  i=0
  for entry in "${binaries[@]}"; do
    i=$((i + 1))
    name="${entry%%=*}"
    pkg="${entry#*=}"
    ldflags="-s -w"
    case "${pkg}" in
      k8s.io/kubernetes/*) ldflags+=" ${k8s_ldflags[*]}" ;;
      sigs.k8s.io/kwok/*) ldflags+=" ${kwok_ldflags[*]}" ;;
    esac
    started=${SECONDS}
    step="[${i}/${#binaries[@]}] ${name}"
    log "${step}: building ${pkg}"
    start_ticker "${step}: still building"
    if ! (cd "${module}" && "${GO}" build -trimpath -buildvcs=false -ldflags="${ldflags}" -o "${tmp}/${name}" "${pkg}") >"${tmp}/${name}.log" 2>&1; then
      stop_ticker
      log "${step}: FAILED"
      cat "${tmp}/${name}.log" >&2
      die "building ${name} (${pkg}) failed"
    fi
    stop_ticker
    rm -f "${tmp}/${name}.log"
    log "${step}: ok ($((SECONDS - started))s)"
  done
  echo "${key}" >"${tmp}/.complete"
  rm -rf "${cache}"
  mv "${tmp}" "${cache}"
  trap stop_ticker EXIT
fi

mkdir -p "${out}"
rm -f "${stamp}"
for n in "${names[@]}"; do
  rm -f "${out}/${n}"
  ln "${cache}/${n}" "${out}/${n}" 2>/dev/null || cp "${cache}/${n}" "${out}/${n}"
done
echo "${key}" >"${stamp}"
log "bin/tools ready (${key}); KUBEBUILDER_ASSETS=${out}"
