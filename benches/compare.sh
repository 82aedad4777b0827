#!/usr/bin/env bash
# gpu-bench against its references on this machine's CPU: one run of each
# implementation per round, interleaved (A B C A B C ...), so that a change in machine
# load hits all of them alike. Prints the medians and the ratios to gpu-bench.
#
# Usage: benches/compare.sh [--model M] [--rounds N] [--batch-size B] [--epochs E]
#                           [--data DIR] [--limit N] [--only gpu-bench,pytorch,keras]
#                           [--inference N] [--out FILE]
#   --model       lesson (default: CIFAR-10, 3072-3000-1000-10, SGD), exercise-1 or
#                 exercise-5 (Fashion-MNIST, 784-500-10 / 784-500x5-10, Adam); the
#                 exercise models run gpu-bench and Keras only (no PyTorch version)
#   --rounds      rounds of interleaved runs (default 3)
#   --batch-size  default 32, as in the lesson
#   --epochs      epochs per run (default 1)
#   --data        the model's data folder (default: $CIFAR10_DIR / $FASHION_MNIST_DIR,
#                 else $NOTEBOOK_KIT_DATA/<cifar-10-batches-bin|fashion-mnist>, else
#                 the kit's cache)
#   --limit       first N training samples only (a quick check of the script itself;
#                 Keras also takes only the first N test samples)
#   --only        which implementations (default all that have the model)
#   --inference N also time predict and evaluate of a fresh model on the 10,000 test
#                 images, N timed calls after a warm-up call: gpu-bench --inference N in
#                 its training run, and right after Keras's training run a separate
#                 keras_lesson.py --tasks predict,evaluate; a second table, vs Keras
#   --out         where the raw runs go, one JSON line each, with "task"
#                 (default benches/results/compare-<date>[-<model>]-b<batch>.jsonl)
#
# Needs: target/release/gpu-bench (cargo build --release -p gpu-bench; or $GPU_BENCH),
# the kit's venv (./kernel-setup.sh; or $KIT_PYTHON) for PyTorch and the summaries,
# benches/.venv-keras (benches/setup-venvs.sh; or $KERAS_PYTHON) for Keras. Each
# full-data lesson run takes 30-70 s on a quiet 2-core machine; two OpenMP threads slow
# down several-fold when something else takes a core, so check `uptime` first.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
model=lesson rounds=3 batch=32 epochs=1 limit=0 only="" out="" data="" inference=0

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit "${1:-0}"; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --model) model="$2"; shift 2 ;;
        --inference) inference="$2"; shift 2 ;;
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
for n in "$rounds" "$batch" "$epochs" "$limit" "$inference"; do
    [[ "$n" =~ ^[0-9]+$ ]] || { echo "compare.sh: '$n' is not a whole number" >&2; exit 64; }
done
cache="${NOTEBOOK_KIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/notebook-kit}/datasets"
case "$model" in
    lesson)
        dataset=cifar10
        [[ -n "$data" ]] || data="${CIFAR10_DIR:-${NOTEBOOK_KIT_DATA:+$NOTEBOOK_KIT_DATA/cifar-10-batches-bin}}"
        [[ -n "$data" ]] || data="$cache/cifar-10-batches-bin"
        [[ -f "$data/data_batch_1.bin" ]] || { echo "compare.sh: no CIFAR-10 binary files in '$data' (use --data)" >&2; exit 1; }
        [[ -n "$only" ]] || only="gpu-bench,pytorch,keras" ;;
    exercise-1|exercise-5)
        dataset=fashion-mnist
        [[ -n "$data" ]] || data="${FASHION_MNIST_DIR:-${NOTEBOOK_KIT_DATA:+$NOTEBOOK_KIT_DATA/fashion-mnist}}"
        [[ -n "$data" ]] || data="$cache/fashion-mnist"
        # keras_lesson.py reads the gzipped files only.
        [[ -f "$data/train-images-idx3-ubyte.gz" ]] || { echo "compare.sh: no Fashion-MNIST *-ubyte.gz files in '$data' (use --data)" >&2; exit 1; }
        [[ -n "$only" ]] || only="gpu-bench,keras" ;;
    *) echo "compare.sh: unknown model '$model' (lesson, exercise-1, exercise-5)" >&2; exit 64 ;;
esac

gpu_bench="${GPU_BENCH:-$root/target/release/gpu-bench}"
kit_python="${KIT_PYTHON:-$HOME/.local/share/notebook-kit/venv/bin/python}"
keras_python="${KERAS_PYTHON:-$here/.venv-keras/bin/python}"
IFS=, read -r -a requested <<< "$only"
impls=()
for impl in "${requested[@]}"; do
    if [[ "$impl" == pytorch && "$model" != lesson ]]; then
        echo "note: no PyTorch version of $model (pytorch_lesson.py has the lesson's model only): PyTorch skipped"
    else
        impls+=("$impl")
    fi
