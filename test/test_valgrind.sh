#!/bin/sh
# test/test_valgrind.sh: frprobe under valgrind with libfastres.so preloaded.
#
# Inside test/lab.sh (make check-fast runs it there): starts a dnsmasq on
# 127.0.0.5, points the lab's /etc/resolv.conf at it, and runs a mix of
# lookups (every entry point, threads, fork, cache on and off) under
#   valgrind --leak-check=full --errors-for-leak-kinds=definite
#            --error-exitcode=99 --track-fds=yes
# A run fails on any valgrind error, any definitely lost block, or a
# descriptor still open at exit beyond stdin/stdout/stderr (frprobe itself
# closes everything it opens, so any other one was left by fastres).
#
# The SAN=1 build (FASTRES_TEST_LIB under build-san) cannot run under
# valgrind (ASan's shadow memory): the script then passes with one line.
# Ends with "N passed, N failed".
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
LIB=${FASTRES_TEST_LIB:-$root/build/libfastres.so}
TOOLS=${FASTRES_TEST_TOOLS:-$root/build/tools}
PROBE=$TOOLS/frprobe
ADDR=127.0.0.5
# dnsmasq must answer within this many tries of 0.1 s.
START_TRIES=50
# One valgrind run may take this long (seconds); valgrind is ~20x slower.
RUN_TIMEOUT=300

passed=0 failed=0
ok() { echo "PASS  $1"; passed=$((passed + 1)); }
bad() { echo "FAIL  $1"; failed=$((failed + 1)); }
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}

case $LIB in
*build-san*)
    ok "skipped: $LIB is the sanitizer build (valgrind cannot run ASan code)"
    finish
    ;;
esac

if [ "${LAB_INSIDE:-}" != 1 ]; then
    if [ "${CI:-}" = true ] || [ "${CI:-}" = 1 ]; then
        bad "not inside test/lab.sh (CI=true)"
    else
        ok "skipped: not inside test/lab.sh (run it as test/lab.sh $0)"
    fi
    finish
fi
command -v valgrind >/dev/null 2>&1 || { bad "valgrind not installed (scripts/deps.sh)"; finish; }
command -v dnsmasq >/dev/null 2>&1 || { bad "dnsmasq not installed (scripts/deps.sh)"; finish; }
[ -x "$PROBE" ] || { bad "no $PROBE (make $PROBE)"; finish; }
[ -f "$LIB" ] || { bad "no $LIB"; finish; }

dir=${LAB_DIR:-/tmp}/valgrind
mkdir -p "$dir"
dnsmasq -k --no-resolv --no-hosts --bind-interfaces --listen-address=$ADDR --port=53 \
    --cache-size=0 --pid-file= --local=/test/ \
    --host-record=foo.test,10.0.0.1,fd00::1 --host-record=v4only.test,10.0.0.2 \
    --host-record=short.lab.test,10.0.0.3 --cname=alias.test,foo.test \
    2>"$dir/dnsmasq.err" &
dpid=$!
trap 'kill $dpid 2>/dev/null; wait $dpid 2>/dev/null' EXIT

printf 'nameserver %s\nsearch lab.test\n' $ADDR >/etc/resolv.conf

printf '127.0.0.1 localhost\n10.9.9.9 shadow.test\n' >/etc/hosts

i=0
until "$PROBE" gai foo.test inet 2>/dev/null | grep -q 'rc=0 '; do
    i=$((i + 1))
    if [ $i -ge $START_TRIES ]; then
        bad "dnsmasq on $ADDR does not answer"
        cat "$dir/dnsmasq.err"
        finish
    fi
    sleep 0.1
done
ok "dnsmasq answers on $ADDR"

