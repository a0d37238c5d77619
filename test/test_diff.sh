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
# Then the same three runs for the Kubernetes data set (test/diff/k8s/,
# issue 12): a pod's resolv.conf (three servers, search
# ns.svc.cluster.local svc.cluster.local cluster.local, ndots:5) with three
# identical build/tools/faultdns servers on 127.0.0.11-13 that answer
# NXDOMAIN and NODATA with a SOA, as CoreDNS does, and SERVFAIL, REFUSED
# or a late answer for some candidates (k8s/zone); and a few cases (k8s/silent.cases) with
# k8s/resolv-silent.conf, whose third server (127.0.0.14) drops everything
# (and where one candidate gets no answer from any server).
#
# Env: FASTRES_TEST_TOOLS (default $BUILD/tools), FASTRES_TEST_PRELOAD (the
# LD_PRELOAD value; default $PWD/$BUILD/libfastres.so), BUILD (default
# build), LAB_DIR (set by lab.sh). A missing library is a failure, never a
# skip.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lab_env.sh"
DIFF=$here/diff
GAIDIFF=$TOOLS/gaidiff
FAULTDNS=$TOOLS/faultdns
# Per-case deadline for gaidiff. Every server here answers within
# milliseconds and glibc's slowest case takes well under a second (2 s for
# the k8s-silent cases that wait out the silent server's 1 s timeout, run
# twice), so a case still running after this is hung, even on a loaded
# machine.
CASE_TIMEOUT_S=10
# dnsmasq start-up wait: 100 polls of 0.05 s.
START_POLLS=100

fail() { echo "test_diff: FAIL: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

[ -x "$GAIDIFF" ] || fail "$GAIDIFF missing (make $BUILD/tools/gaidiff)"
[ -x "$FAULTDNS" ] || fail "$FAULTDNS missing (make $BUILD/tools/faultdns)"
command -v dnsmasq >/dev/null 2>&1 || fail "dnsmasq not installed (dnsmasq-base; scripts/deps.sh)"

why=$(lab_check_preload) || fail "$why"

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

# diff_set LABEL OUTDIR CASES DEVIATIONS PATTERN...: the plain, forked and
# inproc runs of CASES against the servers and /etc files in place now,
# compared; adds to passed/failed/devs. Each PATTERN must match a line of
# glibc's own output (the lab really serves the zone: otherwise both sides
# could agree on NXDOMAIN everywhere and pass for nothing). When
# $plain_check names a function, it runs after the plain run (with OUTDIR).
passed=0 failed=0 devs=0 plain_check=
diff_set() {
    label=$1 out=$2 cases=$3 devfile=$4
    shift 4
    mkdir -p "$out"
    ncases=$(grep -cvE '^[[:space:]]*(#|$)' "$cases")
    echo "test_diff: $label: $ncases cases, preload: $PRELOAD"

    t0=$(date +%s.%N)
    "$GAIDIFF" -r 2 -t $CASE_TIMEOUT_S -f "$cases" >"$out/plain.out" 2>"$out/plain.err" ||
        fail "$label: gaidiff (plain) exited $?: $(tail -3 "$out/plain.err")"
    t1=$(date +%s.%N)
    with_preload "$GAIDIFF" -r 2 -t $CASE_TIMEOUT_S -f "$cases" \
        >"$out/forked.out" 2>"$out/forked.err" ||
        fail "$label: gaidiff (forked, preload) exited $?: $(tail -3 "$out/forked.err")"
    t2=$(date +%s.%N)

    for want in "$@"; do
        grep -q "^$want" "$out/plain.out" || fail "$label: glibc's own answers are not what the zone says (no line matching: $want); lab broken"
    done
    ! grep -q ' => BADCASE' "$out/plain.out" || fail "$label: gaidiff cannot parse: $(grep -m3 ' => BADCASE' "$out/plain.out")"
    [ -z "$plain_check" ] || "$plain_check" "$out"

    # In one process: every case that neither glibc nor the forked fastres
    # run crashed or hung on (those are already failures above, and one
    # hang would end the in-process run and hide everything after it).
    awk -v f="$out/forked.out" '{
            if ((getline fl < f) <= 0) fl = ""
            if ($0 ~ / => (CRASH|TIMEOUT|EXIT)/ || fl ~ / => (CRASH|TIMEOUT|EXIT)/) next
            sub(/ => .*/, ""); print
        }' "$out/plain.out" >"$out/inproc.cases"
    with_preload "$GAIDIFF" -n -t $CASE_TIMEOUT_S -f "$out/inproc.cases" \
        >"$out/inproc.out" 2>"$out/inproc.err" ||
        echo "test_diff: $label: gaidiff (inproc, preload) exited $? (a crash, or SIGALRM=142 for a hang;" \
            "the last line of inproc.out is the case); $(tail -n 2 "$out/inproc.err")" >&2
    t3=$(date +%s.%N)
    # The plain lines for the same cases.
    awk 'NR == FNR { want[$0] = 1; next } { c = $0; sub(/ => .*/, "", c); if (c in want) print }' \
        "$out/inproc.cases" "$out/plain.out" >"$out/plain-inproc.out"

    for mode in forked inproc; do
        if [ $mode = forked ]; then g=$out/plain.out; else g=$out/plain-inproc.out; fi
        # inproc ran without -r: drop nothing, its lines have no repeat
        # part and plain ones have none unless glibc itself was unstable.
        compare "$label $mode" "$devfile" "$g" "$out/$mode.out" >"$out/cmp-$mode.txt"
        set -- $(tail -n 1 "$out/cmp-$mode.txt")
        sed '$d' "$out/cmp-$mode.txt"
        [ "$4" = 0 ] || fail "$devfile has an entry without a reason"
        echo "test_diff: $label: mode $mode: $(wc -l <"$g") cases compared, $1 same, $2 different ($3 listed deviations)"
        passed=$((passed + $1)); failed=$((failed + $2)); devs=$((devs + $3))
    done
    unstable=$(grep -c 'UNSTABLE(' "$out/plain.out" || true)
    [ "$unstable" = 0 ] || echo "test_diff: $label: note: glibc itself gave different answers on repeat for $unstable cases"
    awk -v l="$label" -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN {
        printf "test_diff: %s: timings: plain %.1fs, forked+preload %.1fs, inproc+preload %.1fs\n", l, b - a, c - b, d - c }'
}

