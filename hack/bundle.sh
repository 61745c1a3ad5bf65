#!/usr/bin/env bash
# Writes wharf's OLM bundle: bundle/ (manifests, metadata, scorecard config)
# and bundle.Dockerfile, for version VERSION with the manager image IMG:
#
#   VERSION=0.1.0 IMG=ghcr.io/wharf-dev/wharf:v0.1.0 bash hack/bundle.sh [OUT_DIR]
#
# CHANNELS (comma-separated, default alpha) and DEFAULT_CHANNEL (default
# alpha) set the bundle's channels.
# OUT_DIR (default: the repository root) receives bundle/ and
# bundle.Dockerfile. The install strategy comes from config/default,
# rendered exactly as for dist/install.yaml; the rest from config/manifests
# and config/samples (see hack/bundlegen).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-${root}}"
GO="${GO:-go}"

die() { printf 'bundle: error: %s\n' "$*" >&2; exit 1; }
[[ -n "${VERSION:-}" ]] || die "VERSION is not set (make bundle sets it; e.g. VERSION=0.1.0)"
[[ -n "${IMG:-}" ]] || die "IMG is not set (make bundle sets it)"

tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT
IMG="${IMG}" bash "${root}/hack/build-installer.sh" "${tmp}/install.yaml"
(cd "${root}" && "${GO}" run ./hack/bundlegen --version "${VERSION}" --install "${tmp}/install.yaml" --root "${root}" --out "${out}" \
  --channels "${CHANNELS:-alpha}" --default-channel "${DEFAULT_CHANNEL:-alpha}")
echo "bundle: wrote ${out}/bundle and ${out}/bundle.Dockerfile (wharf.v${VERSION}, image ${IMG}${IMG_DIGEST:+, pinned to ${IMG_DIGEST}})" >&2
