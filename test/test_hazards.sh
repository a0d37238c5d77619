#!/bin/sh
# test/test_hazards.sh: process hazards through the preload (build/tools/hazard).
#
#   nofile     RLIMIT_NOFILE leaving 0-4 free descriptors: fastres's
#              answers and errors equal glibc's, nothing left open
#   alarm      a 1 ms SIGALRM interval timer without SA_RESTART during
#              lookups from a server answering after 30 ms: answers equal
#              glibc's (no EINTR turned into an error)
#   failsweep  the k-th allocation made by libfastres.so fails, for every k
#              up to the number a cold lookup makes, each in a fresh
#              child: no crash or hang, no descriptor left open, and each
#              of getaddrinfo/gethostbyname/res_query gives the right
#              answer or an error that does not claim the name is missing
#              (HOST_NOT_FOUND, NO_DATA, EAI_NONAME, EAI_NODATA would be
#              wrong answers)
#   refresh    a daemon that closes every descriptor right after a lookup
#              that started a cache refresh, then reuses the numbers for
#              its own UDP socket (a datagram to itself queued), a file and
#              a pipe: after more lookups its data, offsets and flags are
#              intact
#   secure     a setuid-root copy of hazard, linked against the library
#              (ld.so ignores LD_PRELOAD paths in secure execution) and run
#              as nobody: FASTRES_SERVERS pointing to a server that answers
#              differently is ignored; the same binary without the setuid
#              bit follows it (so the library is really in use). Needs real
#              root (a lab in a user namespace has no second user): SKIP
#              otherwise.
#
# A decoy server on 127.0.0.1 (glibc's built-in default nameserver) answers
# h.test differently: a fastres that fell back to the default instead of
# the configured 127.0.0.3 would give its address.
# Runs inside test/lab.sh (re-executes itself there when started outside).
# Env: FASTRES_TEST_TOOLS, FASTRES_TEST_PRELOAD, BUILD, LAB_DIR (lab.sh).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lab_env.sh"
HAZARD=$TOOLS/hazard

HEALTHY=127.0.0.3
SLOW=127.0.0.4
OTHER=127.0.0.5
DECOY=127.0.0.1
# The healthy server's TTL: a hit after REFRESH_WAIT_MS falls in the last
# second of the entry's life, where fastres starts a refresh.
TTL=2
REFRESH_WAIT_MS=1300
SLOW_MS=30
# Upper bound of the failsweep; a cold fastres lookup makes about 120
# allocations today. The sweep ends by itself after the last one.
FAIL_KMAX=3000
# The sweep must have reached at least this many allocations, or the
# interposed malloc did not see fastres's calls and the sweep tested nothing.
FAIL_KMIN=20
# A fastres run may take this much longer than glibc's (loaded machine, ASan).
SLACK_MS=1500
RUN_TIMEOUT_S=120
START_POLLS=200
GOOD="--record h.test=A:10.1.0.1 --record h.test=A:10.1.0.2 --record h.test=AAAA:fd00::1:1"
WANT_GAI="fd00::1:1,10.1.0.1,10.1.0.2"
WANT_V4="10.1.0.1,10.1.0.2"

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok    $*"; }
bad() { failed=$((failed + 1)); echo "FAIL  $*"; }
die() { echo "test_hazards: FAIL: $*" >&2; echo "$passed passed, $((failed + 1)) failed"; exit 1; }

why=$(lab_check_preload) || die "$why"
for t in faultdns hazard; do
    [ -x "$TOOLS/$t" ] || die "$TOOLS/$t missing (make $TOOLS/$t)"
done

work=${LAB_DIR:?not inside test/lab.sh}/hazards
rm -rf "$work"
mkdir -p "$work"
chmod 0755 "$work"
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM
unset LOCALDOMAIN RES_OPTIONS HOSTALIASES LD_PRELOAD
for v in $(env | sed -n 's/^\(FASTRES_[A-Z_]*\)=.*/\1/p'); do
    case $v in FASTRES_TEST_*) ;; *) unset "$v" ;; esac
done

start_server() {
    name=$1
    shift
    "$TOOLS/faultdns" "$@" --count-file "$work/$name.count" 2>"$work/$name.err" &
    pids="$pids $!"
}
start_server healthy --listen $HEALTHY --ttl $TTL $GOOD
start_server slow --listen $SLOW --delay-ms $SLOW_MS $GOOD
start_server other --listen $OTHER --record h.test=A:10.6.6.6 --record h.test=AAAA:fd00::6:6
start_server decoy --listen $DECOY --record h.test=A:10.7.7.7 --record h.test=AAAA:fd00::7:7
i=0
for s in healthy slow other decoy; do
    while [ ! -f "$work/$s.count" ]; do
        i=$((i + 1))
        [ $i -lt $START_POLLS ] || die "faultdns $s did not start: $(cat "$work/$s.err")"
        sleep 0.05
    done
done
printf 'nameserver %s\n' $HEALTHY >/etc/resolv.conf

