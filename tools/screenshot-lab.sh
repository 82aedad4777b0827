#!/usr/bin/env bash
# Opens a notebook in JupyterLab on loopback and screenshots it with headless Chromium
# (Debian package `chromium`), to check that the committed outputs render as a reader sees them.
#   tools/screenshot-lab.sh [NOTEBOOK] [OUT.png]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NB=${1:-notebooks/01-gpu-benchmarking-cifar10.ipynb}
OUT=${2:-/tmp/lab-screenshot.png}
NK_HOME=${NOTEBOOK_KIT_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/notebook-kit}
PORT=${PORT:-18888}
command -v chromium >/dev/null || { echo "chromium not installed (apt-get install chromium)" >&2; exit 1; }

"$NK_HOME/venv/bin/jupyter" lab --no-browser --ip=127.0.0.1 --port="$PORT" --allow-root \
    --ServerApp.token='' --ServerApp.password='' --ServerApp.root_dir="$ROOT" \
    --LabApp.news_url=None --LabServerApp.extra_labextensions_path=[] >/tmp/lab-screenshot.log 2>&1 &
lab=$!
trap 'kill $lab 2>/dev/null' EXIT
for _ in $(seq 60); do curl -s "http://127.0.0.1:$PORT/api" >/dev/null && break; sleep 1; done

profile=$(mktemp -d)
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --window-size=${WINDOW:-1400,4000} --virtual-time-budget=45000 \
    --screenshot="$OUT" "http://127.0.0.1:$PORT/lab/tree/$NB" 2>/dev/null
rm -rf "$profile"
echo "screenshot: $OUT"
