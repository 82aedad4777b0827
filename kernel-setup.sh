#!/usr/bin/env bash
# Sets up everything the notebooks need and registers the "Rust (tch)" Jupyter kernel.
# Idempotent: each step keeps a stamp and is skipped when nothing it depends on changed.
#
#   ./kernel-setup.sh            set up (first time ~15 min, afterwards a few seconds)
#   ./kernel-setup.sh --check    print versions, CUDA and install locations; exit 1 with the fix if broken
#   ./kernel-setup.sh --lab [NB] [--port N] [--ip ADDR]
#                                set up, then serve JupyterLab on the lesson notebook (or NB);
#                                prints the URL (with its token) last. Defaults: 127.0.0.1 and
#                                Jupyter's port 8888 (NOTEBOOK_KIT_LAB_IP, NOTEBOOK_KIT_LAB_PORT)
#   ./kernel-setup.sh --env      print the environment (export lines) for cargo and tch
#
# NOTEBOOK_KIT_SKIP_TEMPLATE=1 skips prebuilding notebook-kit inside evcxr.
# NOTEBOOK_KIT_EVCXR_PATCH=0 installs evcxr_jupyter without this project's patch (patches/evcxr).
# Everything is installed outside the checkout, under $NOTEBOOK_KIT_HOME
# (default ${XDG_DATA_HOME:-~/.local/share}/notebook-kit), so clones and CI runs reuse it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NK_HOME=${NOTEBOOK_KIT_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/notebook-kit}
VENV=$NK_HOME/venv
EVCXR_VERSION=0.22.0
EVCXR_BIN=$NK_HOME/evcxr/bin/evcxr_jupyter
EVCXR_STAMP=$NK_HOME/evcxr/.notebook-kit-stamp
EVCXR_PATCHES=$ROOT/patches/evcxr
KERNEL_NAME=rust-tch
KERNEL_DIR=$VENV/share/jupyter/kernels/$KERNEL_NAME
TEMPLATE=$NK_HOME/template
# classroom/setup.sh points this at a toolchain every user can run (CARGO_HOME stays the caller's).
CARGO_BIN=${NOTEBOOK_KIT_CARGO_BIN:-${CARGO_HOME:-$HOME/.cargo}/bin}
PYTHON=${PYTHON:-python3}

say() { printf '[kernel-setup] %s\n' "$*"; }
die() { printf '[kernel-setup] ERROR: %s\n' "$*" >&2; exit 1; }

torch_lib_dir() {
    local d
    for d in "$VENV"/lib/python3*/site-packages/torch/lib; do
        [ -f "$d/libtorch_cpu.so" ] && { echo "$d"; return 0; }
    done
    return 1
}

print_env() {
    local lib
    lib=$(torch_lib_dir) || die "torch is not installed in $VENV: run ./kernel-setup.sh"
    echo "export NOTEBOOK_KIT_HOME='$NK_HOME'"
    echo "export PATH='$VENV/bin:$CARGO_BIN':\"\$PATH\""
    echo "export LIBTORCH_USE_PYTORCH=1"
    echo "export LD_LIBRARY_PATH='$lib'\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
}

stamp_ok() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

setup_venv() {
    local want
    want=$(sha256sum "$ROOT/requirements.txt" | cut -d' ' -f1)
    if stamp_ok "$VENV/.notebook-kit-stamp" "$want"; then
        say "Python venv up to date: $VENV"
        return
    fi
    command -v "$PYTHON" >/dev/null || die "$PYTHON not found: install Python 3.10+ (Debian: apt-get install python3 python3-venv)"
    say "Installing Python venv with torch and Jupyter into $VENV (about 2 min, 5 GB)"
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --disable-pip-version-check -q -r "$ROOT/requirements.txt"
    echo "$want" > "$VENV/.notebook-kit-stamp"
}

# What the evcxr step installs: patched unless NOTEBOOK_KIT_EVCXR_PATCH=0. The patch's hash is
# part of it, so editing the patch rebuilds and nothing else does.
evcxr_wanted() {
    if [ "${NOTEBOOK_KIT_EVCXR_PATCH:-1}" = 0 ]; then
        echo "evcxr_jupyter $EVCXR_VERSION unpatched"
    else
        echo "evcxr_jupyter $EVCXR_VERSION patch $(cat "$EVCXR_PATCHES"/*.patch | sha256sum | cut -c1-12)"
    fi
}

