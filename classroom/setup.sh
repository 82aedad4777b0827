#!/usr/bin/env bash
# Installs the lesson for a whole class on one server: everything a student's kernel needs,
# system-wide under one prefix that every user can read and only root can change, plus the
# class's JupyterHub. Idempotent: each step keeps a stamp and is skipped when nothing it
# depends on changed. Runs as root. What students' kernels or the hub use is not changed while
# the hub or kernels of this install run (see --while-running); a re-run that changes nothing,
# or only notebooks, goes ahead.
#
#   sudo classroom/setup.sh [OPTIONS]           install or update, then say how to start the hub
#   sudo classroom/setup.sh [OPTIONS] --start   the same, then run the hub in the foreground
#
# Hub options are stored in PREFIX/hub/classroom.json; a later run keeps what it is not given.
#   --prefix DIR            install here (default /opt/notebook-kit; NOTEBOOK_KIT_PREFIX): a new or
#                           empty folder, or an earlier install (marked .notebook-kit-install)
#   --teacher NAME          the teacher's account, the hub's admin (default teacher)
#   --teacher-password-file FILE   the teacher's first password (default: a generated one,
#                           saved in PREFIX/hub/teacher-password)
#   --students N            students working at the same time (default 30)
#   --threads N             OpenMP/MKL threads per kernel (default cores / students, at least 1)
#   --ip ADDR, --port N     where the hub listens (default 127.0.0.1:8000)
#   --idle-timeout S        stop servers and kernels idle this long (default 3600)
#   --cpu-groups on|off     each student's server, kernels and compiles in a cgroup of their own,
#                           every student with the same CPU weight (default on)
#   --memory-limit SIZE     memory per student, over all their kernels: 6G, 4096M, a share of
#                           the server's memory (25%), or none (default 50%)
#   --data DIR              folder with cifar-10-batches-bin/ and fashion-mnist/ to share
#                           (default $NOTEBOOK_KIT_DATA, else ../shared/data beside the checkout)
#   --rust-sysroot DIR      the toolchain (default: the sysroot of `rustc` on PATH); copied under
#                           the prefix, or linked where it is when every user can already run it
#   --reuse DIR             a single-user NOTEBOOK_KIT_HOME whose evcxr build to copy instead
#                           of building it (default $NOTEBOOK_KIT_HOME or ~/.local/share/notebook-kit)
#   --kernels-only          what students' servers and kernels need, without the hub, its proxy
#                           and its settings (the container image: a hub elsewhere starts it)
#   --while-running         update even while the hub or students' kernels of this install run:
#                           kernels may fail mid-lesson until restarted (without it: refuse)
set -euo pipefail
umask 022

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=${NOTEBOOK_KIT_PREFIX:-/opt/notebook-kit}
DATA_SRC=${NOTEBOOK_KIT_DATA:-}
[ -z "$DATA_SRC" ] && [ -d "$ROOT/../shared/data" ] && DATA_SRC=$ROOT/../shared/data
RUST_SRC=
REUSE=${NOTEBOOK_KIT_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/notebook-kit}
START=
WHILE_RUNNING=
KERNELS_ONLY=
ORIG_ARGS=("$@")
declare -A SET=()
TEACHER_PASSWORD_FILE=

say() { printf '[classroom] %s\n' "$*"; }
die() { printf '[classroom] ERROR: %s\n' "$*" >&2; exit 1; }
need_arg() { [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value (see --help)"; }

while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) need_arg "$@"; PREFIX=$2; shift ;;
        --teacher) need_arg "$@"; SET[teacher]=$2; shift ;;
        --teacher-password-file) need_arg "$@"; TEACHER_PASSWORD_FILE=$2; shift ;;
        --students) need_arg "$@"; SET[students]=$2; shift ;;
        --threads) need_arg "$@"; SET[threads]=$2; shift ;;
        --ip) need_arg "$@"; SET[ip]=$2; shift ;;
        --port) need_arg "$@"; SET[port]=$2; shift ;;
        --idle-timeout) need_arg "$@"; SET[idle_timeout]=$2; shift ;;
        --cpu-groups) need_arg "$@"; SET[cpu_groups]=$2; shift ;;
        --memory-limit) need_arg "$@"; SET[memory_limit]=$2; shift ;;
        --data) need_arg "$@"; DATA_SRC=$2; shift ;;
        --rust-sysroot) need_arg "$@"; RUST_SRC=$2; shift ;;
        --reuse) need_arg "$@"; REUSE=$2; shift ;;
        --start) START=1 ;;
        --while-running) WHILE_RUNNING=1 ;;
        --kernels-only) KERNELS_ONLY=1 ;;
        -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1' "$0"; exit 0 ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
    shift
done
for k in students threads port idle_timeout; do
    [ -z "${SET[$k]:-}" ] || [[ "${SET[$k]}" =~ ^[0-9]+$ ]] || die "--${k//_/-} must be a number, not '${SET[$k]}'"
