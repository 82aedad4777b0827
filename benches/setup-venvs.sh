#!/usr/bin/env bash
# Creates the Python environments the reference baselines run in.
#
#   benches/.venv-keras   Keras 3 on TensorFlow (CPU build) for benches/keras_lesson.py
#
# benches/pytorch_lesson.py needs no venv of its own: it uses the kit's venv
# (~/.local/share/notebook-kit/venv, made by ./kernel-setup.sh), which already holds the
# same torch 2.11 wheel that gpu-bench links against, so both measure the same libtorch.
#
# TensorFlow gets its own venv because it pins numpy/protobuf versions that must not leak
# into the kit's venv. `tensorflow-cpu` is the CPU-only wheel (~250 MB instead of ~600 MB);
# on this kind of machine it is the same oneDNN code path as `tensorflow`.
#
# Usage: benches/setup-venvs.sh            (idempotent; re-run to repair)
#        TF_PACKAGE=tensorflow benches/setup-venvs.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kit_python="${KIT_PYTHON:-$HOME/.local/share/notebook-kit/venv/bin/python}"
tf_package="${TF_PACKAGE:-tensorflow-cpu==2.21.0}"
keras_package="${KERAS_PACKAGE:-keras==3.15.1}"

# The venv's base interpreter: the one the kit's venv was made from, else python3.
if [[ -x "$kit_python" ]]; then
    base_python="$("$kit_python" -c 'import sys; print(sys._base_executable)')"
else
    base_python="$(command -v python3)"
fi

venv="$here/.venv-keras"
if [[ ! -x "$venv/bin/python" ]]; then
    echo "creating $venv from $base_python"
    "$base_python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
echo "installing $tf_package $keras_package into $venv (a few minutes)"
"$venv/bin/python" -m pip install --quiet "$tf_package" "$keras_package"
"$venv/bin/python" - <<'PY'
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras, tensorflow as tf
print(f"ok: keras {keras.__version__}, tensorflow {tf.__version__}, backend {keras.backend.backend()}")
PY

if [[ -x "$kit_python" ]]; then
    "$kit_python" -c 'import torch; print(f"ok: kit venv torch {torch.__version__}")' \
        || echo "warning: the kit's venv lacks torch; run ./kernel-setup.sh" >&2
else
    echo "warning: $kit_python not found; run ./kernel-setup.sh for benches/pytorch_lesson.py" >&2
fi