# run NAME SIDE ARGS...: hazard's output in $work/NAME.SIDE, exit status and
# wall time in $work/NAME.SIDE.st.
run() {
    n=$1 side=$2
    shift 2
    t0=$(now_ms)
    rc=0
    if [ "$side" = fastres ]; then
        timeout $RUN_TIMEOUT_S env ${FASTRES_TEST_ASAN_OPTIONS:+ASAN_OPTIONS=$FASTRES_TEST_ASAN_OPTIONS} \
            LD_PRELOAD="$PRELOAD" "$HAZARD" "$@" >"$work/$n.$side" 2>"$work/$n.$side.err" || rc=$?
    else
        timeout $RUN_TIMEOUT_S "$HAZARD" "$@" >"$work/$n.$side" 2>"$work/$n.$side.err" || rc=$?
    fi
    echo "$rc $(($(now_ms) - t0))" >"$work/$n.$side.st"
}

# exited NAME: the fastres run ended normally, without a sanitizer report.
exited() {
    set -- $(cat "$work/$1.fastres.st") "$1"
    if [ "$1" != 0 ]; then
        bad "$3: fastres run exited $1 (124 = hung): $(head -c 600 "$work/$3.fastres.err")"
        return 1
    fi
    if grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' "$work/$3.fastres.err"; then
        bad "$3: sanitizer report: $(grep -m3 -E 'Sanitizer|runtime error' "$work/$3.fastres.err")"
        return 1
    fi
    return 0
}

# same NAME: fastres's output equals glibc's, line by line.
same() {
    if cmp -s "$work/$1.glibc" "$work/$1.fastres"; then
        ok "$1: fastres's answers equal glibc's"
    else
        bad "$1: fastres differs from glibc:
$(diff "$work/$1.glibc" "$work/$1.fastres" | sed 's/^/      /')"
    fi
}

# ---- nofile ----
for free in 0 1 2 3 4; do
    n=nofile$free
    for side in glibc fastres; do
        run $n $side nofile $free nfd look h.test look nope.test nfd
    done
    exited $n && same $n
done

# ---- alarm ----
printf 'nameserver %s\n' $SLOW >/etc/resolv.conf
for side in glibc fastres; do
    run alarm $side alarm 1000 look h.test look nope.test noalarm
done
printf 'nameserver %s\n' $HEALTHY >/etc/resolv.conf
if exited alarm; then
    same alarm
    if grep -q 'signals=some' "$work/alarm.fastres"; then ok "alarm: signals were delivered during the lookups"
    else bad "alarm: no SIGALRM arrived during the lookups (nothing was tested)"; fi
    set -- $(cat "$work/alarm.glibc.st") $(cat "$work/alarm.fastres.st")
    if [ "$4" -le $(($2 + SLACK_MS)) ]; then ok "alarm: fastres $4 ms, glibc $2 ms"
    else bad "alarm: fastres took $4 ms, glibc $2 ms"; fi
fi

# ---- failsweep ----
run failsweep fastres failsweep h.test $FAIL_KMAX
if exited failsweep; then
    ks=$(sed -n 's/^op=failsweep ks=\([0-9]*\).*/\1/p' "$work/failsweep.fastres")
    if [ -n "$ks" ] && [ "$ks" -gt $FAIL_KMIN ]; then
        ok "failsweep: $((ks - 1)) allocations of fastres failed one at a time"
    else
        bad "failsweep: the sweep ended at k=${ks:-?} (at least $FAIL_KMIN fastres allocations expected; is malloc interposed?): $(head -3 "$work/failsweep.fastres")"
    fi
    errs=""
    while IFS= read -r line; do
        case $line in op=fail\ *) ;; *) continue ;; esac
        k=$(printf '%s\n' "$line" | sed 's/^op=fail k=\([0-9]*\).*/\1/')
        why=""
        case $line in *crash=*) why="crashed or hung (signal ${line##*crash=})" ;; esac
        case $line in *exit=*) why="exited ${line##*exit=}" ;; esac
        if [ -z "$why" ]; then
            fds=$(printf '%s\n' "$line" | sed 's/.* fds=\([0-9]*\/[0-9]*\).*/\1/')
            [ "${fds%/*}" = "${fds#*/}" ] || why="descriptors $fds"
            gai=$(printf '%s\n' "$line" | sed 's/.* gai=\[\([^]]*\)\].*/\1/')
            ghbn=$(printf '%s\n' "$line" | sed 's/.* ghbn=\[\([^]]*\)\].*/\1/')
            res=$(printf '%s\n' "$line" | sed 's/.* res=\[\([^]]*\)\].*/\1/')
            case $gai in
            "rc=0 addrs=$WANT_GAI") ;;
            rc=EAI_NONAME* | rc=EAI_NODATA* | rc=0*) why="$why getaddrinfo: $gai" ;;
            esac
            case $ghbn in
            "ok=1 addrs=$WANT_V4 herr=0") ;;
            ok=1* | *herr=HOST_NOT_FOUND | *herr=NO_DATA) why="$why gethostbyname: $ghbn" ;;
            esac
            case $res in
            "rc=56 addrs=$WANT_V4 herr=0") ;;
            rc=-1*herr=HOST_NOT_FOUND | rc=-1*herr=NO_DATA | rc=[0-9]*) why="$why res_query: $res" ;;
            esac
        fi
        if [ -z "$why" ]; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            errs="$errs
      k=$k:$why"
        fi
    done <"$work/failsweep.fastres"
    if [ -n "$errs" ]; then
        echo "FAIL  failsweep: wrong answers, crashes or leaks when fastres's k-th allocation fails (HAZARD_TRACE=1 shows where):$errs"
    else
        echo "ok    failsweep: every k gave the right answer or an error, no crash, no leak"
    fi
