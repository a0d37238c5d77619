#!/bin/sh
# test/fuzz/run.sh: `make fuzz` — run every libFuzzer harness for
# FUZZ_SECONDS (default 300) each, one after the other, one process each
# (the machines this runs on are shared: no -jobs/-workers).
#
# Started by make inside test/lab.sh. Each harness starts from the
# committed seeds (test/fuzz/corpus/NAME/, read only) and its own working
# corpus $FUZZ_BUILD/corpus/NAME/ (kept between runs, where new inputs
# go). Crashes are written to $FUZZ_BUILD/artifacts/NAME-*; logs to
# $FUZZ_BUILD/logs/NAME.log. Prints one line per harness with libFuzzer's
# final figures (executions, cov: edges, ft: features, corpus size) and
# exits 1 when any harness found a crash. FUZZ_ONLY="fuzz_cache ..."
# runs only the harnesses named.
#
# To keep a new input as a seed: copy it into test/fuzz/corpus/NAME/ as
# regress-WHAT (mkcorpus.py leaves regress-* files alone).
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 1
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-300}
# One input may not take longer than this (s): a hang is a finding too.
FUZZ_INPUT_TIMEOUT=10
# ASan's quarantine plus the corpus stay well below this (MB).
FUZZ_RSS_MB=2048

mkdir -p "$FUZZ_BUILD/corpus" "$FUZZ_BUILD/artifacts" "$FUZZ_BUILD/logs" || exit 1
failed=0 ran=0
for bin in "$FUZZ_BUILD"/fuzz_*; do
    [ -x "$bin" ] || continue
    name=${bin##*/}
    case " ${FUZZ_ONLY:-$name} " in *" $name "*) ;; *) continue ;; esac
    mkdir -p "$FUZZ_BUILD/corpus/$name"
    log="$FUZZ_BUILD/logs/$name.log"
    ran=$((ran + 1))
    rc=0
    "$bin" -max_total_time="$FUZZ_SECONDS" -timeout="$FUZZ_INPUT_TIMEOUT" -rss_limit_mb="$FUZZ_RSS_MB" \
        -print_final_stats=1 -artifact_prefix="$FUZZ_BUILD/artifacts/$name-" \
        "$FUZZ_BUILD/corpus/$name" "test/fuzz/corpus/$name" >"$log" 2>&1 || rc=$?
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(printf '%s\n' "$last" | sed -n 's/.*\(cov: [0-9]*\).*/\1/p')
    ft=$(printf '%s\n' "$last" | sed -n 's/.*\(ft: [0-9]*\).*/\1/p')
    corp=$(printf '%s\n' "$last" | sed -n 's/.*corp: \([^ ]*\).*/\1/p')
    if [ "$rc" = 0 ]; then
        echo "$name: ${execs:-?} executions in ${FUZZ_SECONDS} s (${speed:-?}/s), $cov, $ft, corpus $corp"
    else
        echo "$name: FAILED (exit $rc) after ${execs:-?} executions; see $log"
        grep -E 'invariant broken|ERROR: |SUMMARY: ' "$log" | head -n 5
        ls "$FUZZ_BUILD/artifacts/$name-"* 2>/dev/null | head -n 5
        failed=$((failed + 1))
    fi
done
[ "$ran" -gt 0 ] || { echo "fuzz: no harness in $FUZZ_BUILD (make fuzz-build)" >&2; exit 1; }
[ "$failed" = 0 ]
