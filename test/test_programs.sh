#!/bin/sh
# test/test_programs.sh: real programs under fastres give the answers they
# give without it, and stay fast when the first nameserver is dead.
#
# Runs inside test/lab.sh (re-executes itself there when started outside).
# Upstreams: dnsmasq with test/diff/zone.conf on 127.0.0.3 (plus
# web.lab.test -> 127.0.0.10, where a python3 http.server listens), and
# build/tools/faultdns --mode drop on 127.0.0.2 (reachable, never answers).
#
# For each program (getent ahosts/hosts, curl, wget, python3, perl, node,
# java, build/tools/mxquery):
#   1. good server only: output with LD_PRELOAD == output without it
#   2. dead first server (nameserver 127.0.0.2, then 127.0.0.3): output
#      with LD_PRELOAD == the output of 1., and the run takes less than
#      DEAD_BOUND_MS more than the same program doing no lookups
# glibc alone is timed once in the dead-first setup for the report.
#
# A program that is not installed fails the test under CI=true and is
# reported as SKIP otherwise. A missing library always fails.
# Env: FASTRES_TEST_TOOLS, FASTRES_TEST_PRELOAD, BUILD, LAB_DIR (lab.sh).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lab_env.sh"
DIFF=$here/diff
# Extra time a program may take, beyond its own no-lookup start-up, for all
# its lookups with a silent first nameserver. glibc needs >= 5 s per name
# there (its first-server timeout); fastres asks both servers at once while
# it knows nothing of them. Generous for a noisy shared 2-core machine: the
# ASan build of getent once took 1.1 s there while other jobs ran.
DEAD_BOUND_MS=2000
# Upstream and listener start-up wait: 100 polls of 0.05 s.
START_POLLS=100
# Any one program run; glibc in the dead-first setup needs ~5-10 s per name.
RUN_TIMEOUT_S=60
HTTP_ADDR=127.0.0.10
HTTP_PORT=8080
# Names every lookup program resolves: A only, A+AAAA, several addresses, a
# CNAME chain, a search-list name, an /etc/hosts name, NXDOMAIN.
NAMES="a4.lab.test both.lab.test multi.lab.test c1.lab.test srch hostsonly nope.lab.test"
MX_NAMES="mx.lab.test lab.test mx.corp.test nope.lab.test txtonly.lab.test"
PY=/usr/bin/python3
T="timeout $RUN_TIMEOUT_S"

in_ci() { [ "${CI:-}" = true ] || [ "${CI:-}" = 1 ]; }
passed=0 failed=0 skipped=0
ok() { passed=$((passed + 1)); echo "ok    $*"; }
bad() { failed=$((failed + 1)); echo "FAIL  $*"; }
die() { echo "test_programs: FAIL: $*" >&2; echo "$passed passed, $((failed + 1)) failed"; exit 1; }

why=$(lab_check_preload) || die "$why"
for t in faultdns mxquery; do
    [ -x "$TOOLS/$t" ] || die "$TOOLS/$t missing (make $TOOLS/$t)"
done
command -v dnsmasq >/dev/null 2>&1 || die "dnsmasq not installed (scripts/deps.sh)"
[ -x $PY ] || die "$PY not installed (scripts/deps.sh)"

work=${LAB_DIR:?not inside test/lab.sh}/programs
mkdir -p "$work"
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

cat "$DIFF/hosts" >/etc/hosts
good_conf() { printf 'nameserver 127.0.0.3\nsearch corp.test lab.test\n' >/etc/resolv.conf; }
dead_conf() {
    printf 'nameserver 127.0.0.2\nnameserver 127.0.0.3\nsearch corp.test lab.test\n' >/etc/resolv.conf
}
# Before any upstream starts: http.server looks up its own address
# (getfqdn), which must not wait on the silent server.
good_conf

dnsmasq -k --conf-file="$DIFF/zone.conf" --addn-hosts="$DIFF/zone.hosts" \
    --host-record=web.lab.test,$HTTP_ADDR --listen-address=127.0.0.3 --bind-interfaces \
    --port=53 --pid-file= --log-queries --log-facility="$work/dnsmasq.log" &
pids="$pids $!"
"$TOOLS/faultdns" --listen 127.0.0.2 --mode drop --count-file "$work/drop.count" \
    2>"$work/faultdns.log" &
pids="$pids $!"
mkdir -p "$work/www"
echo hello >"$work/www/index.html"
$PY -m http.server $HTTP_PORT --bind $HTTP_ADDR --directory "$work/www" \
    >"$work/http.log" 2>&1 &
pids="$pids $!"
i=0
while :; do
    u=$(ss -Hlun 2>/dev/null | grep -c '127\.0\.0\.3:53 ' || true)
    h=$(ss -Hltn 2>/dev/null | grep -c "$HTTP_ADDR:$HTTP_PORT " || true)
    [ "$u" -ge 1 ] && [ "$h" -ge 1 ] && [ -f "$work/drop.count" ] && break
    i=$((i + 1))
    [ $i -lt $START_POLLS ] || die "upstreams did not start (logs in $work)"
    sleep 0.05
