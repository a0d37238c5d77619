#!/bin/sh
# test/run-all.sh: run every test of a build, each inside its own lab.
#
#   BUILD=build test/run-all.sh        (what `make check-fast` runs)
#   BUILD=build-san test/run-all.sh    (`make check-san`)
#
# Runs every Criterion binary $BUILD/test/test_* (with -j1: tests share
# fixed 127.0.0.x addresses), then every test/test_*.sh script, each in a
# fresh test/lab.sh namespace. Prints each suite's Criterion synthesis line
# (or a script's own "N passed, N failed" line), the full output of
# anything that failed, and finally one plain line "N passed, N failed"
# counting tests across all suites and scripts. Exit 1 when anything
# failed (a suite that dies without a synthesis, a script that exits
# non-zero without saying what failed, counts as one failure).
#
# Exported to tests and scripts:
#   FASTRES_TEST_TOOLS    $BUILD/tools (faultdns and the other helpers)
#   FASTRES_TEST_LIB      $BUILD/libfastres.so
#   FASTRES_TEST_PRELOAD  the LD_PRELOAD value for programs under test:
#                         the library, preceded by libasan for build-san (an
#                         ASan library preloaded into an uninstrumented
#                         program needs the ASan runtime loaded first)
#   FASTRES_TEST_ASAN_OPTIONS  ASAN_OPTIONS for such preloaded children
#                         (empty for normal builds); the Criterion binaries
#                         themselves keep ASan's defaults, leak checks on
# Logs: $BUILD/test-logs/run.XXXXXX/NAME.log, kept only when something failed. Set TESTS="test_lab test_cache.sh" to
# run only some (names without directory).
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root" || exit 1

BUILD=${BUILD:-build}
# One suite may not run longer than this (seconds); ASan builds are slow
# and a hung test must not hang CI.
SUITE_TIMEOUT=${SUITE_TIMEOUT:-900}
# Lines of a failed suite's log shown on the terminal.
FAIL_LOG_LINES=200

export BUILD
export FASTRES_TEST_TOOLS="$root/$BUILD/tools"
export FASTRES_TEST_LIB="$root/$BUILD/libfastres.so"
case $BUILD in
*san*)
    asan=$(${CC:-cc} -print-file-name=libasan.so)
    case $asan in
    /*) ;;
    *) echo "run-all: cannot find libasan.so (${CC:-cc} -print-file-name=libasan.so)" >&2
       echo "0 passed, 1 failed"
       exit 1 ;;
    esac
    export FASTRES_TEST_PRELOAD="$asan:$FASTRES_TEST_LIB"
    # Preloaded children: leaks of the host program are not ours to
    # report, and libasan is not first in their link order.
    export FASTRES_TEST_ASAN_OPTIONS="detect_leaks=0:verify_asan_link_order=0"
    ;;
*)
    export FASTRES_TEST_PRELOAD="$FASTRES_TEST_LIB"
    export FASTRES_TEST_ASAN_OPTIONS=""
    ;;
esac
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1"

# A directory per run: runs by several engineers at once must not write
# each other's logs. Removed when everything passed.
mkdir -p "$root/$BUILD/test-logs" || exit 1
logdir=$(mktemp -d "$root/$BUILD/test-logs/run.XXXXXX") || exit 1

passed=0 failed=0 skipped=0 suites=0

selected() {
    [ -z "${TESTS:-}" ] && return 0
    for t in $TESTS; do
        [ "$t" = "$1" ] && return 0
    done
    return 1
}

# Remove colour escapes so the numbers can be read.
plain() { sed 's/\x1b\[[0-9;]*m//g' "$1"; }

show_log() {
    echo "---- $1 (last $FAIL_LOG_LINES lines of $2) ----"
    plain "$2" | tail -n "$FAIL_LOG_LINES"
    echo "---- end of $1 ----"
}

# Run one suite in its own lab; output to its log. Sets rc.
run_in_lab() {
    log=$1
    shift
    timeout --kill-after=10 "$SUITE_TIMEOUT" "$here/lab.sh" "$@" >"$log" 2>&1 </dev/null
    rc=$?
}

lab_skip() {
    # lab.sh exits 77 when no namespace can be made here.
    if [ "${CI:-}" = true ] || [ "${CI:-}" = 1 ]; then
        echo "FAIL  $1: no lab (network namespace) here, and CI=true"
        failed=$((failed + 1))
    else
        echo "SKIP  $1: no lab (network namespace) here"
        skipped=$((skipped + 1))
    fi
}

found_bins=0
for bin in "$BUILD"/test/test_*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    case $bin in *.*) continue ;; esac     # .d dependency files and the like
    name=${bin##*/}
    selected "$name" || continue
    found_bins=$((found_bins + 1))
    suites=$((suites + 1))
    log="$logdir/$name.log"
    run_in_lab "$log" "$root/$bin" -j1
    if [ "$rc" = 77 ]; then
        lab_skip "$name"
        continue
    fi
    synth=$(plain "$log" | grep 'Synthesis:' | tail -n 1)
    p=$(printf '%s\n' "$synth" | sed -n 's/.*Passing: *\([0-9]*\).*/\1/p')
    f=$(printf '%s\n' "$synth" | sed -n 's/.*Failing: *\([0-9]*\).*/\1/p')
    if [ -z "$p" ] || [ -z "$f" ]; then
        echo "FAIL  $name: no Criterion synthesis (exit $rc)"
        show_log "$name" "$log"
        failed=$((failed + 1))
        continue
    fi
    echo "$name: $(printf '%s\n' "$synth" | sed 's/^\[====\] *//')"
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
        echo "FAIL  $name: exit $rc with no failing test (timeout 124, killed 137?)"
        failed=$((failed + 1))
    fi
    [ "$rc" != 0 ] && show_log "$name" "$log"
done
[ "$found_bins" -gt 0 ] || [ -n "${TESTS:-}" ] ||
    echo "run-all: warning: no test binaries in $BUILD/test (run make first)" >&2

for script in test/test_*.sh; do
    [ -f "$script" ] || continue
    name=${script##*/}
    selected "$name" || continue
    suites=$((suites + 1))
    log="$logdir/$name.log"
    run_in_lab "$log" "$root/$script"
    if [ "$rc" = 77 ]; then
        lab_skip "$name"
        continue
    fi
    last=$(plain "$log" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
    if [ -z "$last" ]; then
        echo "FAIL  $name: no \"N passed, N failed\" line (exit $rc)"
        show_log "$name" "$log"
        failed=$((failed + 1))
        continue
    fi
    p=${last%% passed*}
    f=${last#*, }
    f=${f%% failed}
    echo "$name: $last"
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
        echo "FAIL  $name: exit $rc but reports no failure"
        failed=$((failed + 1))
    fi
    [ "$rc" != 0 ] && show_log "$name" "$log"
done

[ "$skipped" = 0 ] || echo "($skipped suites skipped: no lab here)"
if [ "$failed" = 0 ]; then
    rm -rf "$logdir"
else
    echo "(logs in $logdir)"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$suites" -gt 0 ]
