#!/usr/bin/env bash
# Create .venv with everything st-compress needs (CPU torch first, so no CUDA build is pulled in).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -e ".[train,serve,models,dev,openvino,openvino-peers]"
.venv/bin/python -m pip check
echo "st-compress is set up in .venv" >&2
# The edge profiles' runtimes (transformers.js for Node and Chromium, the emulated arm64 runtime): into the cache.
bash scripts/setup-edge.sh all
