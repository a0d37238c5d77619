#!/bin/sh
# test/test_diff.sh: differential test. Every case in test/diff/cases runs
# through glibc alone and through glibc with LD_PRELOAD=libfastres.so; any
# difference not listed in test/diff/deviations is a failure.
#
# Runs inside test/lab.sh (re-executes itself there when started outside).
# Two identical dnsmasq instances serve test/diff/zone.conf on 127.0.0.2
# and 127.0.0.3; test/diff/resolv.conf and test/diff/hosts are written over
# the lab's /etc files. Three runs of build/tools/gaidiff:
#   plain:   glibc, one child per case, each case twice (-r 2)
#   forked:  with the preload, same (the second run of a case may be a
#            cache hit and must equal the first)
#   inproc:  with the preload, all cases in one process (-n) so later
#            cases meet what earlier ones left in the cache; cases that
#            crash glibc itself are left out of this run
# "forked" and "inproc" are each compared with "plain".
#
# Env: FASTRES_TEST_TOOLS (default $BUILD/tools), FASTRES_TEST_PRELOAD (the
# LD_PRELOAD value; default $PWD/$BUILD/libfastres.so), BUILD (default
# build), LAB_DIR (set by lab.sh). A missing library is a failure, never a
# skip.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
if [ "${LAB_INSIDE:-}" != 1 ]; then
    exec "$here/lab.sh" "$here/test_diff.sh" "$@"
fi

BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$root/$BUILD ;; esac
TOOLS=${FASTRES_TEST_TOOLS:-$BUILD/tools}
case $TOOLS in /*) ;; *) TOOLS=$root/$TOOLS ;; esac
PRELOAD=${FASTRES_TEST_PRELOAD:-$BUILD/libfastres.so}
# Run a command with the library preloaded, plus the ASan options run-all.sh
# gives for sanitizer builds (an ASan library in an uninstrumented program).
with_preload() {
    env ${FASTRES_TEST_ASAN_OPTIONS:+ASAN_OPTIONS=$FASTRES_TEST_ASAN_OPTIONS} LD_PRELOAD="$PRELOAD" "$@"
}
DIFF=$here/diff
GAIDIFF=$TOOLS/gaidiff
# Per-case deadline for gaidiff. Every server here answers within
# milliseconds and glibc's slowest case takes well under a second, so a
# case still running after this is hung, even on a loaded machine.
CASE_TIMEOUT_S=10
# dnsmasq start-up wait: 100 polls of 0.05 s.
START_POLLS=100

fail() { echo "test_diff: FAIL: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

[ -x "$GAIDIFF" ] || fail "$GAIDIFF missing (make $BUILD/tools/gaidiff)"
command -v dnsmasq >/dev/null 2>&1 || fail "dnsmasq not installed (dnsmasq-base; scripts/deps.sh)"

# The library must exist and really be loaded: ld.so only warns when an
# LD_PRELOAD entry cannot be loaded and runs the program without it.
found=0
# LD_PRELOAD separates entries with spaces or colons (run-all.sh uses
# "libasan.so:libfastres.so" for sanitizer builds).
for w in $(echo "$PRELOAD" | tr ':' ' '); do
    case $w in
    */*) [ -f "$w" ] || fail "LD_PRELOAD entry $w does not exist (run make)" ;;
    esac
    case $w in *libfastres*.so*) found=1 ;; esac
done
[ "$found" = 1 ] || fail "FASTRES_TEST_PRELOAD='$PRELOAD' names no libfastres.so"
with_preload grep -q libfastres /proc/self/maps 2>/dev/null ||
    fail "LD_PRELOAD='$PRELOAD' does not load libfastres into a program"

work=${LAB_DIR:?not inside test/lab.sh}/diff
mkdir -p "$work"
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

for a in 127.0.0.2 127.0.0.3; do
    dnsmasq -k --conf-file="$DIFF/zone.conf" --addn-hosts="$DIFF/zone.hosts" \
        --listen-address=$a --bind-interfaces --port=53 --pid-file= \
        --log-queries --log-facility="$work/dnsmasq-$a.log" &
    pids="$pids $!"
done
i=0
while :; do
    n=$(ss -Hlun 2>/dev/null | grep -cE '127\.0\.0\.[23]:53 ' || true)
    t=$(ss -Hltn 2>/dev/null | grep -cE '127\.0\.0\.[23]:53 ' || true)
    [ "$n" -ge 2 ] && [ "$t" -ge 2 ] && break
    i=$((i + 1))
    [ $i -lt $START_POLLS ] || fail "dnsmasq did not start (see $work/dnsmasq-*.log)"
    sleep 0.05
done

# In place (cat >), not rename: these are bind mounts.
cat "$DIFF/resolv.conf" >/etc/resolv.conf
cat "$DIFF/hosts" >/etc/hosts

# AI_IDN converts from the locale's charset; use one every machine has.
export LC_ALL=C.UTF-8
unset LOCALDOMAIN RES_OPTIONS HOSTALIASES LD_PRELOAD

ncases=$(grep -cvE '^[[:space:]]*(#|$)' "$DIFF/cases")
echo "test_diff: $ncases cases, preload: $PRELOAD"

t0=$(date +%s.%N)
"$GAIDIFF" -r 2 -t $CASE_TIMEOUT_S -f "$DIFF/cases" >"$work/plain.out" 2>"$work/plain.err" ||
    fail "gaidiff (plain) exited $?: $(tail -3 "$work/plain.err")"
