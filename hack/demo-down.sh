#!/usr/bin/env bash
# make demo-down: stop what make demo started.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${root}/.demo"
if [[ -f "${dir}/manager.pid" ]]; then
  kill "$(cat "${dir}/manager.pid")" 2>/dev/null
  rm -f "${dir}/manager.pid"
fi
if [[ -f "${dir}/localcluster.pid" ]]; then
  "${root}/bin/localcluster" down --dir "${dir}"
fi
echo "demo stopped"
