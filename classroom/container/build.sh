#!/usr/bin/env bash
# Builds the kit's image with podman from a clean copy of this checkout (what `git clone` would
# give: tracked files plus untracked ones git does not ignore), reusing what this machine
# already downloaded or compiled. The plain `docker build .` / `podman build .` builds
# everything from source; this script is how the tests and CI build it in minutes.
#
#   classroom/container/build.sh [--tag NAME] [--from-source] [-- PODMAN_BUILD_ARGS...]
#
#   --tag NAME       image name (default localhost/notebook-kit:latest)
#   --from-source    mount no caches and reuse no evcxr build (only the CA bundle, see below):
#                    what `docker build .` does on a machine with internet
#
# Reused, each only when this machine has it (mounted for the build, never part of the image):
#   - the CA bundle /etc/ssl/certs/ca-certificates.crt (--build-arg EXTRA_CA): pip and cargo
#     reach PyPI and the crates registry through it where a proxy inspects TLS;
#   - pip's cache (~/.cache/pip): the torch wheels are 4.6 GB;
#   - cargo's registry (~/.cargo/registry): the crates to vendor, and evcxr's;
#   - evcxr_jupyter as kernel-setup.sh built it ($NOTEBOOK_KIT_HOME/evcxr, --build-arg REUSE),
#     when its stamp names this checkout's evcxr version and patch: 7-12 min saved.
# Podman's layer cache does the rest: a rebuild after a notebook changed redoes the last layer.
# CONTAINERS_CONF is honoured (classroom/container/containers.conf for machines like CI's).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
say() { printf '[build] %s\n' "$*"; }
die() { printf '[build] ERROR: %s\n' "$*" >&2; exit 1; }

tag=localhost/notebook-kit:latest
from_source=
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --tag) [ $# -ge 2 ] || die "--tag needs a name"; tag=$2; shift ;;
        --from-source) from_source=1 ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1' "$0"; exit 0 ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
    shift
done
command -v podman >/dev/null || die "podman is missing (Debian: apt-get install podman runc)"

context=$(mktemp -d /var/tmp/notebook-kit-context.XXXXXX)
trap 'rm -rf "$context"' EXIT
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
        [ -e "$f" ] && printf '%s\0' "$f"; done | xargs -0 -r cp -a --parents -t "$context")
else
    tar -C "$ROOT" --exclude=./target --exclude=./.git -cf - . | tar -C "$context" -xf -
fi

args=(--format docker --layers -t "$tag")
ca=/etc/ssl/certs/ca-certificates.crt
if [ -r "$ca" ]; then
    args+=(-v "$ca:/run/host-ca.crt:ro" --build-arg EXTRA_CA=/run/host-ca.crt)
fi
if [ -z "$from_source" ]; then
    pip_cache=${PIP_CACHE_DIR:-$HOME/.cache/pip}
    registry=${CARGO_HOME:-$HOME/.cargo}/registry
    [ -d "$pip_cache" ] && args+=(-v "$pip_cache:/root/.cache/pip") && say "reusing pip's cache $pip_cache"
    [ -d "$registry" ] && args+=(-v "$registry:/usr/local/cargo/registry") && say "reusing cargo's registry $registry"
    evcxr=${NOTEBOOK_KIT_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/notebook-kit}/evcxr
    # Its stamp names the evcxr version and our patch's hash: inside the build, kernel-setup.sh
    # compares it with this checkout's and compiles evcxr itself when they differ.
    if [ -x "$evcxr/bin/evcxr_jupyter" ] && [ -f "$evcxr/.notebook-kit-stamp" ]; then
        args+=(-v "$evcxr:/run/notebook-kit-reuse/evcxr:ro" --build-arg REUSE=/run/notebook-kit-reuse)
        say "reusing $(head -n1 "$evcxr/.notebook-kit-stamp") from $evcxr"
    fi
fi
start=$SECONDS
say "podman build -t $tag (context: a clean copy of $ROOT)"
podman build "${args[@]}" "${extra[@]}" "$context"
say "built $tag in $((SECONDS - start)) s; size $(podman image inspect --format '{{.Size}}' "$tag" | awk '{printf "%.2f GB", $1 / 1e9}')"
