#!/usr/bin/env bash
# gpu-bench against its references on this machine's CPU: the lesson's model, one run
# of each implementation per round, interleaved (A B C A B C ...), so that a change in
# machine load hits all three alike. Prints the medians and the ratios to gpu-bench.
#
# Usage: benches/compare.sh [--rounds N] [--batch-size B] [--epochs E] [--data DIR]
#                           [--limit N] [--only gpu-bench,pytorch,keras] [--out FILE]
#   --rounds      rounds of interleaved runs (default 3)
#   --batch-size  default 32, as in the lesson
#   --epochs      epochs per run (default 1)
#   --data        CIFAR-10 binary folder (default: $CIFAR10_DIR, else
#                 $NOTEBOOK_KIT_DATA/cifar-10-batches-bin, else the kit's cache)
#   --limit       first N training samples only (a quick check of the script itself)
#   --only        which implementations (default all three)
#   --out         where the raw runs go, one JSON line each
#                 (default benches/results/compare-<date>-b<batch>.jsonl)
#
# Needs: target/release/gpu-bench (cargo build --release -p gpu-bench), the kit's venv
# (./kernel-setup.sh) for PyTorch, benches/.venv-keras (benches/setup-venvs.sh) for Keras.
# Each full-data run takes 30-70 s on a quiet 2-core machine; two OpenMP threads slow
# down several-fold when something else takes a core, so check `uptime` first.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
rounds=3 batch=32 epochs=1 limit=0 only="gpu-bench,pytorch,keras" out=""
data="${CIFAR10_DIR:-${NOTEBOOK_KIT_DATA:+$NOTEBOOK_KIT_DATA/cifar-10-batches-bin}}"
[[ -n "$data" ]] || data="${NOTEBOOK_KIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/notebook-kit}/datasets/cifar-10-batches-bin"

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rounds) rounds="$2"; shift 2 ;;
        --batch-size) batch="$2"; shift 2 ;;
        --epochs) epochs="$2"; shift 2 ;;
        --data) data="$2"; shift 2 ;;
        --limit) limit="$2"; shift 2 ;;
        --only) only="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        -h|--help) usage 0 ;;
        *) echo "compare.sh: unknown argument '$1'" >&2; usage 64 ;;
    esac
done
for n in "$rounds" "$batch" "$epochs" "$limit"; do
    [[ "$n" =~ ^[0-9]+$ ]] || { echo "compare.sh: '$n' is not a whole number" >&2; exit 64; }
done
[[ -f "$data/data_batch_1.bin" ]] || { echo "compare.sh: no CIFAR-10 binary files in '$data' (use --data)" >&2; exit 1; }

gpu_bench="$root/target/release/gpu-bench"
kit_python="${KIT_PYTHON:-$HOME/.local/share/notebook-kit/venv/bin/python}"
keras_python="$here/.venv-keras/bin/python"
IFS=, read -r -a impls <<< "$only"
for impl in "${impls[@]}"; do
    case "$impl" in
        gpu-bench) [[ -x "$gpu_bench" ]] || { echo "compare.sh: build first: cargo build --release -p gpu-bench" >&2; exit 1; } ;;
        pytorch) [[ -x "$kit_python" ]] || { echo "compare.sh: $kit_python missing (./kernel-setup.sh)" >&2; exit 1; } ;;
        keras) [[ -x "$keras_python" ]] || { echo "compare.sh: $keras_python missing (benches/setup-venvs.sh)" >&2; exit 1; } ;;
        *) echo "compare.sh: unknown implementation '$impl' (gpu-bench, pytorch, keras)" >&2; exit 64 ;;
    esac
done

[[ -n "$out" ]] || out="$here/results/compare-$(date -u +%Y%m%dT%H%M%SZ)-b$batch.jsonl"
mkdir -p "$(dirname "$out")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
limit_args=()
[[ "$limit" != 0 ]] && limit_args=(--limit "$limit")

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) logical CPUs; $(date -u +%FT%TZ)"
echo "runs: ${impls[*]}; $rounds rounds, batch $batch, $epochs epoch(s); raw results: $out"