# compare LABEL DEVIATIONS GLIBC FASTRES: one line per case, same order;
# prints failures and "passed failed" counts on the last line.
compare() {
    awk -v mode="$1" -v devfile="$2" -v fastres="$4" '
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
            errf = fastres; sub(/\.out$/, ".err", errf)
            printf "DIFF [%s] the fastres run ended before case %s (crash or hang, see %s); every case from here counts as failed\n", mode, substr(g, 1, index(g, " => ") - 1), errf
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
    }' "$3"
}

diff_set main "$work" "$DIFF/cases" "$DIFF/deviations" \
    'gai a4.lab.test - AF_INET 0 0 0 => rc=0 .*inet 10\.0\.0\.1 ' \
    'gai srch - AF_UNSPEC SOCK_STREAM 0 0 => rc=0 .*inet 10\.0\.2\.1 ' \
    'gai shadowed - AF_UNSPEC SOCK_STREAM 0 0 => rc=0 .*inet 10\.9\.0\.4 ' \
    'gai big.lab.test - AF_INET 0 0 0 => rc=0 .* n=120 ' \
    'rq mx.lab.test IN MX => ret=LEN rcode=NOERROR .*MX 20 mail2\.lab\.test' \
    'gai nope.lab.test - AF_INET 0 0 0 => rc=EAI_NONAME$'

# ---- the Kubernetes data set ----
K8S=$DIFF/k8s
kwork=$work/k8s
mkdir -p "$kwork"
# start_faultdns ADDR MODE [ZONE]: a faultdns on ADDR:53; ZONE lines are
# "OPTION ARGUMENT" (see k8s/zone), passed as --OPTION ARGUMENT.
start_faultdns() {
    a=$1 m=$2 z=${3:-}
    set -- --listen "$a" --mode "$m" --count-file "$kwork/faultdns-$a.count" -v
    if [ -n "$z" ]; then
        while read -r opt arg; do
            case $opt in '' | '#'*) continue ;; esac
            set -- "$@" "--$opt" "$arg"
        done <"$z"
    fi
    "$FAULTDNS" "$@" 2>"$kwork/faultdns-$a.log" &
    pids="$pids $!"
}
for a in 127.0.0.11 127.0.0.12 127.0.0.13; do
    start_faultdns $a answer "$K8S/zone"
done
start_faultdns 127.0.0.14 drop
# faultdns writes its count file once it listens.
for a in 127.0.0.11 127.0.0.12 127.0.0.13 127.0.0.14; do
    i=0
    while [ ! -f "$kwork/faultdns-$a.count" ]; do
        i=$((i + 1))
        [ $i -lt $START_POLLS ] || fail "faultdns on $a did not start: $(tail -3 "$kwork/faultdns-$a.log")"
        sleep 0.05
    done
done
cat "$K8S/resolv.conf" >/etc/resolv.conf
cat "$K8S/hosts" >/etc/hosts
diff_set k8s "$kwork/all" "$K8S/cases" "$K8S/deviations" \
    'gai web - AF_UNSPEC SOCK_STREAM 0 0 => rc=0 .*inet 10\.96\.0\.10 ' \
    'gai db\.other\.svc - AF_INET 0 0 0 => rc=0 .*inet 10\.96\.2\.1 ' \
    'gai www\.example\.test - AF_INET 0 0 0 => rc=0 .*inet 192\.0\.2\.10 ' \
    'gai nd - AF_INET6 SOCK_STREAM 0 0 => rc=0 .*inet6 fd00:96::4:2 ' \
    'gai sf - AF_INET 0 0 0 => rc=0 .*inet 10\.96\.5\.1 ' \
    'rq sf\.svc\.cluster\.local IN A => ret=-1 h_errno=TRY_AGAIN' \
    'rq rf\.svc\.cluster\.local IN A => ret=-1 h_errno=TRY_AGAIN' \
    'gai nx\.example\.test - AF_INET 0 0 0 => rc=EAI_NONAME$'
# glibc asked the silent server (its SERVFAIL and REFUSED walks reach it),
# so it really was in the set.
silent_asked() {
    [ "$(cat "$kwork/faultdns-127.0.0.14.count")" -gt 0 ] ||
        fail "k8s-silent: glibc sent no query to the silent server 127.0.0.14; lab broken"
}
cat "$K8S/resolv-silent.conf" >/etc/resolv.conf
plain_check=silent_asked
diff_set k8s-silent "$kwork/silent" "$K8S/silent.cases" "$K8S/deviations" \
    'gai web - AF_UNSPEC SOCK_STREAM 0 0 => rc=0 .*inet 10\.96\.0\.10 ' \
    'gai sf - AF_UNSPEC SOCK_STREAM 0 0 => rc=0 .*inet 10\.96\.5\.1 ' \
    'gai to - AF_UNSPEC SOCK_STREAM 0 0 => rc=EAI_NONAME$'
plain_check=

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