done

export LC_ALL=C.UTF-8
unset LOCALDOMAIN RES_OPTIONS HOSTALIASES LD_PRELOAD

cat >"$work/Lookup.java" <<'EOF'
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

public class Lookup {
    public static void main(String[] args) {
        long t0 = System.nanoTime();
        for (String n : args) {
            try {
                String[] a = Arrays.stream(InetAddress.getAllByName(n))
                        .map(InetAddress::getHostAddress).sorted().toArray(String[]::new);
                System.out.println(n + ": " + String.join(" ", a));
            } catch (UnknownHostException e) {
                System.out.println(n + ": UnknownHostException");
            }
        }
        // The JVM's start-up (and compiling this file) varies by a second
        // or more on a loaded machine: time the lookups from inside.
        System.err.println("lookup_ms=" + (System.nanoTime() - t0) / 1000000);
    }
}
EOF

# ---- programs: each prints normalised answers for the names given; with
# no names it does no lookup (its start-up time). ----
p_getent_ahosts() {
    # The canonical name rides on the first line, whose address depends on
    # the server's order: print it and the first family apart, the
    # addresses as a sorted set.
    for n in "$@"; do
        r=0; out=$($T getent ahosts "$n") || r=$?
        echo "$n: $(echo "$out" | awk 'NR == 1 && NF {
                printf "first=%s canon=%s ", ($1 ~ /:/ ? "inet6" : "inet"), $3 }') $(
            echo "$out" | awk 'NF { print $1, $2 }' | sort | tr '\n' ' ')rc=$r"
    done
}
p_getent_hosts() {
    for n in "$@"; do
        r=0; out=$($T getent hosts "$n") || r=$?
        echo "$n: $(echo "$out" | sort | tr '\n' ' ')rc=$r"
    done
}
p_curl() {
    if [ $# -eq 0 ]; then set -- $HTTP_ADDR; fi
    for n in "$@"; do
        r=0
        out=$($T curl -sS --max-time 30 -o /dev/null -w '%{remote_ip} %{http_code}' \
            "http://$n:$HTTP_PORT/" 2>&1) || r=$?
        echo "$n: $out rc=$r"
    done
}
p_wget() {
    if [ $# -eq 0 ]; then set -- $HTTP_ADDR; fi
    for n in "$@"; do
        r=0
        out=$($T wget --tries=1 --timeout=30 -O /dev/null "http://$n:$HTTP_PORT/" 2>&1) || r=$?
        echo "$n: $(echo "$out" | grep -E '^(Resolving|Connecting|HTTP request sent)' |
            sed 's/\.\.\. *$//' | tr '\n' ' ')rc=$r"
    done
}
p_python() {
    $T $PY - "$@" <<'EOF'
import socket, sys
for n in sys.argv[1:]:
    try:
        ai = sorted({(f.name, sa[0]) for f, t, p, c, sa in
                     socket.getaddrinfo(n, 80, type=socket.SOCK_STREAM)})
    except socket.gaierror as e:
        ai = "gaierror %d" % e.errno
    try:
        h = socket.gethostbyname(n)
        name, aliases, addrs = socket.gethostbyname_ex(n)
        ex = (name, aliases, sorted(addrs))
        # gethostbyname gives the first address: any of the set.
        if h in addrs:
            h = "one of them"
    except socket.gaierror as e:
        h, ex = "gaierror %d" % e.errno, None
    except socket.herror as e:
        h, ex = "herror %d" % e.errno, None
    print("%s: %s | %s | %s" % (n, ai, h, ex))
EOF
}
p_perl() {
    $T perl -MSocket=:addrinfo,SOCK_STREAM -e '
        for my $n (@ARGV) {
            my ($err, @res) = getaddrinfo($n, "80", {socktype => SOCK_STREAM});
            if ($err) { print "$n: err ", $err + 0, "\n"; next }
            my @a;
            for my $r (@res) {
                my ($e, $h) = getnameinfo($r->{addr}, NI_NUMERICHOST, NIx_NOSERV);
                push @a, "$r->{family}/$h";
            }
            print "$n: ", join(" ", sort @a), "\n";
        }' "$@"
}
p_node() {
    $T node -e '
        const dns = require("dns");
        (async () => {
            for (const n of process.argv.slice(1)) {
                try {
                    const r = await dns.promises.lookup(n, { all: true });
                    console.log(n + ": " + r.map(x => x.family + "/" + x.address).sort().join(" "));
                } catch (e) {
                    console.log(n + ": " + e.code);
                }
            }
        })();' "$@"
}
p_java() {
    $T java -Dsun.net.inetaddr.ttl=0 -Dsun.net.inetaddr.negative.ttl=0 "$work/Lookup.java" "$@"
}
p_mxquery() {
    if [ $# -eq 0 ]; then $T "$TOOLS/mxquery"; return; fi
    $T "$TOOLS/mxquery" $MX_NAMES
    $T "$TOOLS/mxquery" -s mx txt nope
}

# program-name  needed-command  names
PROGRAMS="getent_ahosts:getent:L getent_hosts:getent:L curl:curl:W wget:wget:W
python:python3:L perl:perl:L node:node:L java:java:L mxquery:true:M"

# run FUNC PRELOAD-OR-EMPTY OUTFILE NAMES...: prints the run's milliseconds.
# The subshell exports LD_PRELOAD so every program it starts loads the
# library (the shell itself was started without it).
run() {
    f=$1 pre=$2 outf=$3
    shift 3
    t0=$(now_ms)
    (
        if [ -n "$pre" ]; then
            export LD_PRELOAD="$pre"
            if [ -n "${FASTRES_TEST_ASAN_OPTIONS:-}" ]; then
                export ASAN_OPTIONS="$FASTRES_TEST_ASAN_OPTIONS"
            fi
        fi
        "p_$f" "$@"
    ) >"$outf" 2>"$outf.err" || echo "exit=$?" >>"$outf"
    echo $(($(now_ms) - t0))
}

expect_in() { # FILE PATTERN: the plain answers must show the lab works
    grep -q -- "$2" "$1" || bad "$3: glibc's own answer lacks '$2' (lab broken?): $(head -c 300 "$1")"
}

for spec in $PROGRAMS; do
    prog=${spec%%:*}; rest=${spec#*:}; cmd=${rest%%:*}; kind=${rest#*:}
    case $kind in
    L) set -- $NAMES; want=10.0.0.1 ;;
    W) set -- web.lab.test web; want=$HTTP_ADDR ;;
    M) set -- x; want="10 mail1.lab.test" ;;
    esac
    # curl hangs when libasan is preloaded into it, with or without fastres
    # (checked by hand: `LD_PRELOAD=libasan.so curl http://127.0.0.1:1/`
    # never returns), so the sanitizer run cannot say anything about
    # fastres there; the normal build's run checks curl.
    case "$prog:$PRELOAD" in
    curl:*libasan*)
        skipped=$((skipped + 1))
        echo "SKIP  curl: hangs under an ASan preload even without fastres; checked in the normal build"
        continue ;;
    esac
    if ! command -v "$cmd" >/dev/null 2>&1; then
        if in_ci; then bad "$prog: $cmd not installed (CI=true: a missing program is a failure)"
        else skipped=$((skipped + 1)); echo "SKIP  $prog: $cmd not installed"; fi
        continue
    fi
    o=$work/$prog
    good_conf
    tp=$(run "$prog" "" "$o.plain" "$@")
    tf=$(run "$prog" "$PRELOAD" "$o.fastres" "$@")
    expect_in "$o.plain" "$want" "$prog"
    if cmp -s "$o.plain" "$o.fastres"; then
        ok "$prog: same answers as glibc ($(wc -l <"$o.plain") lines; glibc ${tp} ms, fastres ${tf} ms)"
    else
        bad "$prog: answers differ from glibc"
        diff "$o.plain" "$o.fastres" | sed 's/^/      /' | head -20
        sed 's/^/      stderr: /' "$o.fastres.err" | head -5
    fi

    dead_conf
    tb=$(run "$prog" "$PRELOAD" "$o.base" )
    td=$(run "$prog" "$PRELOAD" "$o.dead" "$@")
    extra=$((td - tb))
    how="${td} - ${tb} ms"
    # A program that times its own lookups (java) is judged by that.
    inner=$(sed -n 's/^lookup_ms=\([0-9]*\)$/\1/p' "$o.dead.err" | tail -n 1)
    if [ -n "$inner" ]; then extra=$inner; how="measured inside the program; run ${td} ms"; fi
    if cmp -s "$o.plain" "$o.dead"; then
        ok "$prog: dead first server: same answers"
    else
        bad "$prog: dead first server: answers differ from glibc's with a good server"
        diff "$o.plain" "$o.dead" | sed 's/^/      /' | head -20
    fi
    if [ $extra -lt $DEAD_BOUND_MS ]; then
        ok "$prog: dead first server: lookups took ${extra} ms beyond start-up (${how}; bound ${DEAD_BOUND_MS} ms)"
    else
        bad "$prog: dead first server: lookups took ${extra} ms beyond start-up (${how}; bound ${DEAD_BOUND_MS} ms)"
    fi
done

# glibc alone with the dead first server, once, for the record: one name.
dead_conf
before=$(cat "$work/drop.count")
t0=$(now_ms)
r=0; getent ahosts a4.lab.test >/dev/null || r=$?
tg=$(($(now_ms) - t0))
after=$(cat "$work/drop.count")
echo "info  glibc alone, dead first server: getent ahosts a4.lab.test took ${tg} ms (rc=$r; the silent server got $((after - before)) queries)"
[ "$after" -gt "$before" ] || bad "the silent first server got no query from glibc: the dead-first setup is not what it claims"

[ $skipped -eq 0 ] || echo "test_programs: $skipped program(s) skipped (not installed; a failure under CI=true)"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