done
[[ ${#impls[@]} -gt 0 ]] || { echo "compare.sh: nothing to run for $model" >&2; exit 64; }
for impl in "${impls[@]}"; do
    case "$impl" in
        gpu-bench) [[ -x "$gpu_bench" ]] || { echo "compare.sh: build first: cargo build --release -p gpu-bench" >&2; exit 1; } ;;
        pytorch) [[ -x "$kit_python" ]] || { echo "compare.sh: $kit_python missing (./kernel-setup.sh)" >&2; exit 1; } ;;
        keras) [[ -x "$keras_python" ]] || { echo "compare.sh: $keras_python missing (benches/setup-venvs.sh)" >&2; exit 1; } ;;
        *) echo "compare.sh: unknown implementation '$impl' (gpu-bench, pytorch, keras)" >&2; exit 64 ;;
    esac
done

gpu_inference=0 no_gpu_inference=""
if [[ "$inference" != 0 && " ${impls[*]} " == *" gpu-bench "* ]]; then
    # The option is new; a binary built before it would reject the whole command line.
    if "$gpu_bench" --help 2>/dev/null | grep -q -- '--inference'; then
        gpu_inference=1
    else
        no_gpu_inference="$gpu_bench has no --inference option (built before it): no gpu-bench inference results"
        echo "note: $no_gpu_inference"
    fi
fi

suffix=""
[[ "$model" == lesson ]] || suffix="-$model"
[[ -n "$out" ]] || out="$here/results/compare-$(date -u +%Y%m%dT%H%M%SZ)$suffix-b$batch.jsonl"
mkdir -p "$(dirname "$out")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
limit_args=()
[[ "$limit" != 0 ]] && limit_args=(--limit "$limit")

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) logical CPUs; $(date -u +%FT%TZ)"
echo "model: $model on $dataset ($data)"
echo "runs: ${impls[*]}; $rounds rounds, batch $batch, $epochs epoch(s)$([[ "$inference" != 0 ]] && echo ", predict/evaluate x$inference"); raw results: $out"

# Adds the round, the load average before the run and defaults for model, dataset and
# task to each JSON line on stdin, appends them to $out and prints a short line each.
record() {
    "$kit_python" -c '
import json, sys
round_, load, model, dataset, out = sys.argv[1:]
with open(out, "a") as f:
    for text in sys.stdin:
        if not text.strip():
            continue
        r = json.loads(text)
        r.setdefault("model", model)
        r.setdefault("dataset", dataset)
        r.setdefault("task", "train")
        r["round"], r["load_before"] = int(round_), float(load)
        f.write(json.dumps(r) + "\n")
        shown = {k: "-" if r.get(k) is None else format(r[k], ".4f") for k in ("loss", "accuracy")}
        if r["task"] == "train":
            print("round {round}: {implementation:<9} {seconds:7.2f} s  loss {loss}  accuracy {accuracy}"
                  "  (load before {load_before})".format(**{**r, **shown}))
        else:
            print("round {round}: {implementation:<9} {task:<8} {seconds:7.3f} s  (warm-up {warmup_seconds:.3f} s,"
                  " {calls} calls, {samples} samples)  loss {loss}  accuracy {accuracy}  (load before {load_before})"
                  .format(**{**r, **shown, "calls": len(r["seconds_all"])}))
' "$1" "$2" "$model" "$dataset" "$out"
}

# One run of one implementation (with --inference, gpu-bench's run includes its
# inference; Keras's inference is a run of its own, "keras-inference").
run_one() {
    local impl="$1" round="$2" load lines
    load="$(cut -d' ' -f1 /proc/loadavg)"
    case "$impl" in
        gpu-bench)
            local inference_args=()
            [[ "$gpu_inference" == 1 ]] && inference_args=(--inference "$inference")
            "$gpu_bench" --data "$data" --dataset "$dataset" --model "$model" --devices cpu --epochs "$epochs" \
                --batch-size "$batch" --repeat 1 --gemm-size 0 ${limit_args[@]+"${limit_args[@]}"} \
                ${inference_args[@]+"${inference_args[@]}"} --json "$tmp/ours.json" > "$tmp/ours.log" 2>&1 \
                || { cat "$tmp/ours.log" >&2; return 1; }
            lines="$("$kit_python" -c '
import json, sys
report = json.load(open(sys.argv[1]))
tags = {"model": report["config"]["model"], "dataset": report["config"]["dataset"]}
print(json.dumps({**report["runs"][0], **tags, "task": "train"}))
if sys.argv[2] == "1":
    entries = report.get("inference") or []
    if not entries:
        print("compare.sh: gpu-bench ran with --inference but its JSON has no inference entries", file=sys.stderr)
    for entry in entries:
        print(json.dumps({**entry, **tags}))
