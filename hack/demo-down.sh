#!/usr/bin/env bash
# make demo-down: stop what make demo started and remove .demo/ (the
# cluster's data, certificates, kubeconfig and logs). .demo/ is kept, and
# the command fails, when something could not be stopped, so that nothing
# still running loses its files.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${root}/.demo"
stopped=true
if [[ -f "${dir}/manager.pid" ]]; then
  pid="$(cat "${dir}/manager.pid")"
  if kill "${pid}" 2>/dev/null; then
    for _ in $(seq 50); do kill -0 "${pid}" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "${pid}" 2>/dev/null; then
      echo "the manager (pid ${pid}) did not stop" >&2
      stopped=false
    fi
  fi
  rm -f "${dir}/manager.pid"
fi
if [[ -f "${dir}/localcluster.pid" ]]; then
  "${root}/bin/localcluster" down --dir "${dir}" || stopped=false
fi
if [[ "${stopped}" != true ]]; then
  echo "demo not fully stopped; ${dir} is kept" >&2
  exit 1
fi
rm -rf "${dir}"
echo "demo stopped; .demo/ removed"
