#!/usr/bin/env bash
# Hands a lesson notebook out to students now (instead of at their next server start), or
# resets their copy to the original; the student's own version is kept beside it, renamed.
#
#   sudo classroom/handout.sh [--prefix DIR] [--reset] NOTEBOOK [STUDENT ...]
#
# NOTEBOOK is a file in PREFIX/src/notebooks (add new ones to the checkout's notebooks/ and
# re-run classroom/setup.sh); solutions (*-solution.ipynb), which a server start does not hand
# out, are released this way. Without STUDENT: every member of the class group (accounts made
# later need another run). Copies are made as the student, so they own them and nothing
# follows links on root's behalf.
set -euo pipefail
prefix=${NOTEBOOK_KIT_PREFIX:-/opt/notebook-kit}
reset=
die() { printf '[handout] ERROR: %s\n' "$*" >&2; exit 1; }
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) [ $# -ge 2 ] || die "--prefix needs a value"; prefix=$2; shift 2 ;;
        --reset) reset=1; shift ;;
        -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1' "$0"; exit 0 ;;
        -*) die "unknown option '$1'" ;;
        *) break ;;
    esac
done
[ $# -ge 1 ] || die "which notebook? (see --help)"
[ "$(id -u)" = 0 ] || die "run as root (sudo): it writes into the students' homes as them"
nb=${1##*/}
shift
src=$prefix/src/notebooks/$nb
[ -f "$src" ] || die "$src does not exist (notebooks there: $(cd "$prefix/src/notebooks" && echo *.ipynb))"
students=("$@")
if [ ${#students[@]} = 0 ]; then
    group=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["group"])' "$prefix/hub/classroom.json")
    IFS=, read -r -a students <<< "$(getent group "$group" | cut -d: -f4)"
    [ ${#students[@]} -gt 0 ] || die "group $group has no members yet (students get an account at their first login)"
fi
for s in "${students[@]}"; do
    getent passwd "$s" >/dev/null || { echo "$s: no such account, skipped"; continue; }
    runuser -u "$s" -- /bin/sh -s "$src" "$nb" "$reset" <<'AS_STUDENT'
set -eu
umask 077
src=$1 nb=$2 reset=$3
dir=$HOME/rust-lesson/notebooks
mkdir -p "$dir"
if [ -e "$dir/$nb" ]; then
    if [ -z "$reset" ]; then echo "$USER: already has $nb, left alone"; exit 0; fi
    # A name no earlier reset took (two in one second get -2, -3...): the empty file is made
    # with O_EXCL (noclobber), so nothing of the student's is ever overwritten.
    base="$dir/${nb%.ipynb}-before-reset-$(date +%Y%m%d-%H%M%S)"
    kept="$base.ipynb" n=1
    until (set -C; : > "$kept") 2>/dev/null; do
        n=$((n + 1))
        [ "$n" -le 100 ] || { echo "$USER: no free name for the backup of $nb (is $dir writable?)" >&2; exit 1; }
        kept="$base-$n.ipynb"
    done
    mv -f "$dir/$nb" "$kept"
    echo "$USER: own copy kept as ${kept##*/}"
fi
cp "$src" "$dir/$nb"
echo "$USER: $nb handed out"
AS_STUDENT
done