' "$tmp/ours.json" "$gpu_inference")" ;;
        pytorch)
            lines="$("$kit_python" "$here/pytorch_lesson.py" --data "$data" --epochs "$epochs" --batch-size "$batch" \
                ${limit_args[@]+"${limit_args[@]}"})" ;;
        keras)
            lines="$("$keras_python" "$here/keras_lesson.py" --model "$model" --dataset "$dataset" --data "$data" \
                --epochs "$epochs" --batch-size "$batch" ${limit_args[@]+"${limit_args[@]}"} 2> "$tmp/keras.err")" \
                || { cat "$tmp/keras.err" >&2; return 1; } ;;
        keras-inference)
            # Without "train" in --tasks it predicts and evaluates a freshly built model,
            # as gpu-bench's --inference does.
            lines="$("$keras_python" "$here/keras_lesson.py" --model "$model" --dataset "$dataset" --data "$data" \
                --tasks predict,evaluate --inference-repeat "$inference" ${limit_args[@]+"${limit_args[@]}"} \
                2> "$tmp/keras.err")" || { cat "$tmp/keras.err" >&2; return 1; } ;;
    esac
    record "$round" "$load" <<< "$lines"
}

order=("${impls[@]}")
if [[ "$inference" != 0 && " ${impls[*]} " == *" keras "* ]]; then
    order=()
    for impl in "${impls[@]}"; do
        order+=("$impl")
        [[ "$impl" == keras ]] && order+=(keras-inference)
    done
fi

echo "uptime before: $(uptime)"
for ((round = 1; round <= rounds; round++)); do
    for impl in "${order[@]}"; do
        run_one "$impl" "$round"
    done
done
echo "uptime after:  $(uptime)"

"$kit_python" - "$out" "$no_gpu_inference" <<'PY'
import json, statistics, sys

records = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
# Lines written before "task" existed are training runs.
runs = [r for r in records if r.get("task", "train") == "train"]
inference = [r for r in records if r.get("task", "train") != "train"]

# Each model's matrix work, as crates/gpu-bench/src/flops.rs counts it: per sample and
# Dense layer forward 2*in*out, weight gradient 2*in*out, input gradient 2*in*out except
# for the first layer; per step the optimizer (SGD 2, Adam 12 FLOPs per parameter).
HIDDEN = {"lesson": [3000, 1000], "exercise-1": [500], "exercise-5": [500] * 5}
UPDATE = {"lesson": 2, "exercise-1": 12, "exercise-5": 12}
INPUTS = {"cifar10": 32 * 32 * 3, "fashion-mnist": 28 * 28}

def flops(run):
    model = run.get("model", "lesson")
    inputs = INPUTS[run.get("dataset", "cifar10")]
    sizes = [inputs] + HIDDEN[model] + [10]
    layers = list(zip(sizes, sizes[1:]))
    per_sample = sum((2 if i == 0 else 3) * 2 * a * b for i, (a, b) in enumerate(layers))
    params = sum(a * b + b for a, b in layers)
    steps = -(-run["samples"] // run["batch"])
    return run["epochs"] * (run["samples"] * per_sample + steps * UPDATE[model] * params)

def num(values, spec=".4f"):
    values = [v for v in values if v is not None]
    return format(statistics.median(values), spec) if values else "-"

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
          f"{num(r['loss'] for r in mine):>7} {num(r['accuracy'] for r in mine):>8}")

if inference or sys.argv[2]:
    print()
    print(f"{'task':<8} {'implementation':<14} {'runs':>4} {'median':>9} {'min-max':>15} {'warm-up':>8} "
          f"{'samples':>7} {'vs keras':>8} {'loss':>7} {'accuracy':>8}")
    for task in ("predict", "evaluate"):
        mine_task = [r for r in inference if r["task"] == task]
        impls = []
        for r in mine_task:
            if r["implementation"] not in impls:
                impls.append(r["implementation"])
        keras = [r["seconds"] for r in mine_task if r["implementation"] == "keras"]
        keras_median = statistics.median(keras) if keras else None
        for impl in impls:
            mine = [r for r in mine_task if r["implementation"] == impl]
            seconds = [r["seconds"] for r in mine]
            med = statistics.median(seconds)
            ratio = f"{med / keras_median:.2f}x" if keras_median else "-"
            samples = sorted({r["samples"] for r in mine})
            print(f"{task:<8} {impl:<14} {len(mine):>4} {med:>8.3f}s {min(seconds):>7.3f}-{max(seconds):<7.3f} "
                  f"{num((r['warmup_seconds'] for r in mine), '.3f'):>7}s {','.join(map(str, samples)):>7} {ratio:>8} "
                  f"{num(r['loss'] for r in mine):>7} {num(r['accuracy'] for r in mine):>8}")
    if sys.argv[2]:
        print(f"note: {sys.argv[2]}")
    if len({r["samples"] for r in inference}) > 1:
        print("note: the implementations predicted different numbers of samples (--limit): times not comparable")
    print("inference: median over rounds of each run's median of its timed calls, fresh (untrained) models; "
          "vs keras: median time / Keras's median time")

loads = [r["load_before"] for r in records]
print(f"load average before the runs: {min(loads):.2f}-{max(loads):.2f}"
      f"{' (busy: numbers are noisy)' if max(loads) > 1.5 else ''}")
print("vs gpu-bench: median time / gpu-bench's median time (above 1 = slower than gpu-bench)")
PY
