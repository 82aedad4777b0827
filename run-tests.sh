#!/usr/bin/env bash
# Runs every test: the formatting and lint gate, the Rust crates, the notebook runner's own
# tests, README's main-job command (`./kernel-setup.sh --lab`), tab completion and the evcxr
# patch's checks (interrupt, live output, display) through the kernel, every notebook
# headless on the "Rust (tch)" kernel, the class hub's cgroup code on fake cgroup trees, then
# the class hub end to end, the Zero to JupyterHub config, and the kit as a container image
# (podman). Needs ./kernel-setup.sh to have run.
#
# Environment: NOTEBOOK_KIT_DATA (default ../shared/data beside the checkout, when present)
# points the loaders at offline data; NOTEBOOK_KIT_MAX_EPOCHS caps the notebooks' long runs.
# The classroom suite needs root; it installs into NOTEBOOK_KIT_CLASSROOM_PREFIX (default
# /opt/notebook-kit). NOTEBOOK_KIT_SKIP_CLASSROOM=1 leaves it out. The container suite needs root
# too; NOTEBOOK_KIT_SKIP_CONTAINER=1 leaves it out.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$ROOT"
eval "$("$ROOT/kernel-setup.sh" --env)" || exit 1
if [ -z "${NOTEBOOK_KIT_DATA:-}" ] && [ -d "$ROOT/../shared/data" ]; then
    NOTEBOOK_KIT_DATA=$(cd "$ROOT/../shared/data" && pwd)
    export NOTEBOOK_KIT_DATA
fi

passed=0 failed=0
suite() {
    local name=$1; shift
    echo "==== $name: $*"
    local start=$SECONDS
    if "$@"; then passed=$((passed + 1)); echo "==== $name: ok ($((SECONDS - start)) s)"
    else failed=$((failed + 1)); echo "==== $name: FAILED ($((SECONDS - start)) s)"; fi
}

py="$NOTEBOOK_KIT_HOME/venv/bin/python"
suite "format" cargo fmt --all --check
suite "lint" cargo clippy --workspace --all-targets --locked -- -D warnings
# The epoch cap is for the notebooks; the Rust tests count epochs themselves.
suite "rust tests" env -u NOTEBOOK_KIT_MAX_EPOCHS cargo test --workspace --locked --no-fail-fast
suite "runner self-tests" "$py" tools/test_notebook_runner.py
suite "lab command" "$py" tools/test_lab_command.py
suite "tab completion" "$py" tools/test_completion.py
# Only a deliberate NOTEBOOK_KIT_EVCXR_PATCH=0 skips this: a patch that stopped applying must fail here.
if [ "${NOTEBOOK_KIT_EVCXR_PATCH:-1}" = 0 ]; then echo "==== kernel patch: skipped (NOTEBOOK_KIT_EVCXR_PATCH=0)"
else suite "kernel patch" "$py" tools/test_kernel_patch.py; fi
suite "notebooks" "$py" tools/notebook_runner.py

# The hub's cgroup code against fake cgroup trees, v1, v2 and hybrid: the only run of its v2 path
# on v1 machines like CI's. A suite of its own, not part of "classroom": it needs no root, so it
# runs for every developer, also with NOTEBOOK_KIT_SKIP_CLASSROOM=1.
suite "classroom cgroups" "$py" classroom/test_student_cgroups.py

# The system-wide install (reusing what kernel-setup.sh built) and three students at once
# through the hub, on real Unix accounts.
classroom() {
    if [ "$(id -u)" != 0 ]; then
        echo "classroom: needs root (it installs system-wide, creates Unix accounts and runs the hub);" \
            "run as root, or set NOTEBOOK_KIT_SKIP_CLASSROOM=1"
        return 1
    fi
    local prefix=${NOTEBOOK_KIT_CLASSROOM_PREFIX:-/opt/notebook-kit}
    "$ROOT/classroom/setup.sh" --prefix "$prefix" &&
        "$prefix/kit/venv/bin/python" "$ROOT/classroom/test_e2e.py" --prefix "$prefix"
}
if [ -n "${NOTEBOOK_KIT_SKIP_CLASSROOM:-}" ]; then
    echo "==== classroom: skipped (NOTEBOOK_KIT_SKIP_CLASSROOM is set)"
else
    suite "classroom" classroom
fi

# The kit as a container image, built with podman and run as a learner and as a class behind
# JupyterHub's DockerSpawner (root: rootful podman). The Zero to JupyterHub config is checked
# offline against the chart's schema, without root.
suite "z2jh config" "$py" classroom/z2jh/test_config.py
if [ -n "${NOTEBOOK_KIT_SKIP_CONTAINER:-}" ]; then
    echo "==== container image: skipped (NOTEBOOK_KIT_SKIP_CONTAINER is set)"
else
    suite "container image" classroom/container/test.sh
fi

echo "suites: $passed passed, $failed failed"
[ "$failed" = 0 ]
