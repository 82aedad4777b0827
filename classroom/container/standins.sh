#!/usr/bin/env bash
# Makes a local stand-in for the public image the Dockerfile starts FROM, for machines that
# reach no image registry (this project's development and CI machines). Anyone with internet
# skips this: `docker build .` pulls the real `rust:VERSION-slim-bookworm`.
#
#   classroom/container/standins.sh        make it unless it is already there (idempotent)
#
# The stand-in carries the official image's name and what the Dockerfile relies on: Debian
# bookworm (from Debian's own mirrors, by mmdebstrap, security updates included), gcc and
# libc6-dev, and rustup with Rust VERSION under /usr/local/rustup and /usr/local/cargo, with
# the same environment (RUSTUP_HOME, CARGO_HOME, PATH, RUST_VERSION). The toolchain is this
# machine's own copy of that version (rustup cannot download one here), without its
# documentation; unlike the official minimal profile it already holds rust-src (so the
# Dockerfile's `rustup component add rust-src` has nothing to do) plus clippy and rustfmt.
# Needs root, podman, mmdebstrap. CONTAINERS_CONF is honoured (see containers.conf here).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
say() { printf '[standins] %s\n' "$*"; }
die() { printf '[standins] ERROR: %s\n' "$*" >&2; exit 1; }

base=$(sed -n 's/^ARG BASE_IMAGE=//p' "$ROOT/Dockerfile")
[[ "$base" =~ ^rust:([0-9]+\.[0-9]+\.[0-9]+)-slim-bookworm$ ]] \
    || die "the Dockerfile's BASE_IMAGE is '$base'; this script makes stand-ins for rust:X.Y.Z-slim-bookworm only"
version=${BASH_REMATCH[1]}
image=docker.io/library/$base
host=x86_64-unknown-linux-gnu
[ "$(uname -m)" = x86_64 ] || die "only x86_64 is handled (this is $(uname -m))"
command -v podman >/dev/null || die "podman is missing (Debian: apt-get install podman runc)"
command -v mmdebstrap >/dev/null || die "mmdebstrap is missing (Debian: apt-get install mmdebstrap)"

# This machine's toolchain of that version: rustup's, or whatever rustc on PATH is if it matches.
rustup_home=${RUSTUP_HOME:-$HOME/.rustup}
toolchain=$rustup_home/toolchains/$version-$host
if [ ! -x "$toolchain/bin/rustc" ]; then
    toolchain=$(rustc --print sysroot 2>/dev/null) || toolchain=
    [ -n "$toolchain" ] && "$toolchain/bin/rustc" -V | grep -q "^rustc $version " \
        || die "no Rust $version on this machine (rustup toolchain install $version, or change BASE_IMAGE)"
fi
[ -f "$toolchain/lib/rustlib/src/rust/library/Cargo.toml" ] \
    || die "$toolchain has no rust-src: rustup component add rust-src --toolchain $version"
rustup_bin=$(command -v rustup || true)
[ -n "$rustup_bin" ] || rustup_bin=${CARGO_HOME:-$HOME/.cargo}/bin/rustup
[ -x "$rustup_bin" ] || die "rustup not found"

# The stand-in is remade when this script or the toolchain changes.
want=$( { cat "${BASH_SOURCE[0]}"; "$toolchain/bin/rustc" -vV; } | sha256sum | cut -c1-16)
have=$(podman image inspect --format '{{index .Labels "notebook-kit.standin"}}' "$image" 2>/dev/null || true)
if [ "$have" = "$want" ]; then
    say "$image: stand-in up to date"
    exit 0
fi
[ -z "$have" ] && podman image exists "$image" \
    && die "$image exists and is not this script's stand-in (a real pulled image?): leaving it alone"

work=$(mktemp -d /var/tmp/notebook-kit-standin.XXXXXX)
trap 'rm -rf "$work"' EXIT
start=$SECONDS
say "Making $image from Debian bookworm (mmdebstrap) and Rust $version from $toolchain"
mmdebstrap --quiet --variant=minbase --include=ca-certificates,gcc,libc6-dev bookworm "$work/root" \
    "deb http://deb.debian.org/debian bookworm main" \
    "deb http://deb.debian.org/debian bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main"
rm -rf "$work/root/var/lib/apt/lists/"*
# As rustup-init lays it out in the official image.
tc=$work/root/usr/local/rustup/toolchains/$version-$host
mkdir -p "$tc" "$work/root/usr/local/cargo/bin"
tar -C "$toolchain" --exclude=./share/doc -cf - . | tar -C "$tc" -xf -
printf 'version = "12"\ndefault_toolchain = "%s"\nprofile = "minimal"\n\n[overrides]\n' "$version-$host" \
    > "$work/root/usr/local/rustup/settings.toml"
install -m 755 "$rustup_bin" "$work/root/usr/local/cargo/bin/rustup"
for t in cargo cargo-clippy cargo-fmt clippy-driver rust-gdb rust-gdbgui rust-lldb rustc rustdoc rustfmt; do
    ln -s rustup "$work/root/usr/local/cargo/bin/$t"
done
# The official image lets any user run (and update) the toolchain.
chmod -R a+w "$work/root/usr/local/rustup" "$work/root/usr/local/cargo"
tar -C "$work/root" -cf - . | podman import \
    --change 'ENV RUSTUP_HOME=/usr/local/rustup' \
    --change 'ENV CARGO_HOME=/usr/local/cargo' \
    --change 'ENV PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV RUST_VERSION=$version" \
    --change "LABEL notebook-kit.standin=$want" \
    --change 'CMD ["bash"]' \
    - "$image" >/dev/null
say "$image made in $((SECONDS - start)) s ($(podman image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1 / 1e6}'))"
