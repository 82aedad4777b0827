#!/usr/bin/env bash
# Creates the Python environments the reference baselines run in.
#
#   benches/.venv-keras   Keras 3 on TensorFlow (CPU build) for benches/keras_lesson.py, and
#                         tf-keras (the Keras 2 API, `import tf_keras`) for benches/parity.py
#
# benches/pytorch_lesson.py needs no venv of its own: it uses the kit's venv
# (~/.local/share/notebook-kit/venv, made by ./kernel-setup.sh), which already holds the
# same torch 2.11 wheel that gpu-bench links against, so both measure the same libtorch.
#
# TensorFlow gets its own venv because it pins numpy/protobuf versions that must not leak
# into the kit's venv. `tensorflow-cpu` is the CPU-only wheel (~250 MB instead of ~600 MB);
# on this kind of machine it is the same oneDNN code path as `tensorflow`.
# tf-keras is Keras 2 packaged for TensorFlow >= 2.16; its minor version must equal
# TensorFlow's (tf-keras 2.21 requires tensorflow 2.21), so change both together. It
# installs beside Keras 3 without replacing it: `import keras` stays Keras 3,
# `import tf_keras` is Keras 2. It is installed with --no-deps: it names `tensorflow`,
# which pip does not see as provided by `tensorflow-cpu` and would install on top of it,
# into the same `tensorflow/` folder (the full ~600 MB wheel, and a mixed install).
# `pip check` therefore reports tf-keras's requirement as missing; TensorFlow is there.
#
# Usage: benches/setup-venvs.sh            (idempotent; re-run to repair)
#        TF_PACKAGE=tensorflow benches/setup-venvs.sh
#        (also TF_KERAS_PACKAGE, KERAS_PACKAGE)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kit_python="${KIT_PYTHON:-$HOME/.local/share/notebook-kit/venv/bin/python}"
tf_package="${TF_PACKAGE:-tensorflow-cpu==2.21.0}"
keras_package="${KERAS_PACKAGE:-keras==3.15.1}"
tf_keras_package="${TF_KERAS_PACKAGE:-tf-keras==2.21.*}"

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
echo "installing $tf_package $keras_package $tf_keras_package into $venv (a few minutes)"
"$venv/bin/python" -m pip install --quiet "$tf_package" "$keras_package"
"$venv/bin/python" -m pip install --quiet --no-deps "$tf_keras_package"
"$venv/bin/python" - <<'PY'
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import importlib.metadata as metadata
import keras, tensorflow as tf
print(f"ok: keras {keras.__version__}, tensorflow {tf.__version__}, backend {keras.backend.backend()}")
builds = []
for name in ("tensorflow", "tensorflow-cpu"):
    try:
        builds.append(f"{name} {metadata.version(name)}")
    except metadata.PackageNotFoundError:
        pass
if len(builds) > 1:
    print(f"warning: {' and '.join(builds)} share one tensorflow/ folder; "
          "pip uninstall the one not wanted, then pip install --force-reinstall --no-deps the other")
PY
# A process of its own: whether Keras 3 and tf-keras share one process is not what is
# checked here, only that tf-keras imports and is Keras 2.
"$venv/bin/python" - <<'PY'
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tf_keras
assert tf_keras.__version__.startswith("2."), tf_keras.__version__
print(f"ok: tf_keras {tf_keras.__version__} (Keras 2 API)")
PY

if [[ -x "$kit_python" ]]; then
    "$kit_python" -c 'import torch; print(f"ok: kit venv torch {torch.__version__}")' \
        || echo "warning: the kit's venv lacks torch; run ./kernel-setup.sh" >&2
else
    echo "warning: $kit_python not found; run ./kernel-setup.sh for benches/pytorch_lesson.py" >&2
fi
