#!/usr/bin/env bash
# A student's server, started by the class hub under the student's own account: hands out the
# lesson notebooks the student does not have yet (their own copies are never touched), except
# solutions (*-solution.ipynb, released with handout.sh), then runs JupyterLab. Deleting a
# notebook and restarting the server brings back a fresh copy.
#
#   singleuser.sh [ARGS]        a hub's single-user server (jupyterhub-singleuser ARGS)
#   singleuser.sh --lab [ARGS]  a learner's own JupyterLab on the lesson, no hub (the container
#                               image without JUPYTERHUB_API_TOKEN): solutions handed out too,
#                               ARGS go to tools/lab.py (--ip, --port, --url-host)
set -euo pipefail
prefix=${NOTEBOOK_KIT_PREFIX:?started by the class hub, which sets NOTEBOOK_KIT_PREFIX}
lab=
if [ "${1:-}" = --lab ]; then lab=1; shift; fi
umask 077
lesson=$HOME/rust-lesson
mkdir -p "$lesson/notebooks"
# The notebooks' `:dep notebook-kit = { path = "../crates/notebook-kit" }` must reach the shared
# crate (evcxr resolves the link), so that kernels start from the prebuilt folder.
if [ ! -e "$lesson/crates" ] || [ -L "$lesson/crates" ]; then
    ln -sfn "$prefix/src/crates" "$lesson/crates"
fi
# Solutions stay with the teacher until classroom/handout.sh releases them; a learner on their
# own has them from the start, as with ./kernel-setup.sh --lab.
for nb in "$prefix/src/notebooks"/*.ipynb; do
    case "${nb##*/}" in *-solution.ipynb) [ -n "$lab" ] || continue ;; esac
    [ -e "$lesson/notebooks/${nb##*/}" ] || cp "$nb" "$lesson/notebooks/"
done
kernel="$prefix/kit/bin/rust-tch-kernel"
"$kernel" --sweep || true
if [ -n "$lab" ]; then
    server=("$prefix/kit/venv/bin/python" "$prefix/src/tools/lab.py" --root "$HOME" "$@"
        rust-lesson/notebooks/01-gpu-benchmarking-cifar10.ipynb)
else
    server=("$prefix/kit/venv/bin/jupyterhub-singleuser" "$@")
fi
# The hub stops a server with SIGINT, on which jupyter_server exits without shutting its kernels
# down; on SIGTERM it does. So the server runs as a child that gets SIGTERM for either, and
# whatever kernel survives is stopped after it.
set +e
"${server[@]}" &
server=$!
trap 'kill -TERM "$server" 2>/dev/null' INT TERM
while :; do
    wait "$server"
    status=$?
    kill -0 "$server" 2>/dev/null || break
done
"$kernel" --stop
exit "$status"
