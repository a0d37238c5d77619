#!/bin/sh
# test/test_diff_surface.sh: differential test of the resolver surface
# added for issue 11: reverse lookups (gethostbyaddr, gethostbyaddr_r,
# getnameinfo) and res_send/res_nsend. Every case in
# test/diff/surface/cases runs through glibc alone and through glibc with
# LD_PRELOAD=libfastres.so (build/tools/gaidiff); any difference not
# listed in test/diff/surface/deviations is a failure. Same scheme as
# test_diff.sh (which holds the forward data set), with its own zone:
# two identical dnsmasq instances serve test/diff/surface/zone.conf on
# 127.0.0.2 and 127.0.0.3; its resolv.conf and hosts are written over the
# lab's, and nsswitch.conf says "hosts: files dns". Three runs:
#   plain:   glibc, one child per case, each case twice (-r 2)
#   forked:  with the preload, the same (the second run may be a cache hit)
#   inproc:  with the preload, all cases in one process (-n)
# "forked" and "inproc" are each compared with "plain". Then the same
# three runs of nss-cases for each hosts line in nss-lines (other NSS
# sources: myhostname, and modules that are not installed).
#
# Env: FASTRES_TEST_TOOLS, FASTRES_TEST_PRELOAD, BUILD, LAB_DIR (as
# test_diff.sh).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lab_env.sh"
DIFF=$here/diff/surface
GAIDIFF=$TOOLS/gaidiff
# Per-case deadline: every server answers within milliseconds.
CASE_TIMEOUT_S=10
# dnsmasq start-up wait: 100 polls of 0.05 s.
START_POLLS=100

