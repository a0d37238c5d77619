#!/bin/sh
# test/test_fuzz.sh: the libFuzzer harnesses (test/fuzz/) inside
# `make check`. For each harness: it builds (make fuzz-build, clang, under
# build-fuzz/), its committed corpus replays without a finding, and (in
# the normal run) FUZZ_CHECK_SECONDS of fresh fuzzing find nothing either.
# A harness that cannot be built is a failure, never a skip: a check that
# silently stopped fuzzing would look the same as one that passed.
#
# Under the sanitizer run (BUILD=build-san) only the replay runs: the fuzz
# build is ASan + UBSan already, so a second timed run would repeat the
# first at twice the cost. Longer runs: `make fuzz` (FUZZ_SECONDS each).
# Ends with "N passed, N failed".
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root" || exit 1
FUZZ_BUILD=build-fuzz
# Seconds of fuzzing per harness in a normal check: long enough to go
# past the seeds, short enough for three harnesses in a check's budget.
FUZZ_CHECK_SECONDS=${FUZZ_CHECK_SECONDS:-10}
FUZZ_INPUT_TIMEOUT=10

passed=0 failed=0
ok() { echo "PASS  $1"; passed=$((passed + 1)); }
ko() { echo "FAIL  $1"; failed=$((failed + 1)); }

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# make's jobserver descriptors of an outer make are not ours.
if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -j2 fuzz-build >"$tmp/build.log" 2>&1; then
    ok "fuzz harnesses build (clang, ASan + UBSan + libFuzzer)"
else
    ko "fuzz harnesses build: make fuzz-build failed"
    tail -n 30 "$tmp/build.log"
fi

n=0
for src in test/fuzz/fuzz_*.c; do
    name=${src##*/}
    name=${name%.c}
    bin=$FUZZ_BUILD/$name
    n=$((n + 1))
    if [ ! -x "$bin" ]; then
        ko "$name: not built"
        continue
    fi
    corpus=test/fuzz/corpus/$name
    if [ ! -d "$corpus" ] || [ -z "$(ls "$corpus")" ]; then
        ko "$name: no seed corpus in $corpus"
        continue
    fi
    # Replay: every seed (and regression input) once.
    if "$bin" -runs=0 -timeout="$FUZZ_INPUT_TIMEOUT" -artifact_prefix="$tmp/$name-" \
        "$corpus" >"$tmp/$name.replay" 2>&1; then
        ok "$name: corpus replays ($(ls "$corpus" | wc -l) inputs)"
    else
        ko "$name: corpus replay found something"
        grep -E 'invariant broken|ERROR: |SUMMARY: |Running: ' "$tmp/$name.replay" | head -n 10
    fi
    case $BUILD in *san*) continue ;; esac
    mkdir -p "$tmp/$name"
    if "$bin" -max_total_time="$FUZZ_CHECK_SECONDS" -timeout="$FUZZ_INPUT_TIMEOUT" -print_final_stats=1 \
        -artifact_prefix="$tmp/$name-" "$tmp/$name" "$corpus" >"$tmp/$name.fuzz" 2>&1; then
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$name.fuzz")
        ok "$name: $FUZZ_CHECK_SECONDS s of fuzzing ($execs executions)"
    else
        ko "$name: fuzzing found something"
        grep -E 'invariant broken|ERROR: |SUMMARY: ' "$tmp/$name.fuzz" | head -n 10
        for a in "$tmp/$name"-*; do
            [ -f "$a" ] && echo "input (base64): $(base64 -w0 "$a")"
        done
    fi
done
[ "$n" -gt 0 ] || ko "no harness in test/fuzz/"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
