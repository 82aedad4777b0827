#!/usr/bin/env bash
# The "container image" suite of run-tests.sh: builds the kit's image with podman and runs it as
# a learner does (test_learner.py) and as a class behind JupyterHub's DockerSpawner does
# (test_class.py). Needs root (rootful podman); installs podman, runc and mmdebstrap from
# Debian's packages when missing. On machines that reach no image registry (CI's) the public
# base image is replaced by a local stand-in of the same name (standins.sh).
#
#   classroom/container/test.sh [--screenshot FILE]
#
# The image is kept as localhost/notebook-kit:test (and :test-r2d, built with repo2docker's
# NB_USER/NB_UID), so that the next run reuses its layers;
# containers, volumes, the podman API socket and the hub are removed, also on failure.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
say() { printf '[container] %s\n' "$*"; }
[ "$(id -u)" = 0 ] || { say "needs root (rootful podman; set NOTEBOOK_KIT_SKIP_CONTAINER=1 to leave it out)"; exit 1; }
missing=()
for tool in podman runc mmdebstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} (Debian's packages)"
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi
export CONTAINERS_CONF=${CONTAINERS_CONF:-$HERE/containers.conf}
image=localhost/notebook-kit:test
py=${NOTEBOOK_KIT_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/notebook-kit}/venv/bin/python

"$HERE/standins.sh"
"$HERE/build.sh" --tag "$image"
# Layers of earlier builds that no tag uses any more (each build of a changed checkout leaves some).
podman image prune -f >/dev/null
"$py" "$HERE/test_learner.py" --image "$image" "$@"
"$py" "$HERE/test_class.py" --image "$image"
# repo2docker's build arguments: another user, every layer but the last reused.
"$HERE/build.sh" --tag "$image-r2d" -- --build-arg NB_USER=learner --build-arg NB_UID=1001
"$py" "$HERE/test_learner.py" --image "$image-r2d" --smoke learner:1001