done
[ -z "$KERNELS_ONLY" ] || [ -z "$START" ] || die "--kernels-only installs no hub to --start"
[ -z "${SET[cpu_groups]:-}" ] || [[ "${SET[cpu_groups]}" =~ ^(on|off)$ ]] || die "--cpu-groups must be on or off, not '${SET[cpu_groups]}'"

[ "$(id -u)" = 0 ] || die "run as root (sudo): it installs for every user under $PREFIX and creates the students' accounts"
# evcxr resolves `:dep` paths to real paths; the prebuilt folder must be built against the same.
PREFIX=$(realpath -m "$PREFIX")
# Every run makes everything under the prefix root's and readable by all: never do that to a
# folder this script did not make (--prefix /opt or a home). Ours carry this marker; installs
# made before it existed are recognised by what they hold.
MARKER=.notebook-kit-install
check_prefix() {
    [ "$PREFIX" != / ] || die "--prefix / is not a folder of its own"
    [[ "$PREFIX/" != "$ROOT/"* ]] || die "--prefix must be outside the checkout ($ROOT)"
    [[ "$ROOT/" != "$PREFIX/"* ]] || die "--prefix must not contain the checkout ($ROOT)"
    if [ -e "$PREFIX" ] || [ -L "$PREFIX" ]; then
        [ -d "$PREFIX" ] || die "--prefix $PREFIX exists and is not a folder"
        [ -f "$PREFIX/$MARKER" ] && return
        if [ -n "$(ls -A "$PREFIX")" ] && ! { [ -d "$PREFIX/kit" ] && [ -f "$PREFIX/hub/classroom.json" ]; } \
            && ! { [ -f "$PREFIX/src/classroom/setup.sh" ] && [ -f "$PREFIX/src/kernel-setup.sh" ]; }; then
            die "--prefix $PREFIX is a non-empty folder that is not a notebook-kit class install (no $MARKER): give a new or empty folder"
        fi
    fi
    mkdir -p "$PREFIX"
    echo "notebook-kit class install (classroom/setup.sh); setup.sh only updates folders with this file" > "$PREFIX/$MARKER"
}
check_prefix
SYSTEM_PYTHON=/usr/bin/python3
[ -x "$SYSTEM_PYTHON" ] || die "$SYSTEM_PYTHON is missing (Debian: apt-get install python3 python3-venv)"
# Read as the hub will read it, so that a bad value stops here and not at the hub's start.
if [ -n "${SET[memory_limit]:-}" ]; then
    why=$(PYTHONDONTWRITEBYTECODE=1 "$SYSTEM_PYTHON" "$ROOT/classroom/student_cgroups.py" memory-limit "${SET[memory_limit]}" 2>&1) \
        || die "--memory-limit: $why"
fi
# Only what every user can run: no rustup proxies or pyenv shims from root's home.
CLEAN_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
NK=$PREFIX/kit
PROXY_WANT=configurable-http-proxy@5.3.0

stamp_ok() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }
timed() { local s=$SECONDS; "$@"; say "  ($((SECONDS - s)) s)"; }
# Rebuilding the prebuilt folder is needed when what it was compiled from changes under it.
invalidate_template() { rm -f "$NK/template/.notebook-kit-stamp"; }

exists() { [ -e "$1" ] || [ -L "$1" ]; }

