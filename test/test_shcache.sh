#!/bin/sh
# test/test_shcache.sh: the shared cache (preload/lookup/shcache*.c) between real
# processes, counted at the upstreams.
#
# Runs inside test/lab.sh (re-executes itself there when started outside).
# Three build/tools/faultdns upstreams on 127.0.0.2-4, each counting the
# queries it receives, answer one dual-stack name. Checks:
#   - 100 short-lived processes resolving that name (AF_UNSPEC) send at
#     most 6 queries upstream in all (the first process asks A and AAAA of
#     all three servers while it knows nothing of them), every answer right;
#     with the shared cache off the same loop sends at least one query per
#     process (the count above can fail)
#   - FASTRES_SHARED_CACHE=0 and FASTRES_CACHE_SIZE=0 create no file
#   - the file is created mode 0600; fastres-stat reads it
#   - a world-writable file is refused with one log line, answers stay right
#   - a file of garbage is replaced, answers stay right
#   - fork: parent and child both answer; no descriptor is left open by
#     the mapping (exec-safe: nothing to inherit)
# Env: FASTRES_TEST_TOOLS, FASTRES_TEST_PRELOAD, BUILD, LAB_DIR (lab.sh).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lab_env.sh"
STAT=$BUILD/fastres-stat
# The issue's target: 100 short-lived processes, at most 6 upstream queries.
PROCS=100
MAX_QUERIES=6
# Processes run with the cache off, to show the count can fail.
OFF_PROCS=10
# Upstream start-up wait: 100 polls of 0.05 s.
START_POLLS=100
NAME=dual.shc.test
A4=10.9.0.1
A6=fd00::91

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok    $*"; }
bad() { failed=$((failed + 1)); echo "FAIL  $*"; }
die() { echo "test_shcache: FAIL: $*" >&2; echo "$passed passed, $((failed + 1)) failed"; exit 1; }
expect() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }

[ -x "$TOOLS/faultdns" ] && [ -x "$TOOLS/frprobe" ] || die "faultdns/frprobe missing in $TOOLS (make)"
[ -x "$STAT" ] || die "$STAT missing (make)"
why=$(lab_check_preload) || die "$why"

W=$LAB_DIR/shcache
mkdir -p "$W"
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || :; done; wait 2>/dev/null || :; }
trap cleanup EXIT
for i in 2 3 4; do
    "$TOOLS/faultdns" --listen 127.0.0.$i --record "$NAME=A:$A4" --record "$NAME=AAAA:$A6" --ttl 300 \
        --count-file "$W/count$i" </dev/null >"$W/faultdns$i.log" 2>&1 &
    PIDS="$PIDS $!"
done
for i in 2 3 4; do
    k=0
    while [ ! -f "$W/count$i" ]; do
        k=$((k + 1))
        [ $k -lt $START_POLLS ] || die "faultdns on 127.0.0.$i did not start"
        sleep 0.05
    done
done
printf 'nameserver 127.0.0.2\nnameserver 127.0.0.3\nnameserver 127.0.0.4\n' >/etc/resolv.conf
queries() { echo $(($(cat "$W/count2") + $(cat "$W/count3") + $(cat "$W/count4"))); }
# One lookup in a new process; prints "ok" when both addresses came back.
probe() {
    out=$(with_preload "$@" "$TOOLS/frprobe" gai $NAME unspec 2>>"$W/stderr") || :
    case $out in
    *"addrs=$A6,$A4 "* | *"addrs=$A4,$A6 "*) echo ok ;;
    *) echo "bad: $out" ;;
    esac
}
# N processes one after another; prints the number of wrong answers.
loop() {
    n=$1
    shift
    i=0 wrong=0
    while [ $i -lt "$n" ]; do
        [ "$(probe "$@")" = ok ] || wrong=$((wrong + 1))
        i=$((i + 1))
    done
    echo $wrong
}

