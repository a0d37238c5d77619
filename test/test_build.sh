#!/bin/sh
# test/test_build.sh: what the Makefile writes where (issue 9, defect 7).
#
# The libfastres.so at the top of the tree is what README's commands
# preload: only the normal build may write it. `make SAN=1` (and
# `make SAN=1 check-fast`, which `make check-san` runs) keeps everything
# under build-san/.
#
# Uses `make -n -B` (print every command, run none), so it builds nothing
# and needs no network. Ends with the line "N passed, N failed" that
# test/run-all.sh reads.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)

passed=0 failed=0
ok() { echo "PASS  $1"; passed=$((passed + 1)); }
bad() { echo "FAIL  $1"; failed=$((failed + 1)); }

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# Commands that write the top-level library: a copy or a link onto it.
writes_top() { grep -E '(^|[ ;])(cp|install|ln|mv)( .*)? (\./)?libfastres\.so *$|-o (\./)?libfastres\.so( |$)' "$1" >/dev/null; }

dry() { # dry OUT ARGS...: the commands `make ARGS` would run
    out=$1
    shift
    # Run by `make check-fast` this inherits the caller's make state
    # (MAKEFLAGS carries SAN=1 under check-san) and run-all.sh's BUILD:
    # start from a clean one.
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u BUILD -u SAN \
        make -n -B -C "$top" --no-print-directory "$@" >"$out" 2>&1
}

# The normal build does write it (so the pattern above can match at all).
if dry "$T/normal" all && writes_top "$T/normal"; then
    ok "make writes the top-level libfastres.so"
else
    bad "make writes the top-level libfastres.so"; sed 's/^/    /' "$T/normal"
fi

for target in all check-fast; do
    if dry "$T/san-$target" SAN=1 "$target" && ! writes_top "$T/san-$target"; then
        ok "make SAN=1 $target leaves the top-level libfastres.so alone"
    else
        bad "make SAN=1 $target leaves the top-level libfastres.so alone"
        grep -n 'libfastres\.so' "$T/san-$target" | sed 's/^/    /'
    fi
    if grep -q 'build-san/libfastres\.so' "$T/san-$target"; then
        ok "make SAN=1 $target builds build-san/libfastres.so"
    else
        bad "make SAN=1 $target builds build-san/libfastres.so"
    fi
done

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