# run NAME NFAIL ENV... -- frprobe args: one valgrind run with its
# checks; NFAIL lines of the output are expected to report a failed lookup.
run() {
    name=$1
    nexp=$2
    shift 2
    envs=
    while [ "$1" != -- ]; do
        envs="$envs $1"
        shift
    done
    shift
    log=$dir/$name.vg
    out=$dir/$name.out
    # shellcheck disable=SC2086
    # --run-libc-freeres=no: at exit glibc's freeres frees its table of
    # resolv.conf contexts while fastres's configuration snapshot (alive
    # for the whole process, by design) still holds one through res_ninit,
    # which valgrind then reports as definitely lost although nothing leaked.
    env $envs LD_PRELOAD="$LIB" timeout "$RUN_TIMEOUT" valgrind --quiet --leak-check=full \
        --errors-for-leak-kinds=definite --error-exitcode=99 --track-fds=yes \
        --run-libc-freeres=no \
        --log-file="$log" "$PROBE" "$@" >"$out" 2>"$dir/$name.err" </dev/null
    rc=$?
    if [ $rc -eq 0 ]; then
        ok "$name: valgrind exit 0"
    else
        bad "$name: valgrind exit $rc (99: errors or definite leaks)"
        sed 's/^/      /' "$log" | head -60
    fi
    # --quiet prints nothing unless there is something to report; leak
    # summaries appear only with leaks.
    if grep -q 'are definitely lost\|definitely lost: [1-9]' "$log"; then
        bad "$name: definitely lost blocks"
        grep -A12 'definitely lost in' "$log" | head -40 | sed 's/^/      /'
    else
        ok "$name: no definitely lost block"
    fi
    if grep -Eq 'ERROR SUMMARY: [1-9]|Invalid (read|write)|uninitialised|Conditional jump' "$log"; then
        bad "$name: memory errors"
        head -40 "$log" | sed 's/^/      /'
    else
        ok "$name: no memory error"
    fi
    # --track-fds lists every descriptor open at exit; the three std ones
    # and those inherited from the harness (marked so by valgrind) are not
    # the program's. Any other was opened during the run and left open.
    leftover=$(awk '
        /Open (file descriptor|AF_[A-Z0-9]* socket) [0-9]+/ {
            if (pending != "") print pending
            pending = $0; next
        }
        pending != "" && /<inherited from parent>/ { pending = ""; next }
        pending != "" && /==[0-9]+== *$/ { print pending; pending = ""; next }
        END { if (pending != "") print pending }
    ' "$log" | grep -Ev 'descriptor [012]:' )
    if [ -z "$leftover" ]; then
        ok "$name: no descriptor left open"
    else
        bad "$name: descriptors left open:"
        printf '%s\n' "$leftover" | sed 's/^/      /'
    fi
    # The answers themselves.
    nbad=$(grep -c 'rc=EAI_\|rc=nosym\|ok=0 .*herr=TRY' "$out")
    if [ "$nbad" -eq "$nexp" ] && [ -s "$out" ]; then
        ok "$name: answers right ($(wc -l <"$out") lines)"
    else
        bad "$name: $nbad unexpected failures in the answers"
        sed 's/^/      /' "$out" | head -40
    fi
}

run entry-points 1 FASTRES_STATS=0 -- \
    gai foo.test unspec gai alias.test inet gai short inet gai shadow.test inet \
    gai nx.test unspec \
    ghbn foo.test ghbn2 foo.test inet6 ghbnr foo.test 1024 ghbnr foo.test 8 \
    ghbn2r foo.test inet6 1024 \
    res res_query foo.test - a res __res_query foo.test - aaaa \
    res res_search short - a res __res_nsearch short - a \
    res res_querydomain short lab.test a res __res_nquerydomain short lab.test a \
    res res_query nx.test - a \
    fds foo.test

run threads 0 FASTRES_CACHE_SIZE=0 -- \
    threads 16 foo.test threads 16 v4only.test gai foo.test unspec

run threads-cached 0 -- \
    gai foo.test unspec threads 16 foo.test threads 16 alias.test

run fork-closefrom 0 FASTRES_CACHE_SIZE=0 -- \
    gai foo.test inet fork foo.test closeall foo.test closeall v4only.test ghbn foo.test

# One refreshing lookup and then no other call (issue 9, defect 5): the
# refresh socket outlives the call, and exit must close it (refresh.c's
# destructor); "no descriptor left open" above is the check. A faultdns
# with a 3 s TTL: the second lookup, 2.3 s after the first, falls in the
# refresh window (the last second).
RADDR=127.0.0.6
"$TOOLS/faultdns" --listen $RADDR --mode answer --ttl 3 --record hot.test=A:10.9.0.1 \
    --count-file "$dir/faultdns.count" 2>"$dir/faultdns.err" &
fpid=$!
trap 'kill $dpid $fpid 2>/dev/null; wait $dpid $fpid 2>/dev/null' EXIT
printf 'nameserver %s\n' $RADDR >/etc/resolv.conf
i=0
until "$PROBE" gai hot.test inet 2>/dev/null | grep -q 'rc=0 '; do
    i=$((i + 1))
    [ $i -ge $START_TRIES ] && break
    sleep 0.1
done
run refresh-then-exit 0 FASTRES_STATS=1 -- gai hot.test inet sleep 2300 gai hot.test inet
if grep -q 'refreshes sent 1' "$dir/refresh-then-exit.err"; then
    ok "refresh-then-exit: the refresh was sent"
else
    bad "refresh-then-exit: no refresh sent (the check above proves nothing)"
    sed 's/^/      /' "$dir/refresh-then-exit.err" | head -10
fi
printf 'nameserver %s\nsearch lab.test\n' $ADDR >/etc/resolv.conf

# FASTRES_TRANSPORT=tcp: the connection and the threads' wake-up pipes
# outlive calls; exit must leave none open, and closing every descriptor
# must not trip over them. (No fork here: frprobe's child leaves with
# _exit, which runs no destructor, so its connection is closed by the
# kernel, not by fastres; test_tcp covers fork.)
run tcp 0 FASTRES_TRANSPORT=tcp FASTRES_CACHE_SIZE=0 FASTRES_STATS=1 -- \
    gai foo.test unspec threads 16 foo.test closeall foo.test gai foo.test inet
if grep -q 'tcp: connections opened' "$dir/tcp.err"; then
    ok "tcp: the lookups went over TCP"
else
    bad "tcp: no TCP connection was made (the checks above prove nothing)"
    sed 's/^/      /' "$dir/tcp.err" | head -10
fi

finish