# A read-only copy of the checkout: the notebooks handed out, the crate kernels build, and
# kernel-setup.sh, which is run from there so that the prebuilt folder refers to these paths.
# Staged in src.new first, so that what the update will change is known before anything is.
# SRC_NEXT: the copy the rest of the update is made from.
stage_source() {
    local new=$PREFIX/src.new name
    rm -rf "$new"
    # Scratch, gone however the run ends (the next run's copy tells again what differs).
    trap 'rm -rf "$PREFIX/src.new" "$PREFIX/src.old"' EXIT
    mkdir -p "$new"
    if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
            [ -e "$f" ] && printf '%s\0' "$f"; done | xargs -0 -r cp -a --parents -t "$new")
    else
        (cd "$ROOT" && find . -path ./target -prune -o -type f -print0 | xargs -0 -r cp -a --parents -t "$new")
    fi
    SRC_CHANGED=()
    while IFS= read -r -d '' name; do
        exists "$PREFIX/src/$name" && exists "$new/$name" \
            && diff -r -q "$PREFIX/src/$name" "$new/$name" >/dev/null && continue
        SRC_CHANGED+=("$name")
    done < <({ find "$new" -mindepth 1 -maxdepth 1 -printf '%f\0'
               [ ! -d "$PREFIX/src" ] || find "$PREFIX/src" -mindepth 1 -maxdepth 1 -printf '%f\0'; } | sort -z -u)
    SRC_NEXT=$new
    if [ ${#SRC_CHANGED[@]} = 0 ]; then
        rm -rf "$new"
        SRC_NEXT=$PREFIX/src
    fi
}

# The parts of the checkout that every kernel's `:dep notebook-kit` builds.
crate_changed() {
    local name
    for name in "${SRC_CHANGED[@]}"; do
        [[ "$name" =~ ^(crates|Cargo\.toml|Cargo\.lock)$ ]] && return 0
    done
    return 1
}

# Only what changed is replaced, an entry at a time, so that the rest never leaves the place
# where running kernels and servers use it (a notebook is handed out during a lesson this way).
# Unchanged parts must keep their old copies anyway: a fresh copy of the crate has new
# modification times, which cargo takes for changed sources (the prebuilt folder would be rebuilt).
commit_source() {
    local new=$PREFIX/src.new old=$PREFIX/src.old name
    if [ ${#SRC_CHANGED[@]} = 0 ]; then
        say "Lesson sources up to date: $PREFIX/src"
        return
    fi
    rm -rf "$old"
    mkdir -p "$PREFIX/src" "$old"
    for name in "${SRC_CHANGED[@]}"; do
        # rename(2) replaces a file in one step, a folder only once the old one is out of the way.
        if exists "$PREFIX/src/$name" && { [ -d "$PREFIX/src/$name" ] || [ -d "$new/$name" ] || ! exists "$new/$name"; }; then
            mv -T "$PREFIX/src/$name" "$old/$name"
        fi
        if exists "$new/$name"; then mv -T -f "$new/$name" "$PREFIX/src/$name"; fi
    done
    rm -rf "$new" "$old"
    if crate_changed; then invalidate_template; fi
    say "Lesson sources updated in $PREFIX/src: ${SRC_CHANGED[*]}"
}

# Root's toolchain lives in root's home (mode 700): its sysroot is copied where everyone can
# run it. A toolchain every user can already run (a system package's, or a container image's
# /usr/local/rustup) is used where it is, through a link: a second copy of it would only take
# 0.65 GB. Sets RUST_FROM, the sysroot, RUST_IN_PLACE, and RUST_WANT, its stamp.
find_rust() {
    RUST_FROM=${RUST_SRC:-}
    if [ -z "$RUST_FROM" ]; then
        command -v rustc >/dev/null || die "no rustc on PATH: install Rust (https://rustup.rs) or pass --rust-sysroot DIR"
        RUST_FROM=$(rustc --print sysroot)
    fi
    [ -x "$RUST_FROM/bin/rustc" ] && [ -x "$RUST_FROM/bin/cargo" ] || die "$RUST_FROM has no bin/rustc and bin/cargo"
    # evcxr infers the type of every `let` with rust-analyzer, which needs the standard
    # library's sources; without them a cell like `let v = vec![1];` fails.
    [ -f "$RUST_FROM/lib/rustlib/src/rust/library/Cargo.toml" ] \
        || die "the toolchain at $RUST_FROM has no standard library sources: rustup component add rust-src"
    RUST_WANT=$("$RUST_FROM/bin/rustc" -vV | sha256sum | cut -d' ' -f1)
    RUST_FROM=$(realpath "$RUST_FROM")
    RUST_IN_PLACE=
    # (The install's own copy, given back as --rust-sysroot, stays a copy.)
    if [[ "$RUST_FROM/" != "$PREFIX/"* ]] && runuser -u nobody -- "$RUST_FROM/bin/rustc" -V >/dev/null 2>&1 \
        && runuser -u nobody -- test -r "$RUST_FROM/lib/rustlib/src/rust/library/Cargo.toml"; then
        RUST_IN_PLACE=1
    fi
}

rust_up_to_date() {
    if [ -n "$RUST_IN_PLACE" ]; then
        [ -L "$PREFIX/rust" ] && [ "$(readlink "$PREFIX/rust")" = "$RUST_FROM" ] \
            && stamp_ok "$PREFIX/.rust-stamp" "$RUST_WANT"
    else
        [ ! -L "$PREFIX/rust" ] && stamp_ok "$PREFIX/rust/.notebook-kit-stamp" "$RUST_WANT"
    fi
}

# The documentation (~800 MB) stays behind.
setup_rust() {
    if rust_up_to_date; then
        say "Rust toolchain up to date: $PREFIX/rust ($("$PREFIX/rust/bin/rustc" -V))"
    elif [ -n "$RUST_IN_PLACE" ]; then
        say "Using the Rust toolchain at $RUST_FROM where it is (every user can run it): $PREFIX/rust links there"
        rm -rf "$PREFIX/rust"
        ln -sfn "$RUST_FROM" "$PREFIX/rust"
        echo "$RUST_WANT" > "$PREFIX/.rust-stamp"
        invalidate_template
    else
        say "Copying the Rust toolchain from $RUST_FROM to $PREFIX/rust"
        rm -rf "$PREFIX/rust.new"
        mkdir -p "$PREFIX/rust.new"
        tar -C "$RUST_FROM" --exclude=./share/doc -cf - . | tar -C "$PREFIX/rust.new" -xf -
        "$PREFIX/rust.new/bin/rustc" -V >/dev/null || die "the copied rustc does not run"
        echo "$RUST_WANT" > "$PREFIX/rust.new/.notebook-kit-stamp"
        rm -rf "$PREFIX/rust" "$PREFIX/.rust-stamp"
        mv "$PREFIX/rust.new" "$PREFIX/rust"
        invalidate_template
    fi
    mkdir -p "$PREFIX/cargo/bin"
    local t
    for t in cargo rustc rustdoc; do ln -sfn "../../rust/bin/$t" "$PREFIX/cargo/bin/$t"; done
}

# The vendored crates' stamp: the lock file and the toolchain's stamp (the file, newline and all).
crates_want() { { cat "$SRC_NEXT/Cargo.lock"; echo "$RUST_WANT"; } | sha256sum | cut -d' ' -f1; }

# The crates the kernels build against, vendored into the shared CARGO_HOME so that every
# user's cargo builds offline from one read-only copy. The prebuilt folder and the students'
# kernels must see them at the same path: cargo's fingerprints include it. The standard
# library's own crates.io dependencies are vendored too: evcxr's rust-analyzer runs
# `cargo metadata` on the library's sources and knows no std types when that fails.
setup_crates() {
    local want=$CRATES_WANT
    if stamp_ok "$PREFIX/cargo/vendor/.notebook-kit-stamp" "$want"; then
        say "Vendored crates up to date: $PREFIX/cargo/vendor"
        return
    fi
    say "Vendoring the kit's crates into $PREFIX/cargo/vendor"
    rm -rf "$PREFIX/cargo/vendor.new"
    # Root's own registry cache usually has them all; go online only when it does not.
    local vendor=("$PREFIX/rust/bin/cargo" vendor --locked --versioned-dirs --manifest-path "$PREFIX/src/Cargo.toml"
        --sync "$PREFIX/rust/lib/rustlib/src/rust/library/Cargo.toml" "$PREFIX/cargo/vendor.new")
    # The library's manifest uses unstable cargo features (rust-analyzer reads it the same way).
    export RUSTC_BOOTSTRAP=1
    PATH=$PREFIX/rust/bin:$CLEAN_PATH "${vendor[@]}" --offline >/dev/null 2>"$PREFIX/cargo/vendor.log" \
        || PATH=$PREFIX/rust/bin:$CLEAN_PATH "${vendor[@]}" >/dev/null 2>"$PREFIX/cargo/vendor.log" \
        || { cat "$PREFIX/cargo/vendor.log" >&2; die "cargo vendor failed"; }
    unset RUSTC_BOOTSTRAP
    rm -f "$PREFIX/cargo/vendor.log"
    echo "$want" > "$PREFIX/cargo/vendor.new/.notebook-kit-stamp"
    rm -rf "$PREFIX/cargo/vendor"
    mv "$PREFIX/cargo/vendor.new" "$PREFIX/cargo/vendor"
    cat > "$PREFIX/cargo/config.toml" <<EOF
# Written by classroom/setup.sh: kernels build from the vendored crates only, never the network.
[source.crates-io]
replace-with = "notebook-kit-vendored"

[source.notebook-kit-vendored]
directory = "$PREFIX/cargo/vendor"

[net]
offline = true
EOF
    invalidate_template
}

data_want() { (cd "$DATA_SRC" && find -L . -type f -printf '%P %s %T@\n' | sort | sha256sum | cut -d' ' -f1); }

setup_data() {
    if [ -z "$DATA_SRC" ] || [ ! -d "$DATA_SRC" ]; then
        say "No data folder given (--data): each student's kernel downloads CIFAR-10 into their own cache"
        return
    fi
    local want=$DATA_WANT
    if stamp_ok "$PREFIX/data/.notebook-kit-stamp" "$want"; then
        say "Shared data up to date: $PREFIX/data"
        return
    fi
    say "Copying the data sets from $DATA_SRC to $PREFIX/data"
    rm -rf "$PREFIX/data.new"
    cp -rL "$DATA_SRC" "$PREFIX/data.new"
    echo "$want" > "$PREFIX/data.new/.notebook-kit-stamp"
    rm -rf "$PREFIX/data"
    mv "$PREFIX/data.new" "$PREFIX/data"
}

# The evcxr_jupyter binary does not depend on where it is installed: copy a single-user
# build when there is one (kernel-setup.sh then finds it and skips its 7-12 min build). Its
# stamp names the version and the patch's hash, so a build with an older patch is replaced.
evcxr_to_reuse() {
    local stamp=.notebook-kit-stamp
    EVCXR_VERSION=$(sed -n 's/^EVCXR_VERSION=//p' "$SRC_NEXT/kernel-setup.sh")
    [ -f "$REUSE/evcxr/$stamp" ] && ! cmp -s "$REUSE/evcxr/$stamp" "$NK/evcxr/$stamp" \
        && [ -x "$REUSE/evcxr/bin/evcxr_jupyter" ] && grep -q "^evcxr_jupyter $EVCXR_VERSION " "$REUSE/evcxr/$stamp"
}

reuse_evcxr() {
    [ -n "$REUSE_EVCXR" ] || return 0
    say "Copying evcxr_jupyter $EVCXR_VERSION from $REUSE/evcxr"
    mkdir -p "$NK"
    rm -rf "$NK/evcxr"
    cp -a "$REUSE/evcxr" "$NK/evcxr"
}

# Parts of the checkout that neither kernels nor kernel-setup.sh read.
NOT_FOR_KERNELS='^(notebooks|docs|benches|classroom|\.ci|\.gitignore|\.dockerignore|Dockerfile|run-tests\.sh|.*\.md)$'
KERNEL_RECORD=$NK/.classroom-kernel-inputs

# What kernel-setup.sh's part of the install (kit/: venv, evcxr, kernel, prebuilt folder) is
# made from: the checkout's files it reads, its switches, and its own stamps as it left them.
# Recorded after it finished, so that a coming change is known without re-deriving those
# stamps here; an update that stopped half-way (a stamp removed or stale) differs from it.
kernel_inputs() {
    local name
    {
        echo "NOTEBOOK_KIT_EVCXR_PATCH=${NOTEBOOK_KIT_EVCXR_PATCH:-} NOTEBOOK_KIT_SKIP_TEMPLATE=${NOTEBOOK_KIT_SKIP_TEMPLATE:-}"
        cat "$NK/venv/.notebook-kit-stamp" "$NK/evcxr/.notebook-kit-stamp" "$NK/template/.notebook-kit-stamp" 2>/dev/null || true
        (cd "$1" && find . -mindepth 1 -maxdepth 1 -printf '%f\0' | while IFS= read -r -d '' name; do
            [[ "$name" =~ $NOT_FOR_KERNELS ]] || find "$name" -type f -print0
        done | sort -z | xargs -0 -r sha256sum)
    } | sha256sum | cut -d' ' -f1
}

# Everything this run would change that students' servers and kernels or the hub use, worked
# out before anything is changed. Settings, notebooks and docs are not in it: the hub and the
# servers read those when they start.
plan_update() {
    local name crates=()
    PENDING=()
    for name in "${SRC_CHANGED[@]}"; do
        [[ "$name" =~ ^(crates|Cargo\.toml|Cargo\.lock)$ ]] && crates+=("$name")
    done
    [ ${#crates[@]} = 0 ] || PENDING+=("src/ ${crates[*]}: the crate every kernel's :dep builds")
    rust_up_to_date \
        || PENDING+=("rust/: the Rust toolchain ($("$RUST_FROM/bin/rustc" -V) from $RUST_FROM)")
    CRATES_WANT=$(crates_want)
    stamp_ok "$PREFIX/cargo/vendor/.notebook-kit-stamp" "$CRATES_WANT" || PENDING+=("cargo/vendor/: the vendored crates")
    DATA_WANT=
    if [ -n "$DATA_SRC" ] && [ -d "$DATA_SRC" ]; then
        DATA_WANT=$(data_want)
        stamp_ok "$PREFIX/data/.notebook-kit-stamp" "$DATA_WANT" || PENDING+=("data/: the data sets (from $DATA_SRC)")
    fi
    REUSE_EVCXR=
    if evcxr_to_reuse; then
        REUSE_EVCXR=1
        PENDING+=("kit/evcxr/: evcxr_jupyter (copied from $REUSE/evcxr)")
    fi
    stamp_ok "$KERNEL_RECORD" "$(kernel_inputs "$SRC_NEXT")" \
        || PENDING+=("kit/: what kernel-setup.sh installs (venv, evcxr, kernel, prebuilt compile folder): its sources or switches differ from its last finished run")
    [ -n "$KERNELS_ONLY" ] && return
    stamp_ok "$NK/venv/.classroom-stamp" "$(sha256sum "$SRC_NEXT/classroom/requirements.txt" | cut -d' ' -f1)" \
        || PENDING+=("kit/venv/: JupyterHub's packages")
    stamp_ok "$PREFIX/proxy/.notebook-kit-stamp" "$PROXY_WANT" || PENDING+=("proxy/: $PROXY_WANT")
}

# Processes running programs from this install: the hub with its proxy and idle culler, the
# students' servers and kernels, the cargo and rustc compiling their cells. Prints them and how
# to stop them; nothing when there are none.
running_from_install() {
    "$SYSTEM_PYTHON" - "$PREFIX" <<'PY'
import os, sys

prefix = sys.argv[1]
hub_files = {f"{prefix}/src/classroom/jupyterhub_config.py", f"{prefix}/bin/notebook-kit-hub"}

# setup.sh's callers are not in the way (test_e2e.py runs it from the kit's venv), unless one
# is the hub (a terminal in the teacher's JupyterLab).
callers, pid = set(), os.getpid()
while pid > 0 and pid not in callers:
    callers.add(pid)
    try:
        pid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        break


def in_install(path, cwd):
    """Whether a program path lies in the install. Its last part is not resolved: the venv's
    python3 is a link to /usr/bin."""
    if "/" not in path:
        return False
    path = os.path.join(cwd, path)
    path = os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
    return path.startswith(prefix + "/")


found = []
for d in os.listdir("/proc"):
    if not d.isdigit():
        continue
    try:
        argv = [a.decode(errors="replace") for a in open(f"/proc/{d}/cmdline", "rb").read().split(b"\0")[:-1]]
        uid = os.stat(f"/proc/{d}").st_uid
    except OSError:
        continue
    if not argv:
        continue
    try:
        cwd = os.readlink(f"/proc/{d}/cwd")
    except OSError:
        cwd = "/"
    try:
        exe = os.readlink(f"/proc/{d}/exe").removesuffix(" (deleted)")
    except OSError:
        exe = ""
    script = len(argv) > 1 and in_install(argv[1], cwd) and os.access(os.path.join(cwd, argv[1]), os.X_OK)
    if not (in_install(exe, "/") or in_install(argv[0], cwd) or script):
        continue
    names = " ".join(os.path.basename(a) for a in argv[:3])
    if any(os.path.realpath(os.path.join(cwd, a.split("=", 1)[-1])) in hub_files for a in argv[1:]):
        kind = "the class hub"
    elif int(d) in callers:
        continue
    elif "configurable-http-proxy" in names:
        kind = "the hub's proxy"
    elif "jupyterhub_idle_culler" in argv:
        kind = "the hub's idle culler"
    elif "jupyterhub-singleuser" in names or "singleuser.sh" in names:
        kind = "a student's server"
    elif os.path.basename(exe) == "evcxr_jupyter":
        kind = "a kernel"
    elif os.path.basename(exe) in ("cargo", "rustc"):
        kind = "a cell's compile"
    else:
        kind = "a program of the install"
    try:
        user = __import__("pwd").getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    try:
        cgroup = open(f"/proc/{d}/cgroup").read().strip().splitlines()[-1].split(":", 2)[2]
    except (OSError, IndexError):
        cgroup = ""
    found.append((kind != "the class hub", int(d), kind, user, " ".join(argv), cgroup))

if not found:
    sys.exit(0)
found.sort()
SHOW = 8
for _, pid, kind, user, cmd, _ in found[:SHOW]:
    print(f"    pid {pid} ({user}), {kind}: {cmd if len(cmd) <= 160 else cmd[:157] + '...'}")
if len(found) > SHOW:
    print(f"    ... and {len(found) - SHOW} more")
hubs = [(pid, cgroup) for hub_last, pid, _, _, _, cgroup in found if not hub_last]
stops = []
for pid, cgroup in hubs:
    unit = cgroup.rsplit("/", 1)[-1]
    if "/system.slice/" in cgroup and unit.endswith(".service"):
        stops.append(f"sudo systemctl stop {unit}")
    else:
        stops.append(f"Ctrl+C where it runs, or sudo kill {pid}")
if stops:
    print(f"Stop the hub first ({'; '.join(stops)}): it stops the students' servers and kernels with it.")
else:
    print(f"Stop them first: sudo kill {' '.join(str(f[1]) for f in found)}")
PY
}

# A running kernel uses the toolchain, the vendored crates, the crate's sources, the data, the
# venv and the prebuilt folder it links to: replacing them under it makes cells fail mid-lesson.
refuse_while_running() {
    [ ${#PENDING[@]} -gt 0 ] || return 0
    local running again=$0
    running=$(running_from_install) || die "could not look for processes running from $PREFIX"
    [ -n "$running" ] || return 0
    if [ -n "$WHILE_RUNNING" ]; then
        say "--while-running: updating although these run from $PREFIX (their kernels may fail until restarted):"
        printf '%s\n' "$running" | sed '$d'
        return 0
    fi
    [ ${#ORIG_ARGS[@]} = 0 ] || again+=$(printf ' %q' "${ORIG_ARGS[@]}")
    die "$(printf '%s\n' "not updating $PREFIX while the class runs on it." \
        "This update would replace what the hub and students' kernels use while they run:" "${PENDING[@]/#/    - }" \
        "Running from $PREFIX:" "$running" \
        "Then re-run: sudo $again" \
        "(With --while-running it updates while they run: their kernels may fail mid-lesson until restarted.)")"
}

write_kernel_env() {
    mkdir -p "$NK"
    {
        echo "# Written by classroom/setup.sh; the kernel start wrapper reads it."
        printf 'export CARGO_HOME=%q\n' "$PREFIX/cargo"
        echo 'export CARGO_NET_OFFLINE=true'
        if [ -d "$PREFIX/data" ]; then
            printf 'export NOTEBOOK_KIT_DATA="${NOTEBOOK_KIT_DATA:-%s}"\n' "$PREFIX/data"
        fi
    } > "$NK/kernel-env.tmp"
    mv "$NK/kernel-env.tmp" "$NK/kernel-env"
}

run_kernel_setup() {
    say "Running kernel-setup.sh for NOTEBOOK_KIT_HOME=$NK"
    # A clean PATH, so that evcxr (which asks rustup first, then PATH) builds the prebuilt
    # folder with the shared toolchain, the one students' kernels will use.
    env -u RUSTUP_TOOLCHAIN -u VIRTUAL_ENV -u LD_LIBRARY_PATH -u CARGO_TARGET_DIR PATH="$CLEAN_PATH" \
        NOTEBOOK_KIT_HOME="$NK" PYTHON="$SYSTEM_PYTHON" NOTEBOOK_KIT_CARGO_BIN="$PREFIX/cargo/bin" \
        "$PREFIX/src/kernel-setup.sh"
}

setup_hub() {
    local want
    want=$(sha256sum "$PREFIX/src/classroom/requirements.txt" | cut -d' ' -f1)
    if stamp_ok "$NK/venv/.classroom-stamp" "$want"; then
        say "JupyterHub packages up to date"
    else
        say "Installing JupyterHub, NativeAuthenticator and the idle culler into $NK/venv"
        "$NK/venv/bin/pip" install --disable-pip-version-check -q -r "$PREFIX/src/classroom/requirements.txt"
        echo "$want" > "$NK/venv/.classroom-stamp"
    fi
    want=$PROXY_WANT
    if stamp_ok "$PREFIX/proxy/.notebook-kit-stamp" "$want"; then
        say "configurable-http-proxy up to date"
    else
        command -v npm >/dev/null || die "npm not found (Debian: apt-get install nodejs npm)"
        say "Installing $want into $PREFIX/proxy"
        npm install --prefix "$PREFIX/proxy" --no-audit --no-fund --loglevel=error "$want" >/dev/null
        echo "$want" > "$PREFIX/proxy/.notebook-kit-stamp"
    fi
    "$PREFIX/proxy/node_modules/.bin/configurable-http-proxy" --version >/dev/null || die "configurable-http-proxy does not run"
}

write_lab_settings() {
    # No "get Jupyter news?" prompt in every student's first session (the class is offline anyway).
    # Replaced only when it differs, and in one step: running servers read it at every page load.
    local settings=$NK/venv/share/jupyter/lab/settings/overrides.json
    mkdir -p "${settings%/*}"
    cat > "$settings.tmp" <<'JSON'
{
  "@jupyterlab/apputils-extension:notification": {
    "fetchNews": "false",
    "checkForUpdates": false
  }
}
JSON
    if cmp -s "$settings.tmp" "$settings"; then rm -f "$settings.tmp"; else mv -f "$settings.tmp" "$settings"; fi
}

# The hub's own state (database, cookie secret, teacher's password) is root's alone.
write_hub_settings() {
    mkdir -p "$PREFIX/hub" "$PREFIX/bin"
    chmod 700 "$PREFIX/hub"
    local args=() k
    for k in "${!SET[@]}"; do args+=("$k=${SET[$k]}"); done
    "$SYSTEM_PYTHON" - "$PREFIX/hub/classroom.json" "$PREFIX" "${args[@]}" <<'PY'
import json, os, sys
path, prefix, *pairs = sys.argv[1:]
defaults = {"teacher": "teacher", "students": 30, "threads": 0, "ip": "127.0.0.1", "port": 8000,
            "hub_port": 8081, "proxy_api_port": 8001, "idle_timeout": 3600,
            "group": "notebook-kit-students", "account_comment": "notebook-kit student",
            "cpu_groups": True, "memory_limit": "50%", "cgroup": "notebook-kit"}
try:
    settings = json.load(open(path))
except FileNotFoundError:
    settings = {}
settings = {**defaults, **settings, "prefix": prefix}
for pair in pairs:
    key, value = pair.split("=", 1)
    if isinstance(defaults[key], bool):
        settings[key] = value == "on"
    else:
        settings[key] = int(value) if isinstance(defaults[key], int) else value
with open(path + ".tmp", "w") as f:
    json.dump(settings, f, indent=2)
    f.write("\n")
os.replace(path + ".tmp", path)
PY
    local pw=$PREFIX/hub/teacher-password
    if [ -n "$TEACHER_PASSWORD_FILE" ]; then
        install -m 600 "$TEACHER_PASSWORD_FILE" "$pw"
    elif [ ! -s "$pw" ]; then
        (umask 077; head -c 18 /dev/urandom | base64 > "$pw")
        say "Generated the teacher's first password: $pw"
    fi
    {
        echo '#!/usr/bin/env bash'
        echo '# Generated by classroom/setup.sh: runs the class JupyterHub in the foreground, as root.'
        echo 'set -euo pipefail'
        printf 'prefix=%q\n' "$PREFIX"
        cat <<'RUN'
export NOTEBOOK_KIT_HUB_STATE="$prefix/hub"
cd "$NOTEBOOK_KIT_HUB_STATE"
exec "$prefix/kit/venv/bin/jupyterhub" -f "$prefix/src/classroom/jupyterhub_config.py" "$@"
RUN
    } > "$PREFIX/bin/notebook-kit-hub.tmp"
    chmod 755 "$PREFIX/bin/notebook-kit-hub.tmp"
    mv "$PREFIX/bin/notebook-kit-hub.tmp" "$PREFIX/bin/notebook-kit-hub"
}

# Readable by all, writable by root only; the hub's state (database, cookie secret, teacher's
# password) root's alone: the walk never enters hub/, which is tightened on every run (JupyterHub
# refuses a cookie secret others can read; installs before this fix left hub/'s files 0644).
secure_hub() {
    local hub=$PREFIX/hub
    [ -d "$hub" ] || return 0
    chown root:root "$hub"
    chmod 700 "$hub"
    find "$hub" -mindepth 1 -exec chown -h root:root {} +
    find "$hub" -mindepth 1 ! -type l -exec chmod go-rwx {} +
}
fix_permissions() {
    local hub=$PREFIX/hub bad
    secure_hub
    # Only what is not yet right is changed: in a container build, touching a file of an earlier
    # layer copies it whole into the new one (and a re-run on one server is faster too).
    find "$PREFIX" -path "$hub" -prune -o \( ! -user root -o ! -group root \) -exec chown -h root:root {} +
    find "$PREFIX" -path "$hub" -prune -o ! -type l \( -perm /022 -o ! -perm -444 -o -type d ! -perm -111 \
        -o -perm /111 ! -perm -111 \) -exec chmod go-w,a+rX {} +
    bad=$(find "$PREFIX" -path "$hub" -prune -o \( -perm /022 -o ! -user root \) ! -type l -print -quit)
    [ -z "$bad" ] || die "$bad is writable by others after fixing permissions"
    [ -d "$hub" ] || return 0  # --kernels-only: no hub here
    bad=$(find "$hub" \( -perm /077 -a ! -path "$hub" -o ! -user root -o -path "$hub" ! -perm 700 \) ! -type l -print -quit)
    [ -z "$bad" ] || die "$bad can be read by others after fixing permissions"
}

start=$SECONDS
say "Installing into $PREFIX"
secure_hub  # first: an install damaged by an older setup.sh has its secrets readable until then
stage_source
find_rust
plan_update
refuse_while_running
timed commit_source
timed setup_rust
timed setup_crates
timed setup_data
reuse_evcxr
write_kernel_env
timed run_kernel_setup
# An image is pulled by every node of a cluster: torch's Triton compiler (0.64 GB), which only
# Python's torch.compile uses and no kernel reaches (libtorch is C++), stays out of it.
if [ -n "$KERNELS_ONLY" ] && [ -d "$(echo "$NK"/venv/lib/python3*/site-packages/triton)" ]; then
    say "Removing Triton (torch.compile's compiler, 0.64 GB) from the venv: kernels use libtorch only"
    "$NK/venv/bin/pip" uninstall --disable-pip-version-check -q -y triton
fi
kernel_inputs "$PREFIX/src" > "$KERNEL_RECORD.tmp"
mv "$KERNEL_RECORD.tmp" "$KERNEL_RECORD"
write_lab_settings
if [ -n "$KERNELS_ONLY" ]; then
    timed fix_permissions
    say "Done in $((SECONDS - start)) s (--kernels-only: no hub here; a student's server starts with $PREFIX/src/classroom/singleuser.sh)"
    exit 0
fi
timed setup_hub
write_hub_settings
timed fix_permissions
say "Done in $((SECONDS - start)) s. Start the hub with: sudo $PREFIX/bin/notebook-kit-hub"
say "Settings: $PREFIX/hub/classroom.json; the teacher signs in as '$(sed -n 's/.*"teacher": "\(.*\)".*/\1/p' "$PREFIX/hub/classroom.json")' with the password in $PREFIX/hub/teacher-password"
if [ -n "$START" ]; then
    # A second hub would fail on the port, or start on another one over the same database.
    hubs=$(running_from_install | grep ', the class hub:' || true)
    [ -z "$hubs" ] || die "$(printf '%s\n' "not starting a second hub: this install's hub already runs:" "$hubs" \
        "(stop it first to restart it, e.g. after changing settings)")"
    exec "$PREFIX/bin/notebook-kit-hub"
fi
