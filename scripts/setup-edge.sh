#!/usr/bin/env bash
# Install the runtimes of the edge profiles into the project's cache ($ST_COMPRESS_HOME/runtimes, default
# ~/.cache/st-compress/runtimes), from the package registries only:
#   node     transformers.js and onnxruntime-node/-web (npm, the versions in compress/bench/edge/js/package-lock.json;
#            --ignore-scripts: the packages carry their CPU binaries, and onnxruntime-node's install script would
#            reach a host outside the registries)
#   browser  the same, and Debian's chromium
#   arm64    scripts/setup-arm64.sh (qemu-user, an aarch64 Python, aarch64 wheels)
#   all      all three (the default)
set -euo pipefail
cd "$(dirname "$0")/.."
WHAT="${1:-all}"
CACHE="${ST_COMPRESS_HOME:-$HOME/.cache/st-compress}/runtimes"

setup_js() {
  command -v node >/dev/null || { echo "Node.js 18+ is needed (apt-get install nodejs npm)" >&2; exit 2; }
  local dest="$CACHE/js" tmp
  mkdir -p "$CACHE"
  if [ -f "$dest/package-lock.json" ] && cmp -s "$dest/package-lock.json" compress/bench/edge/js/package-lock.json \
     && [ -d "$dest/node_modules/@huggingface/transformers" ]; then
    echo "transformers.js is up to date in $dest" >&2
    return
  fi
  tmp="$(mktemp -d "$CACHE/.js-XXXXXX")"
  cp compress/bench/edge/js/package.json compress/bench/edge/js/package-lock.json "$tmp/"
  (cd "$tmp" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
  rm -rf "$dest.old"
  [ -e "$dest" ] && mv "$dest" "$dest.old"
  mv "$tmp" "$dest"
  rm -rf "$dest.old"
  echo "transformers.js ready in $dest" >&2
}

setup_chromium() {
  if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then
    echo "chromium is installed" >&2
    return
  fi
  apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >&2
}

case "$WHAT" in
  node) setup_js ;;
  browser) setup_js; setup_chromium ;;
  arm64) bash scripts/setup-arm64.sh ;;
  all) setup_js; setup_chromium; bash scripts/setup-arm64.sh ;;
  *) echo "usage: scripts/setup-edge.sh [node|browser|arm64|all]" >&2; exit 2 ;;
esac