fail() { echo "test_diff_surface: FAIL: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

[ -x "$GAIDIFF" ] || fail "$GAIDIFF missing (make $BUILD/tools/gaidiff)"
command -v dnsmasq >/dev/null 2>&1 || fail "dnsmasq not installed (dnsmasq-base; scripts/deps.sh)"
why=$(lab_check_preload) || fail "$why"

work=${LAB_DIR:?not inside test/lab.sh}/diff-surface
mkdir -p "$work"
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

for a in 127.0.0.2 127.0.0.3; do
    dnsmasq -k --conf-file="$DIFF/zone.conf" --listen-address=$a --bind-interfaces --port=53 \
        --pid-file= --log-queries --log-facility="$work/dnsmasq-$a.log" &
    pids="$pids $!"
done
i=0
while :; do
    n=$(ss -Hlun 2>/dev/null | grep -cE '127\.0\.0\.[23]:53 ' || true)
    [ "$n" -ge 2 ] && break
    i=$((i + 1))
    [ $i -lt $START_POLLS ] || fail "dnsmasq did not start (see $work/dnsmasq-*.log)"
    sleep 0.05
done

# In place (cat >), not rename: these are bind mounts.
cat "$DIFF/resolv.conf" >/etc/resolv.conf
cat "$DIFF/hosts" >/etc/hosts
printf 'hosts: files dns\n' >/etc/nsswitch.conf ||
    fail "cannot write the lab's /etc/nsswitch.conf (test/lab.sh bind-mounts one)"
export LC_ALL=C.UTF-8
unset LOCALDOMAIN RES_OPTIONS HOSTALIASES LD_PRELOAD

ncases=$(grep -cvE '^[[:space:]]*(#|$)' "$DIFF/cases")
echo "test_diff_surface: $ncases cases, preload: $PRELOAD"
"$GAIDIFF" -r 2 -t $CASE_TIMEOUT_S -f "$DIFF/cases" >"$work/plain.out" 2>"$work/plain.err" ||
    fail "gaidiff (plain) exited $?: $(tail -3 "$work/plain.err")"
with_preload "$GAIDIFF" -r 2 -t $CASE_TIMEOUT_S -f "$DIFF/cases" \
    >"$work/forked.out" 2>"$work/forked.err" ||
    fail "gaidiff (forked, preload) exited $?: $(tail -3 "$work/forked.err")"

# The lab must really serve the zone (else both sides could agree on
# "not found" everywhere), and fastres must really answer (else both
# sides are glibc).
for want in \
    'rsend a4\.lab\.test IN A => ret=LEN id=same rcode=NOERROR ' \
    'ghba 10.0.0.1 AF_INET => ok name=a4\.lab\.test ' \
    'ghba 2001:db8::6 AF_INET6 => ok name=a6\.lab\.test ' \
    'ghba 10.9.0.1 AF_INET => ok name=hostsonly\.lab\.test aliases=\[hostsonly,hoalias\]' \
    'gni 10.0.0.1 80 0 1025 32 => rc=0 host=a4\.lab\.test serv=http '; do
    grep -q "^$want" "$work/plain.out" || fail "glibc's own answers are not what the zone says (no line matching: $want); lab broken"
done
! grep -q ' => BADCASE' "$work/plain.out" || fail "gaidiff cannot parse: $(grep -m3 ' => BADCASE' "$work/plain.out")"

awk '{ sub(/ => .*/, ""); print }' "$work/plain.out" >"$work/inproc.cases"
with_preload env FASTRES_STATS=1 "$GAIDIFF" -n -t $CASE_TIMEOUT_S -f "$work/inproc.cases" \
    >"$work/inproc.out" 2>"$work/inproc.err" ||
    echo "test_diff_surface: gaidiff (inproc, preload) exited $?; $(tail -n 2 "$work/inproc.err")" >&2
raced=$(sed -n 's/.*questions raced \([0-9]*\).*/\1/p' "$work/inproc.err" | head -n 1)
[ "${raced:-0}" -gt 0 ] || fail "fastres raced no question: every case went to libc ($(tail -n 3 "$work/inproc.err"))"

# compare MODE GLIBC FASTRES: same order, one line per case; prints the
# differences and "same different deviations" on its last line.
compare() {
    awk -v mode="$1" -v devfile="$DIFF/deviations" -v fastres="$3" '
    BEGIN {
        nd = 0
        while ((getline l < devfile) > 0) {
            if (l ~ /^[[:space:]]*(#|$)/) continue
            split(l, f, "\t")
            if (f[2] == "") { print "test_diff_surface: deviation without a reason: " l > "/dev/stderr"; exit 2 }
            nd++; dpat[nd] = f[1]; dmode[nd] = f[3]
        }
        pass = 0; failn = 0; dev = 0
    }
    {
        g = $0
        if ((getline fl < fastres) <= 0) { failn++; printf "DIFF [%s] no fastres line for: %s\n", mode, g; next }
        split(g, gp, / => /); c = gp[1]
        if (g == fl) { pass++; next }
        for (k = 1; k <= nd; k++) if (c ~ dpat[k] && (dmode[k] == "" || index(mode, dmode[k]))) break
        if (k <= nd) { pass++; dev++; next }
        failn++
        printf "DIFF [%s] %s\n   glibc:   %s\n   fastres: %s\n", mode, c, g, fl
    }
    END { print pass, failn, dev }' "$2"
}

passed=0 failed=0

# ---- nsswitch lines with other sources (nss-lines x nss-cases) ----
# libnss_myhostname.so.2 comes from the system (scripts/deps.sh installs
# libnss-myhostname) or from FASTRES_TEST_NSS_DIR (a directory holding
# it, put on LD_LIBRARY_PATH for both runs).
nssdir=${FASTRES_TEST_NSS_DIR:-}
if [ -n "$nssdir" ]; then
    [ -f "$nssdir/libnss_myhostname.so.2" ] || fail "FASTRES_TEST_NSS_DIR=$nssdir has no libnss_myhostname.so.2"
    export LD_LIBRARY_PATH="$nssdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
elif ! ls /lib/*/libnss_myhostname.so.2 /usr/lib/*/libnss_myhostname.so.2 >/dev/null 2>&1; then
    fail "libnss_myhostname.so.2 not installed (libnss-myhostname; scripts/deps.sh)"
fi
host=$(hostname)
sed "s/@HOST@/$host/g" "$DIFF/nss-cases" >"$work/nss-cases"
nl=0
grep -vE '^[[:space:]]*(#|$)' "$DIFF/nss-lines" >"$work/nss-lines"
while IFS= read -r line; do
    nl=$((nl + 1))
    printf 'hosts: %s\n' "$line" >/etc/nsswitch.conf
    "$GAIDIFF" -r 2 -t $CASE_TIMEOUT_S -f "$work/nss-cases" >"$work/nss$nl-plain.out" 2>/dev/null ||
        fail "gaidiff (plain, hosts: $line) exited $?"
    with_preload "$GAIDIFF" -r 2 -t $CASE_TIMEOUT_S -f "$work/nss-cases" \
        >"$work/nss$nl-forked.out" 2>/dev/null ||
        fail "gaidiff (forked, hosts: $line) exited $?"
    with_preload env FASTRES_STATS=1 "$GAIDIFF" -n -t $CASE_TIMEOUT_S -f "$work/nss-cases" \
        >"$work/nss$nl-inproc.out" 2>"$work/nss$nl-inproc.err" || true
    raced=$(sed -n 's/.*questions raced \([0-9]*\).*/\1/p' "$work/nss$nl-inproc.err" | head -n 1)
    [ "${raced:-0}" -gt 0 ] || fail "hosts: $line: fastres raced no question (every call went to libc)"
    sed 's/ UNSTABLE(.*//' "$work/nss$nl-plain.out" >"$work/nss$nl-plain-inproc.out"
    for mode in forked inproc; do
        if [ $mode = forked ]; then g=$work/nss$nl-plain.out; else g=$work/nss$nl-plain-inproc.out; fi
        compare "nss$nl-$mode" "$g" "$work/nss$nl-$mode.out" >"$work/cmp-nss$nl-$mode.txt" || fail "compare failed"
        set -- $(tail -n 1 "$work/cmp-nss$nl-$mode.txt")
        sed '$d' "$work/cmp-nss$nl-$mode.txt" | head -n 40
        echo "test_diff_surface: hosts: $line: mode $mode: $1 same, $2 different ($3 listed deviations)"
        passed=$((passed + $1)); failed=$((failed + $2))
    done
done <"$work/nss-lines"
printf 'hosts: files dns\n' >/etc/nsswitch.conf

# ---- NI_NOFQDN with a local domain: "localhost" is localhost.lab.test ----
{ printf '127.0.0.1\tlocalhost.lab.test localhost\n'; grep -v '^127\.0\.0\.1' "$DIFF/hosts"; } >/etc/hosts
printf 'gni %s 80 NI_NOFQDN 1025 32\n' 10.0.0.1 10.0.0.20 10.9.0.1 10.0.0.99 127.0.0.1 2001:db8::6 \
    10.0.0.27 >"$work/nofqdn-cases"
printf 'gni 10.0.0.1 80 NI_NOFQDN|NI_NAMEREQD 3 32\ngni 10.0.0.1 80 NI_NOFQDN 2 32\n' >>"$work/nofqdn-cases"
"$GAIDIFF" -r 2 -t $CASE_TIMEOUT_S -f "$work/nofqdn-cases" >"$work/nofqdn-plain.out" 2>/dev/null ||
    fail "gaidiff (plain, NI_NOFQDN) exited $?"
with_preload "$GAIDIFF" -r 2 -t $CASE_TIMEOUT_S -f "$work/nofqdn-cases" >"$work/nofqdn-forked.out" 2>/dev/null ||
    fail "gaidiff (forked, NI_NOFQDN) exited $?"
grep -q '^gni 10.0.0.1 80 NI_NOFQDN 1025 32 => rc=0 host=a4 ' "$work/nofqdn-plain.out" ||
    fail "glibc did not trim the local domain: $(head -n 1 "$work/nofqdn-plain.out")"
compare nofqdn-forked "$work/nofqdn-plain.out" "$work/nofqdn-forked.out" >"$work/cmp-nofqdn.txt" || fail "compare failed"
set -- $(tail -n 1 "$work/cmp-nofqdn.txt")
sed '$d' "$work/cmp-nofqdn.txt"
echo "test_diff_surface: NI_NOFQDN with a local domain: $1 same, $2 different"
passed=$((passed + $1)); failed=$((failed + $2))
cat "$DIFF/hosts" >/etc/hosts

# A line with myhostname must really have reached it: the host name
# resolves (glibc's own answer), so the module was loaded.
grep -q "^gai $host - AF_UNSPEC SOCK_STREAM 0 0 => rc=0 " "$work/nss1-plain.out" ||
    fail "glibc did not resolve $host with myhostname: module not loaded?"

# glibc's plain lines without the repeat part, for the in-process run.
sed 's/ UNSTABLE(.*//' "$work/plain.out" >"$work/plain-inproc.out"
for mode in forked inproc; do
    if [ $mode = forked ]; then g=$work/plain.out; else g=$work/plain-inproc.out; fi
    compare $mode "$g" "$work/$mode.out" >"$work/cmp-$mode.txt" || fail "compare failed"
    set -- $(tail -n 1 "$work/cmp-$mode.txt")
    sed '$d' "$work/cmp-$mode.txt" | head -n 100
    echo "test_diff_surface: mode $mode: $1 same, $2 different ($3 listed deviations)"
    passed=$((passed + $1)); failed=$((failed + $2))
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