# One run of one implementation; appends its JSON line (with the load average before
# the run) to $out and prints a short line.
run_one() {
    local impl="$1" round="$2" load line
    load="$(cut -d' ' -f1 /proc/loadavg)"
    case "$impl" in
        gpu-bench)
            "$gpu_bench" --data "$data" --devices cpu --epochs "$epochs" --batch-size "$batch" --repeat 1 \
                --gemm-size 0 ${limit_args[@]+"${limit_args[@]}"} --json "$tmp/ours.json" > "$tmp/ours.log" 2>&1 \
                || { cat "$tmp/ours.log" >&2; return 1; }
            line="$("$kit_python" -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1]))["runs"][0]))' "$tmp/ours.json")" ;;
        pytorch)
            line="$("$kit_python" "$here/pytorch_lesson.py" --data "$data" --epochs "$epochs" --batch-size "$batch" \
                ${limit_args[@]+"${limit_args[@]}"})" ;;
        keras)
            line="$("$keras_python" "$here/keras_lesson.py" --data "$data" --epochs "$epochs" --batch-size "$batch" \
                ${limit_args[@]+"${limit_args[@]}"} 2> "$tmp/keras.err")" || { cat "$tmp/keras.err" >&2; return 1; } ;;
    esac
    line="$("$kit_python" -c 'import json, sys; r = json.loads(sys.argv[1]); r["round"] = int(sys.argv[2]); r["load_before"] = float(sys.argv[3]); print(json.dumps(r))' "$line" "$round" "$load")"
    echo "$line" >> "$out"
    "$kit_python" -c 'import json, sys; print("round {round}: {implementation:<9} {seconds:7.2f} s  loss {loss:.4f}  accuracy {accuracy:.4f}  (load before {load_before})".format(**json.loads(sys.argv[1])))' "$line"
}

echo "uptime before: $(uptime)"
for ((round = 1; round <= rounds; round++)); do
    for impl in "${impls[@]}"; do
        run_one "$impl" "$round"
    done
done
echo "uptime after:  $(uptime)"

"$kit_python" - "$out" <<'PY'
import json, statistics, sys

runs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
# The lesson model's matrix work (see crates/gpu-bench/src/flops.rs): per sample
# forward + weight gradients + input gradients except the first layer; per step SGD.
layers = [(3072, 3000), (3000, 1000), (1000, 10)]
per_sample = sum((2 if i == 0 else 3) * 2 * a * b for i, (a, b) in enumerate(layers))
params = sum(a * b + b for a, b in layers)

def flops(run):
    steps = -(-run["samples"] // run["batch"])
    return run["epochs"] * (run["samples"] * per_sample + steps * 2 * params)

order = []
for r in runs:
    if r["implementation"] not in order:
        order.append(r["implementation"])
medians = {i: statistics.median(r["seconds"] for r in runs if r["implementation"] == i) for i in order}
base = medians.get("gpu-bench")
print()
print(f"{'implementation':<14} {'runs':>4} {'median':>9} {'min-max':>15} {'GFLOP/s':>8} {'vs gpu-bench':>12} {'loss':>7} {'accuracy':>8}")
for impl in order:
    mine = [r for r in runs if r["implementation"] == impl]
    seconds = [r["seconds"] for r in mine]
    med = medians[impl]
    gflops = statistics.median(flops(r) / r["seconds"] for r in mine) / 1e9
    ratio = f"{med / base:.2f}x" if base else "-"
    print(f"{impl:<14} {len(mine):>4} {med:>8.2f}s {min(seconds):>7.2f}-{max(seconds):<7.2f} {gflops:>8.1f} {ratio:>12} "
          f"{statistics.median(r['loss'] for r in mine):>7.4f} {statistics.median(r['accuracy'] for r in mine):>8.4f}")
loads = [r["load_before"] for r in runs]
print(f"load average before the runs: {min(loads):.2f}-{max(loads):.2f}"
      f"{' (busy: numbers are noisy)' if max(loads) > 1.5 else ''}")
print("vs gpu-bench: median time / gpu-bench's median time (above 1 = slower than gpu-bench)")
PY
