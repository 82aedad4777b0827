#!/usr/bin/env bash
# The GPU check: gpu-bench on the CPU and on CUDA, 1 and 10 epochs, then the kit's tests on
# CUDA, on a machine with an NVIDIA GPU but no Rust toolchain and no network; then, time
# permitting, a step's fixed cost on the GPU, PyTorch on the same GPU, and one CUDA epoch on
# the autograd path and one at batch 512, to show where a step's time goes.
#
# Two steps:
#
# 1. Here, on the build machine:
#        benches/gpu-check.sh --prepare [CIFAR_DIR] [RECORDS_PER_FILE]
#    builds (release) gpu-bench, the example step_overhead and the test programs
#    model_devices (notebook-kit) and cuda_in_cdylib (cdylib-probe), so that nothing stale
#    is carried, and writes benches/gpu-kit/ (git-ignored, under the 64 MiB carry limit):
#    stripped copies of them (libcdylib_probe.so beside cuda_in_cdylib, where that test
#    looks for it), the test fixtures, and a CIFAR-10 slice: the first RECORDS_PER_FILE
#    (default 2000) records of each batch file, i.e. 10,000 training samples in the same
#    binary format.
#
# 2. On the GPU machine, with benches/gpu-kit/ carried beside this script:
#        bash benches/gpu-check.sh [DATA_DIR]
#    DATA_DIR defaults to benches/gpu-kit/cifar-10-batches-bin; if that is missing too,
#    random CIFAR-shaped data are generated (speed does not depend on pixel values; loss
#    and accuracy then mean nothing). A full CIFAR-10 folder works as well.
#    Results: the table on stdout, plus gpu-check.json, gpu-check.png and test-*.txt in $OUT
#    (or /tmp/gpu-check). The tests run with NOTEBOOK_KIT_EXPECT_CUDA=1, so a missing GPU
#    fails them. Exit status: 0 = both devices ran and the tests passed; 2 = CUDA missing;
#    3 = CUDA ran but a test failed; 1 = the kit is incomplete.
#
# Environment (GPU machine): TORCH_LIB (default: the PyTorch 2.11.0+cu130 venv at
# /opt/torch/.venv), TORCH_PYTHON (its python, for the PyTorch cross-check and the random
# data), LIMIT (training samples, default 10000; 0 = all), EPOCHS (default 1,10).
# A run takes 3-5 minutes plus the machine's start; every part has its own time limit, and
# the optional parts start only while the whole is under 5 minutes: give it 480 s.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kit="$here/gpu-kit"
cifar_files=(data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin test_batch.bin)

# Path of the test program cargo builds for `cargo test --release --no-run ARGS`.
test_program() {
    cargo test --release --locked --no-run --message-format=json "$@" | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["profile"]["test"] and m.get("executable"):
        print(m["executable"])' | tail -n 1
}

if [[ "${1:-}" == "--prepare" ]]; then
    src="${2:-${CIFAR10_DIR:-${NOTEBOOK_KIT_DATA:+$NOTEBOOK_KIT_DATA/cifar-10-batches-bin}}}"
    records="${3:-2000}"
    [[ -n "$src" && -f "$src/data_batch_1.bin" ]] || {
        echo "gpu-check: give the CIFAR-10 folder: --prepare DIR (or set CIFAR10_DIR / NOTEBOOK_KIT_DATA)" >&2; exit 1; }
    cd "$here/.."
    eval "$(./kernel-setup.sh --env)"
    echo "== building (release): gpu-bench, step_overhead, the device tests"
    cargo build --release --locked -p gpu-bench
    cargo build --release --locked -p notebook-kit --example step_overhead
    model_devices="$(test_program -p notebook-kit --test model_devices)"
    cuda_in_cdylib="$(test_program -p cdylib-probe --test cuda_in_cdylib)"
    [[ -x "$model_devices" && -x "$cuda_in_cdylib" ]] || {
        echo "gpu-check: cargo did not name the test programs ('$model_devices', '$cuda_in_cdylib')" >&2; exit 1; }
    rm -rf "$kit"
    mkdir -p "$kit/cifar-10-batches-bin" "$kit/tests" "$kit/fixtures"
    strip -o "$kit/gpu-bench" target/release/gpu-bench
    strip -o "$kit/step_overhead" target/release/examples/step_overhead
    strip -o "$kit/tests/model_devices" "$model_devices"
    strip -o "$kit/tests/cuda_in_cdylib" "$cuda_in_cdylib"
    strip -o "$kit/tests/libcdylib_probe.so" "$(dirname "$cuda_in_cdylib")/libcdylib_probe.so"
    cp -r crates/notebook-kit/tests/fixtures/. "$kit/fixtures/"
    for f in "${cifar_files[@]}"; do
        head -c $((records * 3073)) "$src/$f" > "$kit/cifar-10-batches-bin/$f"
    done
    if ldd "$kit/gpu-bench" | grep -q 'libtorch_cuda.so'; then
        echo "ok: gpu-bench links libtorch_cuda.so"
    else
        echo "gpu-check: warning: gpu-bench does not link libtorch_cuda.so; CUDA will read as unavailable" >&2
    fi
    du -sh "$kit"
    echo "now run on the GPU machine: bash benches/gpu-check.sh   (carry benches/gpu-kit; timeout 480 s)"
    exit 0
fi

started=$SECONDS
torch_lib="${TORCH_LIB:-/opt/torch/.venv/lib/python3.12/site-packages/torch/lib}"
torch_python="${TORCH_PYTHON:-/opt/torch/.venv/bin/python}"
export LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
out="${OUT:-/tmp/gpu-check}"
mkdir -p "$out"
limit="${LIMIT:-10000}"
epochs="${EPOCHS:-1,10}"