# ---- 100 processes, one name ----
F=$W/cache
export FASTRES_SHARED_CACHE=1 FASTRES_SHARED_CACHE_PATH=$F
q0=$(queries)
wrong=$(loop $PROCS)
q=$(($(queries) - q0))
echo "# $PROCS processes resolving $NAME with the shared cache: $q upstream queries"
expect "$PROCS processes: every answer right ($wrong wrong)" '[ "$wrong" = 0 ]'
expect "$PROCS processes: at most $MAX_QUERIES upstream queries in all ($q)" '[ "$q" -le $MAX_QUERIES ]'
expect "the file is created mode 0600" '[ "$(stat -c %a "$F")" = 600 ]'
"$STAT" -e >"$W/stat.out" 2>&1 || :
sed 's/^/# /' "$W/stat.out"
expect "fastres-stat: two live entries (A and AAAA), hits counted" \
    'grep -q "entries: 2 live" "$W/stat.out" && grep -q "$NAME *AAAA" "$W/stat.out" &&
     [ "$(sed -n "s/.*lookups: \([0-9]*\) hits.*/\1/p" "$W/stat.out")" -ge $((2 * (PROCS - 1))) ]'
# fastres's own counters, summed over every process in the file (the
# processes never printed FASTRES_STATS): the questions that went upstream.
up=$(sed -n "s/.*fastres in all processes: \([0-9]*\) questions asked upstream.*/\1/p" "$W/stat.out")
expect "fastres-stat: questions asked upstream by all processes counted (${up:-none})" \
    '[ -n "$up" ] && [ "$up" -ge 2 ] && [ "$up" -le $MAX_QUERIES ]'

# ---- off ----
rm -f "$F"
q0=$(queries)
wrong=$(FASTRES_SHARED_CACHE=0 loop $OFF_PROCS)
q=$(($(queries) - q0))
echo "# $OFF_PROCS processes with FASTRES_SHARED_CACHE=0: $q upstream queries"
expect "FASTRES_SHARED_CACHE=0: each process asks upstream ($q queries), answers right" \
    '[ "$wrong" = 0 ] && [ "$q" -ge $((2 * OFF_PROCS)) ]'
expect "FASTRES_SHARED_CACHE=0: no file" '[ ! -e "$F" ]'
probe FASTRES_CACHE_SIZE=0 >/dev/null
expect "FASTRES_CACHE_SIZE=0 (every cache off): no file" '[ ! -e "$F" ]'

# ---- refused: world-writable ----
probe >/dev/null
chmod 0666 "$F"
: >"$W/stderr"
q0=$(queries)
res=$(probe)
q=$(($(queries) - q0))
n=$(grep -c "not using the shared cache" "$W/stderr" || :)
expect "world-writable file: refused with one log line ($n), answer right, asked upstream" \
    '[ "$res" = ok ] && [ "$n" = 1 ] && [ "$q" -gt 0 ]'
rm -f "$F"

# ---- garbage ----
head -c 4194304 /dev/urandom >"$F"
chmod 0600 "$F"
: >"$W/stderr"
r1=$(probe)
r2=$(probe)
expect "garbage file: replaced (one log line), answers right" \
    '[ "$r1" = ok ] && [ "$r2" = ok ] && [ "$(grep -c "replacing" "$W/stderr")" = 1 ]'
"$STAT" >"$W/stat.out" 2>&1 || :
expect "garbage file: fastres-stat reads the new file" 'grep -q "entries: 2 live" "$W/stat.out"'

# ---- fork, descriptors ----
out=$(with_preload "$TOOLS/frprobe" fork $NAME 2>>"$W/stderr")
expect "fork: parent and child answer from the shared cache" \
    'echo "$out" | grep -q "parent=[^ ]*$A4" && echo "$out" | grep -q "child=[^ ]*$A4"'
rm -f "$F"
out=$(with_preload "$TOOLS/frprobe" fds $NAME 2>>"$W/stderr")
expect "no descriptor kept by the mapping (exec-safe): $out" \
    '[ -e "$F" ] && [ "$(echo "$out" | sed -n "s/.*before=\([0-9]*\).*/\1/p")" = "$(echo "$out" | sed -n "s/.*after=\([0-9]*\).*/\1/p")" ]'

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