fi

# ---- refresh, then the daemon closes everything ----
for side in glibc fastres; do
    run refresh $side refresh h.test $REFRESH_WAIT_MS
done
if exited refresh; then
    if grep -q '^op=refresh .*sockets=[1-9]' "$work/refresh.fastres"; then
        ok "refresh: the hit in the entry's last second left refresh sockets open"
    else
        bad "refresh: no refresh socket was open after the hit (nothing to close): $(grep '^op=refresh' "$work/refresh.fastres")"
    fi
    if grep -q '^op=reuse .*udp=ok file=ok pipe=ok flags=ok' "$work/refresh.fastres"; then
        ok "refresh: the program's own socket, file and pipe on the old numbers are intact"
    else
        bad "refresh: $(grep '^op=reuse' "$work/refresh.fastres")"
    fi
    grep -v '^op=refresh ' "$work/refresh.glibc" >"$work/refresh-answers.glibc"
    grep -v '^op=refresh ' "$work/refresh.fastres" >"$work/refresh-answers.fastres"
    same refresh-answers
fi

# ---- secure execution ----
if [ "$(id -u)" != 0 ] || ! setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
    echo "SKIP  secure: needs root and a second user (setpriv to uid 65534)"
else
    sec=$work/secure
    mkdir -p "$sec"
    chmod 0755 "$sec"
    lib=""
    for w in $(echo "$PRELOAD" | tr ':' ' '); do
        case $w in *libfastres*.so*) lib=$w ;; esac
    done
    cp "$lib" "$sec/libfastres.so"
    sanflags=""
    case $PRELOAD in *libasan*) sanflags="-fsanitize=address,undefined" ;; esac
    # Linked by absolute path (the library has no SONAME), before libc.
    if ! ${CC:-cc} -std=gnu11 -D_GNU_SOURCE $sanflags -o "$sec/hazard" "$root/test/tools/hazard.c" \
        "$sec/libfastres.so" -ldl -lresolv -lpthread 2>"$sec/cc.err"; then
        bad "secure: cannot build the linked hazard: $(head -5 "$sec/cc.err")"
    else
        chown root:root "$sec/hazard" "$sec/libfastres.so"
        chmod 0755 "$sec/hazard"
        aso=${FASTRES_TEST_ASAN_OPTIONS:+ASAN_OPTIONS=$FASTRES_TEST_ASAN_OPTIONS}
        # Control: not secure, the variable is followed.
        env $aso FASTRES_SERVERS=$OTHER "$sec/hazard" where look h.test >"$sec/plain.out" 2>"$sec/plain.err" || true
        if grep -q 'loaded=1 secure=0 ' "$sec/plain.out" &&
            grep -q '^op=gai .*addrs=fd00::6:6,10.6.6.6' "$sec/plain.out"; then
            ok "secure: without setuid the linked library follows FASTRES_SERVERS"
        else
            bad "secure: control run without setuid did not use FASTRES_SERVERS: $(tr '\n' ' ' <"$sec/plain.out") $(head -c 300 "$sec/plain.err")"
        fi
        chmod 4755 "$sec/hazard"
        env $aso FASTRES_SERVERS=$OTHER setpriv --reuid=65534 --regid=65534 --clear-groups \
            "$sec/hazard" where look h.test >"$sec/setuid.out" 2>"$sec/setuid.err" || true
        if grep -q 'loaded=1 secure=0 ' "$sec/setuid.out"; then
            echo "SKIP  secure: the setuid bit had no effect here (a nosuid mount under $sec?)"
        elif grep -q 'loaded=1 secure=1 ' "$sec/setuid.out" &&
            grep -q "^op=gai .*rc=0 addrs=$WANT_GAI\$" "$sec/setuid.out" &&
            grep -q "^op=ghbn .*ok=1 addrs=$WANT_V4 " "$sec/setuid.out" &&
            grep -q "^op=res .*rc=56 addrs=$WANT_V4 " "$sec/setuid.out"; then
            ok "secure: the setuid program ignores FASTRES_SERVERS and answers from resolv.conf"
        else
            bad "secure: setuid run: $(tr '\n' ' ' <"$sec/setuid.out") $(head -c 300 "$sec/setuid.err")"
        fi
    fi
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
