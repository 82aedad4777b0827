#!/usr/bin/env bash
# The container image's command (under tini, PID 1). Started by JupyterHub (DockerSpawner,
# KubeSpawner: JUPYTERHUB_API_TOKEN is set) it runs the single-user server with the hub's
# arguments; otherwise JupyterLab on the lesson for one learner, on all of the container's
# interfaces, printing last the URL to open on the host (port 8888 published on 127.0.0.1).
# Either way the lesson's notebooks are handed out into ~/rust-lesson first and never
# overwritten, so a volume on /home/jovyan keeps the learner's work.
set -euo pipefail
prefix=${NOTEBOOK_KIT_PREFIX:-/opt/notebook-kit}
export NOTEBOOK_KIT_PREFIX=$prefix
# A data folder mounted at /data (-v DIR:/data, or baked into a derived image) is used offline;
# without one the loaders download into ~/.cache/notebook-kit, as Keras does into ~/.keras.
if [ -z "${NOTEBOOK_KIT_DATA:-}" ] && [ -n "$(ls -A /data 2>/dev/null)" ]; then
    export NOTEBOOK_KIT_DATA=/data
fi
if [ -n "${JUPYTERHUB_API_TOKEN:-}" ]; then
    exec "$prefix/src/classroom/singleuser.sh" "$@"
fi
exec "$prefix/src/classroom/singleuser.sh" --lab --ip 0.0.0.0 --port 8888 --url-host 127.0.0.1 "$@"