# The .crate archive cargo keeps after downloading NAME-VERSION from the registry.
cached_crate() {
    local f
    for f in "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/"$1-$2.crate"; do
        [ -f "$f" ] && { echo "$f"; return 0; }
    done
    return 1
}

# Lets cargo download evcxr_jupyter and its dependencies (evcxr among them) into its cache.
fetch_evcxr_crates() {
    local tmp rc=0
    tmp=$(mktemp -d)
    mkdir "$tmp/src" && : > "$tmp/src/lib.rs"
    printf '[package]\nname = "notebook-kit-fetch"\nversion = "0.0.0"\nedition = "2021"\n\n[dependencies]\nevcxr_jupyter = "=%s"\n' \
        "$EVCXR_VERSION" > "$tmp/Cargo.toml"
    (cd "$tmp" && PATH=$CARGO_BIN:$PATH cargo fetch -q) || rc=$?
    rm -rf "$tmp"
    return $rc
}

# Unpacks crate $2 at version $3 into $1/$2 (downloading it first if cargo has not yet). Once
# evcxr_jupyter is unpacked, its own Cargo.lock says what to download: a fresh resolution
# could pick a newer zeromq than the one it locks.
unpack_crate() {
    local build=$1 name=$2 version=$3 crate
    crate=$(cached_crate "$name" "$version") || {
        if [ -f "$build/evcxr_jupyter/Cargo.lock" ]; then
            (cd "$build/evcxr_jupyter" && PATH=$CARGO_BIN:$PATH cargo fetch --locked -q) >&2 || true
        else
            fetch_evcxr_crates >&2 || true
        fi
        crate=$(cached_crate "$name" "$version")
    } || { echo "cargo could not download $name $version"; return 1; }
    rm -rf "${build:?}/$name"
    mkdir -p "$build/$name"
    tar -xzf "$crate" -C "$build/$name" --strip-components=1 || { echo "could not unpack $crate"; return 1; }
}