bin="${GPU_BENCH:-$kit/gpu-bench}"
[[ -x "$bin" ]] || bin="$here/../target/release/gpu-bench"
[[ -x "$bin" ]] || { echo "gpu-check: no gpu-bench binary (run --prepare on the build machine and carry benches/gpu-kit)" >&2; exit 1; }
[[ -d "$torch_lib" ]] || { echo "gpu-check: $torch_lib does not exist; set TORCH_LIB to torch's lib folder" >&2; exit 1; }

echo "== machine"
nvidia-smi -L 2>/dev/null || echo "(no nvidia-smi)"
nproc
echo "== libraries gpu-bench loads (libtorch_cuda must be among them)"
ldd "$bin" | awk '{print $1, $2, $3}' | grep -E '^(libtorch|libc10|libcudart)' || true
if ldd "$bin" | grep -q 'not found'; then
    echo "gpu-check: missing libraries:" >&2
    ldd "$bin" | grep 'not found' >&2
    exit 1
fi

data="${1:-$kit/cifar-10-batches-bin}"
if [[ ! -f "$data/data_batch_1.bin" ]]; then
    data="$out/random-cifar"
    echo "== no CIFAR-10 folder; generating random CIFAR-shaped data in $data (loss/accuracy meaningless)"
    "$torch_python" - "$data" 2000 <<'PY'
import os, sys
folder, records = sys.argv[1], int(sys.argv[2])
os.makedirs(folder, exist_ok=True)
names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
for name in names:
    with open(os.path.join(folder, name), "wb") as f:
        for i in range(records):
            f.write(bytes([i % 10]) + os.urandom(3072))
PY
fi

echo "== gpu-bench: cpu and cuda, epochs $epochs, limit $limit"
limit_args=()
[[ "$limit" != 0 ]] && limit_args=(--limit "$limit")
status=0
timeout 240 "$bin" --data "$data" --devices cpu,cuda --epochs "$epochs" --repeat 1 ${limit_args[@]+"${limit_args[@]}"} \
    --json "$out/gpu-check.json" --chart "$out/gpu-check.png" || status=$?

# The kit's own tests on this GPU: training, inference and Keras parity against references
# (tests/model_devices.rs), and CUDA seen from a library loaded as evcxr loads a cell.
tests_failed=0
if [[ "$status" != 2 ]]; then
    for t in model_devices cuda_in_cdylib; do
        if [[ ! -x "$kit/tests/$t" ]]; then
            echo "gpu-check: $kit/tests/$t is missing (run --prepare again)" >&2; tests_failed=1; continue
        fi
        echo "== test $t (NOTEBOOK_KIT_EXPECT_CUDA=1), output in $out/test-$t.txt"
        if NOTEBOOK_KIT_EXPECT_CUDA=1 NOTEBOOK_KIT_TEST_FIXTURES="$kit/fixtures" timeout 180 \
            "$kit/tests/$t" --test-threads 1 > "$out/test-$t.txt" 2>&1; then
            grep -E '^test result' "$out/test-$t.txt" || true
        else
            tests_failed=1
            tail -n 40 "$out/test-$t.txt"
        fi
    done
fi

# A step's fixed cost (models of 8-unit layers, batch 32) on this GPU and this CPU: what a
# batch-32 GPU step is bound by if launching operations, not arithmetic, is its limit.
if [[ "$status" == 0 && -x "$kit/step_overhead" && $((SECONDS - started)) -lt 300 ]]; then
    for device in cuda cpu; do
        echo "== step_overhead --device $device"
        timeout 90 "$kit/step_overhead" --device "$device" --steps 2000 --runs 3 |
            tee "$out/step-overhead-$device.txt" || echo "(step_overhead on $device failed or timed out)"
    done
fi

# A cross-check on the same GPU with the same torch: PyTorch eager, same model and data.
if [[ -x "$torch_python" && $((SECONDS - started)) -lt 300 ]]; then
    echo "== PyTorch reference on cuda (benches/pytorch_lesson.py)"
    timeout 60 "$torch_python" "$here/pytorch_lesson.py" --data "$data" --device cuda --epochs "$epochs" \
        ${limit_args[@]+"${limit_args[@]}"} | tee "$out/pytorch-cuda.jsonl" || echo "(PyTorch reference failed or timed out)"
fi

# Where a batch-32 GPU step's time goes: the same epoch on autograd's step (more, smaller
# operations) and at batch 512 (a sixteenth of the steps). If batch 32 is bound by launching
# operations rather than by the GPU's arithmetic, the autograd path is clearly slower and
# batch 512 many times faster per sample.
if [[ "$status" == 0 && $((SECONDS - started)) -lt 320 ]]; then
    echo "== gpu-bench on cuda, 1 epoch: autograd path, then batch 512"
    NOTEBOOK_KIT_FUSED=0 timeout 60 "$bin" --data "$data" --devices cuda --epochs 1 --gemm-size 0 \
        ${limit_args[@]+"${limit_args[@]}"} --json "$out/gpu-check-autograd.json" || echo "(autograd run failed)"
    timeout 60 "$bin" --data "$data" --devices cuda --epochs 1 --gemm-size 0 --batch-size 512 \
        ${limit_args[@]+"${limit_args[@]}"} --json "$out/gpu-check-b512.json" || echo "(batch 512 run failed)"
fi

if [[ "$status" == 0 && "$tests_failed" != 0 ]]; then status=3; fi
echo "== done in $((SECONDS - started)) s; exit status $status (0 ok, 2 CUDA missing, 3 a test failed); files in $out"
exit "$status"
