#!/usr/bin/env bash
# Runs every test: the Rust crates, the notebook runner's own tests, the evcxr patch's checks
# (interrupt, live output, display) through the kernel, then every notebook headless on the
# "Rust (tch)" kernel. Needs ./kernel-setup.sh to have run.
#
# Environment: NOTEBOOK_KIT_DATA (default ../shared/data beside the checkout, when present)
# points the loaders at offline data; NOTEBOOK_KIT_MAX_EPOCHS caps the notebooks' long runs.
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

suite "rust tests" cargo test --workspace --locked --no-fail-fast
suite "runner self-tests" "$NOTEBOOK_KIT_HOME/venv/bin/python" tools/test_notebook_runner.py
# Only a deliberate NOTEBOOK_KIT_EVCXR_PATCH=0 skips this: a patch that stopped applying must fail here.
if [ "${NOTEBOOK_KIT_EVCXR_PATCH:-1}" = 0 ]; then echo "==== kernel patch: skipped (NOTEBOOK_KIT_EVCXR_PATCH=0)"
else suite "kernel patch" "$NOTEBOOK_KIT_HOME/venv/bin/python" tools/test_kernel_patch.py; fi
suite "notebooks" "$NOTEBOOK_KIT_HOME/venv/bin/python" tools/notebook_runner.py

echo "suites: $passed passed, $failed failed"
[ "$failed" = 0 ]