# Unpacks evcxr_jupyter and the evcxr and zeromq it locks into $1 and applies patches/evcxr
# there. Prints why on stdout and fails when that is not possible.
prepare_patched_evcxr() {
    local build=$1 name version p
    command -v patch >/dev/null || { echo "the patch tool is missing (Debian: apt-get install patch)"; return 1; }
    unpack_crate "$build" evcxr_jupyter "$EVCXR_VERSION" || return 1
    for name in evcxr zeromq; do
        version=$(sed -n "/^name = \"$name\"\$/{n;s/^version = \"\(.*\)\"\$/\1/p;}" "$build/evcxr_jupyter/Cargo.lock")
        [ -n "$version" ] || { echo "evcxr_jupyter $EVCXR_VERSION does not lock $name"; return 1; }
        unpack_crate "$build" "$name" "$version" || return 1
    done
    # Dry runs first, so that a patch that fails leaves nothing half-applied.
    for p in "$EVCXR_PATCHES"/*.patch; do
        patch -d "$build" -p1 --dry-run -s -f < "$p" >/dev/null 2>&1 \
            || { echo "patches/evcxr/$(basename "$p") does not apply to evcxr_jupyter $EVCXR_VERSION"; return 1; }
    done
    for p in "$EVCXR_PATCHES"/*.patch; do
        patch -d "$build" -p1 -s -f < "$p" >/dev/null || { echo "patches/evcxr/$(basename "$p") failed"; return 1; }
    done
}

setup_evcxr() {
    local want installed build="$NK_HOME/evcxr-build" why
    want=$(evcxr_wanted)
    if [ -x "$EVCXR_BIN" ] && [ -f "$EVCXR_STAMP" ] && [ "$(head -n1 "$EVCXR_STAMP")" = "$want" ]; then
        say "evcxr_jupyter up to date: $(sed -n 2p "$EVCXR_STAMP") ($EVCXR_BIN)"
        return
    fi
    # An unpatched install from before this stamp existed needs no rebuild when unpatched is wanted.
    if [ -x "$EVCXR_BIN" ] && [ ! -f "$EVCXR_STAMP" ] && [ "${want%unpatched}" != "$want" ] \
        && grep -q "evcxr_jupyter $EVCXR_VERSION (registry" "$NK_HOME/evcxr/.crates.toml" 2>/dev/null; then
        printf '%s\n%s\n' "$want" "$EVCXR_VERSION unpatched (NOTEBOOK_KIT_EVCXR_PATCH=0)" > "$EVCXR_STAMP"
        say "evcxr_jupyter $EVCXR_VERSION present, unpatched: $EVCXR_BIN"
        return
    fi
    command -v cargo >/dev/null || [ -x "$CARGO_BIN/cargo" ] || die "cargo not found: install Rust with rustup (https://rustup.rs)"
    rm -f "$EVCXR_STAMP"
    if [ "${want%unpatched}" = "$want" ]; then
        if why=$(prepare_patched_evcxr "$build"); then
            say "Building evcxr_jupyter $EVCXR_VERSION with notebook-kit's patch (once; about 7-12 min on 2 cores)"
            # The build folder is removed afterwards, as cargo install removes its own.
            PATH=$CARGO_BIN:$PATH cargo install --path "$build/evcxr_jupyter" --locked --force \
                --target-dir "$build/target" --root "$NK_HOME/evcxr"
            rm -rf "$build"
            printf '%s\n%s\n' "$want" "$EVCXR_VERSION with notebook-kit patch (patches/evcxr, sha256 ${want##* })" > "$EVCXR_STAMP"
            return
        fi
        rm -rf "$build"
        say "NOT PATCHING evcxr: $why; installing the unpatched kernel (Stop kills the cell's process, output arrives line by line)"
        installed="$EVCXR_VERSION unpatched ($why)"
    else
        installed="$EVCXR_VERSION unpatched (NOTEBOOK_KIT_EVCXR_PATCH=0)"
    fi
    say "Building evcxr_jupyter $EVCXR_VERSION (once; about 7-12 min on 2 cores)"
    PATH=$CARGO_BIN:$PATH cargo install evcxr_jupyter --version "$EVCXR_VERSION" --locked --force --root "$NK_HOME/evcxr"
    printf '%s\n%s\n' "$want" "$installed" > "$EVCXR_STAMP"
}

# The start wrapper gives every kernel its own compile folder: two evcxr kernels sharing one
# EVCXR_TMPDIR break each other. Where the prebuilt folder is the user's own, the kernel gets
# a copy whose compiled libraries are links; where it belongs to someone else
# (classroom/setup.sh's system-wide install), a private folder of links (see the wrapper).
write_kernel() {
    local lib rust_lib wrapper="$NK_HOME/bin/$KERNEL_NAME-kernel"
    lib=$(torch_lib_dir) || die "torch is missing from $VENV"
    # evcxr's cells link libstd dynamically and find it through a relative rpath that is
    # computed for target/*/deps but loaded from one level up; it only resolves by luck
    # for shallow temp folders. Point the loader at the toolchain's libstd instead.
    rust_lib="$(PATH=$CARGO_BIN:$PATH rustc --print sysroot)/lib/rustlib/$(PATH=$CARGO_BIN:$PATH rustc -vV | sed -n 's/^host: //p')/lib"
    [ -d "$rust_lib" ] || die "Rust's standard library folder $rust_lib is missing"
    mkdir -p "$NK_HOME/bin" "$KERNEL_DIR" "$NK_HOME/kernel-state"
    {
        echo '#!/usr/bin/env bash'
        echo '# Generated by kernel-setup.sh: starts evcxr_jupyter with its own compile folder.'
        echo 'set -euo pipefail'
        printf 'kernels=%q\ntemplate=%q\nevcxr=%q\nkernel_state=%q\nkernel_env=%q\ncargo_config=%q\n' \
            "$NK_HOME/kernels" "$TEMPLATE" "$EVCXR_BIN" "$NK_HOME/kernel-state" "$NK_HOME/kernel-env" \
            "$NK_HOME/.cargo/config.toml"
        cat <<'WRAP'
# Settings an install wants in every kernel; classroom/setup.sh writes the shared CARGO_HOME
# (offline crates) and data folder there. A single-user install has none.
if [ -r "$kernel_env" ]; then . "$kernel_env"; fi
linked=
if [ -z "${NOTEBOOK_KIT_BUILD_TEMPLATE:-}" ] && [ -d "$template" ] && [ ! -w "$template" ]; then
    # Someone else's prebuilt folder (a system-wide install): 500 MB per kernel would not fit
    # a class, and a user may not hard-link files they cannot write (fs.protected_hardlinks).
    # So the kernel's private folder, in the user's own cache, symlinks every dependency
    # artifact, which cargo and rustc only read, and copies the few files they rewrite in place.
    kernels=${XDG_CACHE_HOME:-$HOME/.cache}/notebook-kit/kernels
    linked=1
fi
mkdir -p "$kernels"
# The cargo settings the prebuilt folder was built with (dependencies at opt-level 2) must sit
# above every kernel's folder too, or its first cell rebuilds every dependency.
if [ -n "$linked" ] && [ -r "$cargo_config" ]; then
    mkdir -p "$kernels/../.cargo"
    cmp -s "$cargo_config" "$kernels/../.cargo/config.toml" || cp "$cargo_config" "$kernels/../.cargo/config.toml"
fi
# --stop: classroom/singleuser.sh runs this after a student's server exited. Kernels run in
# sessions of their own and would outlive it, each holding its data and model in memory.
if [ "${1:-}" = --stop ]; then
    for sig in TERM KILL; do
        for d in "$kernels"/*/; do
            [ -d "$d" ] || continue
            pid=$(basename "$d")
            kill -"$sig" -- "-$pid" 2>/dev/null || kill -"$sig" "$pid" 2>/dev/null || true
        done
        for _ in $(seq 20); do
            alive=
            for d in "$kernels"/*/; do [ -d "$d" ] && kill -0 "$(basename "$d")" 2>/dev/null && alive=1; done
            [ -z "$alive" ] && break
            sleep 0.25
        done
        [ -z "$alive" ] && break
    done
fi
# Folders of kernels that are gone (killed, culled, crashed) are removed here, at the next start.
for d in "$kernels"/*/; do
    [ -d "$d" ] || continue
    pid=$(basename "$d")
    kill -0 "$pid" 2>/dev/null || rm -rf "$d"
done
case "${1:-}" in --sweep|--stop) exit 0 ;; esac
if [ -n "${NOTEBOOK_KIT_BUILD_TEMPLATE:-}" ]; then
    dir=$template
    mkdir -p "$dir"
elif [ -n "$linked" ]; then
    dir="$kernels/$$"
    rm -rf "$dir"
    mkdir -p "$dir"
    cp -as "$template/target" "$dir/target"
    # Private: what evcxr and cargo write (the target dir's lock and rustc cache) and the
    # cell crate's own outputs and incremental state, which every cell rebuilds anyway.
    # evcxr's cell crate is named ctx; each cell's library is renamed to libcode_N.so.
    find "$dir/target" \( -name incremental -o -name .cargo-lock -o -name .rustc_info.json \
        -o -name 'ctx-*' -o -name 'ctx.d' -o -name 'libctx*' -o -name 'libcode_*' \) -prune -exec rm -rf {} +
    for f in Cargo.toml Cargo.lock src .cargo target/.rustc_info.json; do
        if [ -e "$template/$f" ]; then cp -R --no-preserve=mode "$template/$f" "$dir/$f"; fi
    done
else
    dir="$kernels/$$"
    rm -rf "$dir"
    mkdir -p "$dir"
    if [ -d "$template" ]; then
        # A copy, except the dependencies' compiled libraries (421 of a fresh install's 452 MB),
        # which are symlinked: rustc and the linker never write into an existing library, they
        # write a new file and rename it over the old name, which replaces the link in this
        # folder and leaves the prebuilt one as it was (checked: a kernel that rebuilt
        # notebook-kit left the template's files bit for bit). About 30 MB per open notebook
        # instead of 450.
        # tar's POSIX format keeps nanosecond mtimes: cargo compares them, and with whole
        # seconds every dependency with a build script counted as stale and was rebuilt.
        libs=( \( -name '*.rlib' -o -name '*.rmeta' -o -name '*.so' \) )
        (cd "$template" && tar --format=posix --exclude='*.rlib' --exclude='*.rmeta' --exclude='*.so' -cf - .) \
            | (cd "$dir" && tar -xf -)
        (cd "$template" && find . -type f "${libs[@]}" -printf '%h\n' | sort -u) | while read -r sub; do
            find "$template/$sub" -maxdepth 1 -type f "${libs[@]}" -exec ln -s -t "$dir/$sub" {} +
        done
    fi
fi
export EVCXR_TMPDIR="$dir"
# evcxr rewrites the kernelspec at JUPYTER_PATH/kernels/rust when its version differs;
# point it at an empty folder so neither ours nor a user's own "rust" kernel is touched.
export JUPYTER_PATH=$kernel_state
exec "$evcxr" "$@"
WRAP
    } > "$wrapper.tmp"
    chmod +x "$wrapper.tmp"
    mv "$wrapper.tmp" "$wrapper"
    # Written by a JSON serializer: paths may hold quotes, backslashes or non-ASCII.
    "$VENV/bin/python" - "$KERNEL_DIR/kernel.json.tmp" "$wrapper" "$VENV/bin:$CARGO_BIN" "$lib:$rust_lib" "$NK_HOME" <<'PY'
import json, sys
out, wrapper, path, ld_path, home = sys.argv[1:]
spec = {
    "argv": [wrapper, "--control_file", "{connection_file}"],
    "display_name": "Rust (tch)",
    "language": "rust",
    "interrupt_mode": "message",
    "env": {
        # Cells compile at opt-level 0 (evcxr's default is 2); the dependencies stay at 2
        # through the cargo config above the kernels' folders (write_cargo_config).
        "CARGO_PROFILE_DEV_OPT_LEVEL": "0",
        "LIBTORCH_USE_PYTORCH": "1",
        "PATH": path + ":${PATH}",
        "LD_LIBRARY_PATH": ld_path,
        "NOTEBOOK_KIT_HOME": home,
    },
}
with open(out, "w") as f:
    json.dump(spec, f, indent=2)
    f.write("\n")
PY
    mv "$KERNEL_DIR/kernel.json.tmp" "$KERNEL_DIR/kernel.json"
    echo 1 > "$KERNEL_DIR/version.txt"
    local logo
    for logo in "$NK_HOME"/evcxr/share/*.png; do [ -f "$logo" ] && cp "$logo" "$KERNEL_DIR/"; done
    say "Kernel \"Rust (tch)\" registered: $KERNEL_DIR"
}

# Cargo reads .cargo/config.toml in every folder above the one it builds in: this one sits
# above the prebuilt folder and every kernel's folder, and keeps the dependencies (the kit,
# tch, image decoding, PNG encoding) optimised while the kernel compiles cells at
# opt-level 0. Its content is part of the prebuilt folder's stamp.
CARGO_CONFIG_TEXT='# Written by kernel-setup.sh for the "Rust (tch)" kernels below this folder.
[profile.dev.package."*"]
opt-level = 2

# Every cell is new code: rustc'"'"'s incremental data only piled up in the kernel'"'"'s folder
# (up to 47 MB over the lesson) and made cells no faster (tools/bench_cells.py).
[build]
incremental = false
'

write_cargo_config() {
    mkdir -p "$NK_HOME/.cargo"
    printf '%s' "$CARGO_CONFIG_TEXT" > "$NK_HOME/.cargo/config.toml.tmp"
    mv "$NK_HOME/.cargo/config.toml.tmp" "$NK_HOME/.cargo/config.toml"
}

# evcxr infers the type of every `let` with rust-analyzer, which needs the standard library's
# sources: without them `let (x_train, y_train) = ...load_data()?` fails with "Couldn't
# automatically determine type" (seen in a classroom test with rust-src removed).
require_rust_src() {
    local sysroot
    sysroot=$(PATH=$CARGO_BIN:$PATH rustc --print sysroot 2>/dev/null) || die "rustc not found: install Rust with rustup (https://rustup.rs)"
    [ -f "$sysroot/lib/rustlib/src/rust/library/Cargo.toml" ] && return
    if PATH=$CARGO_BIN:$PATH command -v rustup >/dev/null; then
        say "Adding the standard library's sources (rustup component add rust-src)"
        PATH=$CARGO_BIN:$PATH rustup component add rust-src >&2 || true
    fi
    [ -f "$sysroot/lib/rustlib/src/rust/library/Cargo.toml" ] \
        || die "the Rust toolchain at $sysroot has no standard library sources, which the kernel needs to know a variable's type: rustup component add rust-src"
}

# Builds the compile folder every kernel starts from, so that the first
# `:dep notebook-kit` takes seconds instead of minutes (tch's C++ wrapper).
build_template() {
    if [ -n "${NOTEBOOK_KIT_SKIP_TEMPLATE:-}" ]; then
        say "NOTEBOOK_KIT_SKIP_TEMPLATE set: not prebuilding (a notebook's first cell will take minutes)"
        return
    fi
    local want
    want=$( {
        echo "$ROOT" "$EVCXR_VERSION" "$CARGO_CONFIG_TEXT" "cells at opt-level 0"
        cat "$ROOT/Cargo.lock" "$ROOT/crates/notebook-kit/Cargo.toml"
        find "$ROOT/crates/notebook-kit/src" -type f -name '*.rs' -print0 | sort -z | xargs -0 cat
    } | sha256sum | cut -d' ' -f1)
    if stamp_ok "$TEMPLATE/.notebook-kit-stamp" "$want"; then
        say "Prebuilt compile folder up to date: $TEMPLATE"
        return
    fi
    say "Prebuilding notebook-kit inside evcxr into $TEMPLATE (first time about 6 min)"
    rm -f "$TEMPLATE/.notebook-kit-stamp"
    NOTEBOOK_KIT_BUILD_TEMPLATE=1 "$VENV/bin/python" "$ROOT/tools/notebook_runner.py" \
        --warm-up "$ROOT/crates/notebook-kit" --kernel "$KERNEL_NAME"
    # Left by builds from before `incremental = false`; every kernel would copy or link it.
    rm -rf "$TEMPLATE"/target/*/debug/incremental
    echo "$want" > "$TEMPLATE/.notebook-kit-stamp"
}

check() {
    local bad=0 lib
    echo "notebook-kit home:  $NK_HOME"
    echo "checkout:           $ROOT"
    if [ -x "$VENV/bin/python" ]; then echo "python venv:        $VENV ($("$VENV/bin/python" --version))"
    else echo "python venv:        MISSING ($VENV) -> run ./kernel-setup.sh"; bad=1; fi
    if lib=$(torch_lib_dir); then
        echo "torch:              $(sed -n "s/^__version__ = '\(.*\)'/\1/p" "$lib/../version.py") ($lib)"
        [ -f "$lib/libtorch_cuda.so" ] && echo "torch CUDA build:   yes (libtorch_cuda.so present)" || echo "torch CUDA build:   no (CPU-only libtorch)"
    else echo "torch:              MISSING -> run ./kernel-setup.sh"; bad=1; fi
    # What the kernel really builds against: cargo's resolution in the prebuilt folder.
    local tch
    tch=$( (cd "$TEMPLATE" 2>/dev/null && PATH=$CARGO_BIN:$PATH cargo pkgid --offline --locked tch 2>/dev/null) | sed -n 's/.*[@#]//p')
    echo "tch (kernel):       ${tch:-unknown until the prebuilt folder exists}"
    if [ ! -x "$EVCXR_BIN" ]; then echo "evcxr_jupyter:      MISSING -> run ./kernel-setup.sh"; bad=1
    elif [ -f "$EVCXR_STAMP" ]; then
        echo "evcxr_jupyter:      $(sed -n 2p "$EVCXR_STAMP") ($EVCXR_BIN)"
        [ "$(head -n1 "$EVCXR_STAMP")" = "$(evcxr_wanted)" ] \
            || echo "                    differs from what this checkout wants ($(evcxr_wanted)) -> run ./kernel-setup.sh"
    else echo "evcxr_jupyter:      $(grep -o "evcxr_jupyter [0-9.]*" "$NK_HOME/evcxr/.crates.toml" | head -n1 | cut -d' ' -f2) unpatched (installed before notebook-kit's patch) -> run ./kernel-setup.sh ($EVCXR_BIN)"; fi
    if [ -x "$VENV/bin/jupyter" ]; then echo "jupyterlab:         $("$VENV/bin/python" -c 'import jupyterlab; print(jupyterlab.__version__)')"
    else echo "jupyterlab:         MISSING -> run ./kernel-setup.sh"; bad=1; fi
    if [ -f "$KERNEL_DIR/kernel.json" ]; then echo "kernel:             Rust (tch) at $KERNEL_DIR"
    else echo "kernel:             NOT REGISTERED -> run ./kernel-setup.sh"; bad=1; fi
    if [ -f "$TEMPLATE/.notebook-kit-stamp" ]; then echo "prebuilt folder:    $TEMPLATE ($(du -sh "$TEMPLATE" 2>/dev/null | cut -f1))"
    else echo "prebuilt folder:    MISSING (first notebook cell will take minutes) -> run ./kernel-setup.sh"; bad=1; fi
    if [ -x "$VENV/bin/python" ] && [ -n "${lib:-}" ]; then
        "$VENV/bin/python" -W ignore - <<'PY' || bad=1
import torch
avail = torch.cuda.is_available()
print(f"CUDA available:     {'yes' if avail else 'no'} (torch.version.cuda={torch.version.cuda})")
for i in range(torch.cuda.device_count()):
    p = torch.cuda.get_device_properties(i)
    print(f"GPU {i}:              {p.name}, {p.total_memory / 2**30:.0f} GiB")
if not avail:
    print("                    no GPU here: notebooks train on the CPU and say so in their GPU cells")
PY
    fi
    local data=${NOTEBOOK_KIT_DATA:-}
    echo "offline data:       ${data:-not set (NOTEBOOK_KIT_DATA); loaders use CIFAR10_DIR/FASHION_MNIST_DIR, the cache, or download}"
    [ "$bad" = 0 ] && echo "OK" || { echo "BROKEN: see the lines above for the fix"; return 1; }
}

lab_notebook=notebooks/01-gpu-benchmarking-cifar10.ipynb
lab_ip=${NOTEBOOK_KIT_LAB_IP:-127.0.0.1}
lab_port=${NOTEBOOK_KIT_LAB_PORT:-8888}
case "${1:-}" in
    --check|doctor) check; exit $? ;;
    --env) print_env; exit 0 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    "") ;;
    --lab)
        shift
        while [ $# -gt 0 ]; do
            case "$1" in
                --port) [ $# -ge 2 ] || die "--port needs a number"; lab_port=$2; shift 2 ;;
                --port=*) lab_port=${1#--port=}; shift ;;
                --ip) [ $# -ge 2 ] || die "--ip needs an address"; lab_ip=$2; shift 2 ;;
                --ip=*) lab_ip=${1#--ip=}; shift ;;
                -*) die "unknown --lab option '$1' (see --help)" ;;
                *) lab_notebook=$1; shift ;;
            esac
        done
        [[ "$lab_port" =~ ^[0-9]+$ ]] && [ "$lab_port" -ge 1 ] && [ "$lab_port" -le 65535 ] \
            || die "--port must be a number from 1 to 65535, got '$lab_port'"
        [ -f "$ROOT/$lab_notebook" ] || [ -f "$lab_notebook" ] || die "notebook not found: $lab_notebook"
        set -- --lab ;;
    *) die "unknown option '$1' (see --help)" ;;
esac

mkdir -p "$NK_HOME"
require_rust_src
setup_venv
setup_evcxr
write_kernel
write_cargo_config
build_template
say "Ready. Check with: ./kernel-setup.sh --check"

if [ "${1:-}" = "--lab" ]; then
    exec "$VENV/bin/python" "$ROOT/tools/lab.py" --root "$ROOT" --ip "$lab_ip" --port "$lab_port" "$lab_notebook"
fi
