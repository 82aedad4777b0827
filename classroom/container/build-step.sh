#!/usr/bin/env bash
# One step of the image build (the Dockerfile's RUN lines): runs COMMAND with what a build on
# a machine behind a TLS-inspecting proxy needs, then removes the download caches the step
# left in the image, except those the builder mounted in to reuse (pip's cache, cargo's registry).
#
#   build-step.sh COMMAND [ARGS]
#
# EXTRA_CA (a build argument): a CA bundle mounted for the build only (e.g. the host's, with
# -v /etc/ssl/certs/ca-certificates.crt:/run/host-ca.crt:ro --build-arg EXTRA_CA=/run/host-ca.crt),
# for pip's and cargo's HTTPS; empty for everyone else, and never part of the image.
set -euo pipefail
if [ -n "${EXTRA_CA:-}" ]; then
    [ -r "$EXTRA_CA" ] || { echo "build-step: EXTRA_CA=$EXTRA_CA is not mounted in the build (-v HOST_FILE:$EXTRA_CA:ro)" >&2; exit 1; }
    export PIP_CERT=$EXTRA_CA CARGO_HTTP_CAINFO=$EXTRA_CA SSL_CERT_FILE=$EXTRA_CA
fi
"$@"
# A mounted cache belongs to the builder: never delete into it.
clean() { mountpoint -q "$1" || rm -rf "$1"; }
clean /root/.cache/pip
find /root/.cache /root/.local -mindepth 1 -maxdepth 1 ! -name pip -exec rm -rf {} + 2>/dev/null || true
clean "${CARGO_HOME:-/usr/local/cargo}/registry"
rm -rf "${CARGO_HOME:-/usr/local/cargo}"/{git,.package-cache,.package-cache-mutate,.global-cache}
find /tmp -mindepth 1 -maxdepth 1 ! -name notebook-kit -exec rm -rf {} + 2>/dev/null || true