t1=$(date +%s.%N)
with_preload "$GAIDIFF" -r 2 -t $CASE_TIMEOUT_S -f "$DIFF/cases" \
    >"$work/forked.out" 2>"$work/forked.err" ||
    fail "gaidiff (forked, preload) exited $?: $(tail -3 "$work/forked.err")"
t2=$(date +%s.%N)

# The lab must really serve the zone, or both sides could agree on
# NXDOMAIN everywhere and pass for nothing.
for want in \
    'gai a4.lab.test - AF_INET 0 0 0 => rc=0 .*inet 10\.0\.0\.1 ' \
    'gai srch - AF_UNSPEC SOCK_STREAM 0 0 => rc=0 .*inet 10\.0\.2\.1 ' \
    'gai shadowed - AF_UNSPEC SOCK_STREAM 0 0 => rc=0 .*inet 10\.9\.0\.4 ' \
    'gai big.lab.test - AF_INET 0 0 0 => rc=0 .* n=120 ' \
    'rq mx.lab.test IN MX => ret=LEN rcode=NOERROR .*MX 20 mail2\.lab\.test' \
    'gai nope.lab.test - AF_INET 0 0 0 => rc=EAI_NONAME$'; do
    grep -q "^$want" "$work/plain.out" || fail "glibc's own answers are not what the zone says (no line matching: $want); lab broken"
done
! grep -q ' => BADCASE' "$work/plain.out" || fail "gaidiff cannot parse: $(grep -m3 ' => BADCASE' "$work/plain.out")"

# In one process: every case that neither glibc nor the forked fastres run
# crashed or hung on (those are already failures above, and one hang would
# end the in-process run and hide everything after it).
awk -v f="$work/forked.out" '{
        if ((getline fl < f) <= 0) fl = ""
        if ($0 ~ / => (CRASH|TIMEOUT|EXIT)/ || fl ~ / => (CRASH|TIMEOUT|EXIT)/) next
        sub(/ => .*/, ""); print
    }' "$work/plain.out" >"$work/inproc.cases"
with_preload "$GAIDIFF" -n -t $CASE_TIMEOUT_S -f "$work/inproc.cases" \
    >"$work/inproc.out" 2>"$work/inproc.err" ||
    echo "test_diff: gaidiff (inproc, preload) exited $? (a crash, or SIGALRM=142 for a hang;" \
        "the last line of inproc.out is the case); $(tail -n 2 "$work/inproc.err")" >&2
t3=$(date +%s.%N)
# The plain lines for the same cases.
awk 'NR == FNR { want[$0] = 1; next } { c = $0; sub(/ => .*/, "", c); if (c in want) print }' \
    "$work/inproc.cases" "$work/plain.out" >"$work/plain-inproc.out"

# compare NAME GLIBC FASTRES: one line per case, same order; prints
# failures and "passed failed" counts on the last line.
compare() {
    awk -v mode="$1" -v devfile="$DIFF/deviations" -v fastres="$3" '
    BEGIN {
        nd = 0
        while ((getline l < devfile) > 0) {
            if (l ~ /^[[:space:]]*(#|$)/) continue
            split(l, f, "\t")
            if (f[2] == "") { print "test_diff: deviation without a reason: " l > "/dev/stderr"; bad = 1 }
            nd++; dpat[nd] = f[1]; dwhy[nd] = f[2]
        }
        close(devfile)
        pass = 0; failn = 0; dev = 0
    }
    {
        g = $0
        if (ended) { failn++; next }
        if ((getline fl < fastres) <= 0) {
            ended = 1; failn++
            printf "DIFF [%s] the fastres run ended before case %s (crash or hang, see %s.err); every case from here counts as failed\n", mode, substr(g, 1, index(g, " => ") - 1), mode
            next
        }
        split(g, gp, / => /); c = gp[1]
        if (g == fl) { pass++; next }
        for (k = 1; k <= nd; k++) if (c ~ dpat[k]) break
        if (k <= nd) { pass++; dev++; next }
        failn++
        if (failn <= 200) {
            fr = (index(fl, c " => ") == 1) ? substr(fl, length(c) + 5) : fl
            printf "DIFF [%s] %s\n   glibc:   %s\n   fastres: %s\n", mode, c, substr(g, length(c) + 5), fr
        }
    }
    END {
        while ((getline fl < fastres) > 0) { failn++; print "EXTRA [" mode "] " fl }
        if (failn > 200) print "... " failn - 200 " more differences in mode " mode
        print pass, failn, dev, (bad ? 1 : 0)
    }' "$2"
}

passed=0 failed=0 devs=0
for mode in forked inproc; do
    if [ $mode = forked ]; then g=$work/plain.out; else g=$work/plain-inproc.out; fi
    # inproc ran without -r: drop nothing, its lines have no repeat part
    # and plain ones have none unless glibc itself was unstable.
    compare $mode "$g" "$work/$mode.out" >"$work/cmp-$mode.txt"
    set -- $(tail -n 1 "$work/cmp-$mode.txt")
    sed '$d' "$work/cmp-$mode.txt"
    [ "$4" = 0 ] || fail "test/diff/deviations has an entry without a reason"
    echo "test_diff: mode $mode: $(wc -l <"$g") cases compared, $1 same, $2 different ($3 listed deviations)"
    passed=$((passed + $1)); failed=$((failed + $2)); devs=$((devs + $3))
done
unstable=$(grep -c 'UNSTABLE(' "$work/plain.out" || true)
[ "$unstable" = 0 ] || echo "test_diff: note: glibc itself gave different answers on repeat for $unstable cases"
awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN {
    printf "test_diff: timings: plain %.1fs, forked+preload %.1fs, inproc+preload %.1fs\n", b - a, c - b, d - c }'
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
