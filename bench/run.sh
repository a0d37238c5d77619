#!/bin/sh
# bench/run.sh: fastres against what a user would pick instead (glibc alone,
# with rotate, with nscd; dnsmasq --all-servers; unbound as a local
# forwarding cache; musl's racing stub), scenario by scenario. Run by
# `make bench` (or `make bench QUICK=1`) inside test/lab.sh; re-executes
# itself there when started outside.
#
# Topology (all on lo inside the lab's private namespace):
#   127.0.0.12        the live upstream: a real dnsmasq answering the bench
#                     names and every name under them (--address, TTL
#                     BENCH_TTL) and NXDOMAIN for cluster.local
#                     (--local=/cluster.local/)
#   127.0.0.2, .3, .4 the three nameservers: build/tools/faultdns in forward
#                     mode in front of 127.0.0.12; a scenario's fault is set
#                     on them (drop, servfail, --delay-ms, --drop-pct). The
#                     queries sent to each (whoever sends them, whether a
#                     server listens there or not) are counted by an nft
#                     counter on the output hook.
#   127.0.0.10        dnsmasq --all-servers (contenders dnsmasq-*), the
#                     only nameserver of glibc, forwarding to .2, .3, .4
#   127.0.0.11        unbound (contender unbound), the only nameserver of
#                     glibc, forwarding to .2, .3, .4
#   127.0.0.13        the cluster DNS of scenarios 10-12 (what the three
#                     nameservers relay to there): unbound serving
#                     cluster.local from a zone file (auth-zone: a SOA on
#                     every negative answer, as CoreDNS; every one-label
#                     name under ns.svc.cluster.local exists, A only) and
#                     forwarding every other name to 127.0.0.12
#   /var/run/nscd     a private tmpfs (the lab's mount namespace) holding
#                     the socket of the nscd the glibc-nscd cells start
# The three nameservers and the contender's daemon are started afresh for
# every cell (scenario x contender x threads): counts start at 0, seeded
# drops repeat exactly, caches start cold.
#
# Contenders: glibc (resolv.conf as is), glibc-rotate (options rotate
# timeout:1 attempts:1), glibc-nscd (glibc -> nscd, hosts cache on, nscd
# asking the three nameservers through its own glibc), dnsmasq-nocache /
# dnsmasq-cache (glibc -> dnsmasq --all-servers with --cache-size=0 /
# BENCH_DNSMASQ_CACHE), unbound (glibc -> unbound forwarding to the three,
# its cache on as installed), musl (build/bench/lookup-musl: musl's stub,
# racing every nameserver), fastres-nocache (LD_PRELOAD=libfastres.so,
# FASTRES_CACHE_SIZE=0, the default FASTRES_MODE: hedge), fastres-race (the
# same with FASTRES_MODE=race: every nameserver at once, always),
# fastres-cache (the default settings). Queries counted are always those
# the three nameservers receive, whoever sends them (nscd, dnsmasq,
# unbound). Scenarios 10-12 (issue 12) add fastres-seq (fastres-nocache
# with FASTRES_PARALLEL_SEARCH=0: the search list one candidate after
# another); scenarios 13-14 (issue 13) run glibc, glibc-usevc (options
# use-vc: every question over TCP), fastres-nocache (UDP, hedged) and
# fastres-tcp (fastres-nocache with FASTRES_TRANSPORT=tcp), from 1 and 8
# threads, and count TCP connections (SYNs) and UDP datagrams sent to
# each nameserver's port 53 (nft).
#
# Each cell runs bench/lookup (build/bench/lookup, or lookup-musl): COUNT
# getaddrinfo() lookups bounded by a wall-time cap; raw latencies go to
# build/bench/raw. Scenarios 1-7 ask a new name every lookup (lookup -u:
# c<cell>-<i>.hNN.bench.test, which the upstream answers like hNN), so that
# no cache answers them: what is measured is the way to the nameservers;
# scenario 8 asks one name over and over (cache hits). Scenario 9 runs one
# lookup per process (a fresh process every time, nothing learnt).
# Scenarios 10-12: a Kubernetes pod's resolv.conf (search
# ns.svc.cluster.local svc.cluster.local cluster.local, ndots:5) in front
# of a cluster DNS whose negative answers carry a SOA: 10 an outside name
# new every lookup, 11 a one-label name new every lookup that exists in
# the first search domain, 12 one outside name asked over and over
# (within its TTL). Scenarios 13-14: TCP against UDP, 13 healthy, 14 with
# LOSS_PCT% of the DNS packets to and from the three nameservers lost
# (tc netem on lo when the kernel has it, else nft numgen drops; neither:
# a SKIP line and no scenario 14).
# Output: bench/results.md (also printed), bench/results.csv,
# bench/cdf-sN*.png. Env: QUICK=1 (smoke run, about two minutes), BUILD,
# BENCH_FAMILY=unspec|inet, BENCH_ONLY="1 5" (only these scenarios),
# BENCH_NAMES=unique|rotate (rotate: scenarios 1-7, 10, 13 and 14 cycle
# through the 16 names instead, as before issue 10; scenario 11's names are
# always new). With QUICK or BENCH_ONLY the results
# go to build/bench instead of bench/.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
if [ "${LAB_INSIDE:-}" != 1 ]; then
    exec "$root/test/lab.sh" "$here/run.sh" "$@"
fi

BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$root/$BUILD ;; esac
TOOLS=$BUILD/tools
LIB=$BUILD/libfastres.so
LOOKUP=$BUILD/bench/lookup
LOOKUP_MUSL=$BUILD/bench/lookup-musl
RAW=$BUILD/bench/raw
QUICK=${QUICK:-}
FAMILY=${BENCH_FAMILY:-unspec}
ONLY=${BENCH_ONLY:-}
NAMING=${BENCH_NAMES:-unique}

# Lookups per cell and the wall-time cap per cell (seconds). glibc needs
# 5 s per lookup behind a silent first nameserver, and 200 ms per lookup
# behind a slow one (glibc-nscd too: every name is new): those cells end
# at the cap; the full run's capped cells (ten or so of 20 s, eight of
# scenario 14's 10 s) plus the rest took 9 minutes (546 s) on the 2-core
# VM, the QUICK run 98 s.
# FRESH_COUNT: scenario 9's processes (one lookup each) per cell, capped
# like the others.
if [ "$QUICK" = 1 ]; then
    COUNT=200
    CAP_S=2
    HIT_COUNT=20000
    HIT_CAP_S=1
    FRESH_COUNT=30
    TCP_COUNT=200
    K8S_COUNT=200
    LOSS_CAP_S=2
else
    COUNT=2000
    CAP_S=20
    HIT_COUNT=200000
    HIT_CAP_S=3
    FRESH_COUNT=100
    TCP_COUNT=1000
    K8S_COUNT=1000
    LOSS_CAP_S=10
fi
# TTL of the bench names: longer than any cell, so cache-on contenders
# keep every positive answer for the whole cell.
BENCH_TTL=300
# dnsmasq's cache when on: room for every name, as fastres's default 1024.
BENCH_DNSMASQ_CACHE=1000
# Scenario 6: the loss every nameserver applies, and the seeds (one per
# nameserver; fixed so that runs repeat). faultdns seeds erand48 with the
# seed in the high state bits: seeds in arithmetic progression (11 12 13)
# give streams where all three drop the same query 5x more often than
# independent 10% losses would (0.5% instead of 0.1%, checked over 10^5
# draws); these (multiples of the golden ratio) stay at 0.1%.
LOSS_PCT=10
LOSS_SEEDS="2654435769 2135587861 1013904242"
# TCP_COUNT: lookups per cell of scenarios 13-14 (issue 13's 1000 names),
# capped at CAP_S, scenario 14 at LOSS_CAP_S (glibc waits 5 s for every
# lost packet and use-vc up to TCP's retransmission timeouts: those cells
# end at the cap, as any slower than 10 ms a lookup); TCP_THREADS:
# their thread counts. K8S_COUNT: lookups per cell of scenarios 10-11
# (about 5 ms each for the sequential walkers: 5 s a cell).
TCP_THREADS="1 8"
# Scenarios 10-12: TTL of the cluster zone's records and of its SOA (and
# so of its negative answers): longer than a cell, so that scenario 12's
# cached NXDOMAINs do not expire during it.
K8S_TTL=30
# Scenarios 10-12: the nameservers' extra delay on every reply (faultdns
# --delay-ms, whole ms): a pod's cluster DNS sits across the node network,
# not on loopback. With no delay a round trip here costs ~40 µs, less than
# the CPU time of a lookup, and asking the candidates at once or one
# after another would differ only by that CPU time.
K8S_RTT_MS=1
# Scenario 5: the slow nameserver's extra delay.
SLOW_MS=200
# Upstream readiness wait: polls of 20 ms.
START_POLLS=150
# Points per line in a CDF plot (the raw data is thinned to about this).
CDF_POINTS=400

NS1=127.0.0.2 NS2=127.0.0.3 NS3=127.0.0.4
BACKEND=127.0.0.12
K8S=127.0.0.13
DMQ=127.0.0.10
UNB=127.0.0.11
CONTENDERS="glibc glibc-rotate glibc-nscd dnsmasq-nocache dnsmasq-cache unbound musl
 fastres-nocache fastres-race fastres-cache"
# Scenario 9 (a fresh process per lookup): the stubs only, cache off (a
# daemon is no fresh process; nothing to learn for glibc-rotate).
FRESH_CONTENDERS="glibc musl fastres-nocache fastres-race"
# Scenarios 10-12 (issue 12) and 13-14 (issue 13).
K8S_CONTENDERS="glibc musl unbound fastres-nocache fastres-cache fastres-seq"
TCP_CONTENDERS="glibc glibc-usevc fastres-nocache fastres-tcp"
# Sixteen names, odd ones IPv4-only (their AAAA is NODATA), even ones
# dual-stack; lookups rotate through them (by default asking a new name
# under each, see lookup -u). The upstream answers every name under them
# the same way (--address; --local for a NODATA AAAA rather than
# the NXDOMAIN --address alone gives since dnsmasq 2.86), so that each
# lookup can ask a new name.
NAMES=""
REC_ARGS=""
i=1
while [ $i -le 16 ]; do
    n=$(printf 'h%02d.bench.test' $i)
    NAMES="$NAMES $n"
    if [ $((i % 2)) = 1 ]; then
        REC_ARGS="$REC_ARGS --address=/$n/10.1.0.$i --local=/$n/"
    else
        REC_ARGS="$REC_ARGS --address=/$n/10.1.0.$i --address=/$n/fd00::$i"
    fi
    i=$((i + 1))
done
HIT_NAME=h02.bench.test

die() { echo "bench: $*" >&2; exit 1; }

for f in "$LIB" "$LOOKUP" "$LOOKUP_MUSL" "$TOOLS/faultdns"; do
    [ -x "$f" ] || [ -f "$f" ] || die "$f missing (run make bench)"
done
command -v dnsmasq >/dev/null 2>&1 || die "dnsmasq not installed (scripts/deps.sh)"
command -v unbound >/dev/null 2>&1 || die "unbound not installed (scripts/deps.sh)"
command -v nscd >/dev/null 2>&1 || die "nscd not installed (scripts/deps.sh)"
command -v nft >/dev/null 2>&1 || die "nft not installed (scripts/deps.sh)"
command -v gnuplot >/dev/null 2>&1 || die "gnuplot not installed (scripts/deps.sh)"
LD_PRELOAD=$LIB grep -q libfastres /proc/self/maps || die "LD_PRELOAD=$LIB does not load"
case $NAMING in unique | rotate) ;; *) die "BENCH_NAMES=$NAMING: unique or rotate" ;; esac

# Only a full run replaces the committed results in bench/.
if [ -n "$ONLY" ] || [ "$QUICK" = 1 ]; then OUT=$BUILD/bench; else OUT=$here; fi
WORK=${LAB_DIR:?not inside test/lab.sh}/bench
rm -rf "$RAW"
mkdir -p "$RAW" "$WORK" "$OUT"
# Others work in the same tree and may rebuild the library during the run:
# bench a private copy, and name the commit (and whether preload/ or
# shim.c differed from it) as they are now.
cp "$LIB" "$RAW/libfastres.so"
LIB=$RAW/libfastres.so
lib_sum=$(sha256sum "$LIB" | cut -c1-12)
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$root" status --porcelain -- preload shim.c 2>/dev/null)" ]; then
    rev="$rev (with uncommitted changes in preload/ or shim.c)"
fi
rm -f "$OUT"/cdf-s*.png
unset LD_PRELOAD LOCALDOMAIN RES_OPTIONS HOSTALIASES
for v in $(env | sed -n 's/^\(FASTRES_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
# fastres's shared cache (on by default): a file of the run's own, removed
# before every cell so that caches start cold.
FASTRES_SHARED_CACHE_PATH=$WORK/shcache
export FASTRES_SHARED_CACHE_PATH

# ---- processes: every daemon's pid is kept; all are stopped on exit ----
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || :; done
    for p in $PIDS; do wait "$p" 2>/dev/null || :; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_pid() {
    kill "$1" 2>/dev/null || :
    wait "$1" 2>/dev/null || :
    rest=""
    for p in $PIDS; do [ "$p" = "$1" ] || rest="$rest $p"; done
    PIDS=$rest
}

wait_udp() { # ADDR: until something listens on ADDR:53/udp
    k=0
    while ! ss -Hlun "src $1:53" 2>/dev/null | grep -q .; do
        k=$((k + 1))
        [ $k -lt $START_POLLS ] || die "nothing listens on $1:53 (logs in $WORK)"
        sleep 0.02
    done
}

# start_front ADDR NAME MODE-ARGS...: faultdns (MODE-ARGS "none": nothing)
start_front() {
    a=$1 name=$2
    shift 2
    rm -f "$WORK/$name.count"
    [ "$1" = none ] && return 0
    "$TOOLS/faultdns" --listen "$a" --count-file "$WORK/$name.count" "$@" \
        </dev/null >>"$WORK/$name.log" 2>&1 &
    PIDS="$PIDS $!"
    eval "PID_$name=$!"
    k=0
    while [ ! -f "$WORK/$name.count" ]; do
        k=$((k + 1))
        [ $k -lt $START_POLLS ] || die "faultdns on $a did not start ($WORK/$name.log)"
        sleep 0.02
    done
}

# Queries sent so far to nameserver NAME: its nft counter. Not faultdns's
# count file (now only its sign of readiness): faultdns rewrites that file
# after every query, falls behind a contender that sends thousands per
# second, and is stopped with queries still in its socket: in a check of
# full-size cells it counted 2864 where 4000 had been sent. The counter
# counts UDP datagrams (TCP segments, were TCP used, would count too).
front_count() { # NAME
    nft list counter inet bench "$1" | sed -n 's/.*packets \([0-9]*\).*/\1/p'
}
all_counts() { # "NS1 NS2 NS3"
    echo "$(front_count ns1) $(front_count ns2) $(front_count ns3)"
}
# UDP datagrams sent to port 53 of the three, and TCP connections opened
# to each (SYNs without ACK; a SYN re-sent after a loss counts again):
# "UDP SYN1 SYN2 SYN3".
tcp_counts() {
    echo "$(front_count udp53) $(front_count syn1) $(front_count syn2) $(front_count syn3)"
}
# The queries the three nameservers received (their count files, UDP and
# TCP messages alike), once the counts stop moving: faultdns rewrites its
# file after each query and may still be reading its sockets when the
# client is gone. For scenarios 13-14, where the nft counters count TCP
# segments (ACKs too), not questions. "NS1 NS2 NS3".
settled_front_counts() {
    k=0 last=""
    while :; do
        now=$(cat "$WORK/ns1.count" "$WORK/ns2.count" "$WORK/ns3.count" 2>/dev/null | tr '\n' ' ')
        [ "$now" != "$last" ] || break
        k=$((k + 1))
        [ $k -lt $START_POLLS ] || break
        last=$now
        sleep 0.05
    done
    # shellcheck disable=SC2086
    set -- $now 0 0 0
    echo "$1 $2 $3"
}

# nft: one named counter per nameserver address, for datagrams (and TCP
# segments) sent to port 53 there. Private namespace: the machine's
# ruleset is not touched.
nft -f - <<EOF || die "cannot set up nft counters"
table inet bench {
    counter ns1 { }
    counter ns2 { }
    counter ns3 { }
    counter udp53 { }
    counter syn1 { }
    counter syn2 { }
    counter syn3 { }
    chain out {
        type filter hook output priority 0; policy accept;
        ip daddr $NS1 meta l4proto { udp, tcp } th dport 53 counter name ns1
        ip daddr $NS2 meta l4proto { udp, tcp } th dport 53 counter name ns2
        ip daddr $NS3 meta l4proto { udp, tcp } th dport 53 counter name ns3
        ip daddr { $NS1, $NS2, $NS3 } udp dport 53 counter name udp53
        ip daddr $NS1 tcp dport 53 tcp flags syn / syn,ack counter name syn1
        ip daddr $NS2 tcp dport 53 tcp flags syn / syn,ack counter name syn2
        ip daddr $NS3 tcp dport 53 tcp flags syn / syn,ack counter name syn3
    }
    # Scenario 14's loss (when tc netem is not there): rules added for the
    # lookups only. On the input hook, where loopback packets arrive after
    # the counters saw them leave: a drop on the output hook fails the
    # sender's sendto() with EPERM, a loss the sender would see at once
    # (checked: fastres counted it as "unreachable" and moved on).
    chain loss {
        type filter hook input priority 0; policy accept;
    }
}
EOF

# The live upstream, for the whole run.
# shellcheck disable=SC2086
dnsmasq -k --no-resolv --no-hosts --bind-interfaces --listen-address=$BACKEND --port=53 \
    --cache-size=0 --local-ttl=$BENCH_TTL --local=/cluster.local/ --local=/bench.test/ \
    --pid-file= $REC_ARGS </dev/null >"$WORK/backend.log" 2>&1 &
PIDS="$PIDS $!"
wait_udp $BACKEND

# unbound as a local forwarding cache, as a user would set it up, in the
# foreground without privilege dropping or chroot (the lab's files). The
# test. zone is one of unbound's default local zones (RFC 6761: answered
# NXDOMAIN locally) and the nameservers are on 127.0.0.x, which unbound
# does not query by default. No DNSSEC validation: no trust anchor here.
cat >"$WORK/unbound.conf" <<EOF || die "cannot write unbound.conf"
server:
    interface: $UNB
    port: 53
    do-ip6: no
    username: ""
    chroot: ""
    directory: "$WORK"
    pidfile: ""
    use-syslog: no
    logfile: ""
    num-threads: 1
    module-config: "iterator"
    do-not-query-localhost: no
    local-zone: "test." nodefault
remote-control:
    control-enable: no
forward-zone:
    name: "."
    forward-addr: $NS1
    forward-addr: $NS2
    forward-addr: $NS3
EOF

# nscd: glibc clients find it at /var/run/nscd/socket (fixed in glibc), so
# that directory gets a private tmpfs in the lab's mount namespace (gone
# with the lab; the host's nscd, if any, is already hidden by lab.sh). It
# holds the socket, the pid file and the shared (mmap) cache. Hosts cache
# only, as Debian's nscd.conf sets it (shared, TTL-bound positives), not
# persistent (every cell starts cold). If the directory does not exist
# (nscd installed where systemd-tmpfiles never made it), it is made empty
# on the host, as nscd's own start would.
NSCD_DIR=/var/run/nscd
[ -d $NSCD_DIR ] || mkdir -p $NSCD_DIR || die "cannot make $NSCD_DIR"
mount -t tmpfs -o size=32m,mode=0755 bench-nscd $NSCD_DIR || die "cannot mount a tmpfs on $NSCD_DIR"
cat >"$WORK/nscd.conf" <<EOF || die "cannot write nscd.conf"
logfile $WORK/nscd.log
debug-level 0
paranoia no
enable-cache passwd no
enable-cache group no
enable-cache services no
enable-cache netgroup no
enable-cache hosts yes
positive-time-to-live hosts 3600
negative-time-to-live hosts 20
suggested-size hosts 211
check-files hosts yes
persistent hosts no
shared hosts yes
max-db-size hosts 33554432
EOF

SCENARIOS=${ONLY:-1 2 3 4 5 6 7 8 9 10 11 12 13 14}
has_scen() { # S...: 0 when one of them is to run
    for s in $SCENARIOS; do
        for w in "$@"; do [ "$s" != "$w" ] || return 0; done
    done
    return 1
}

# The cluster DNS of scenarios 10-12: unbound answering cluster.local
# from a zone file, as CoreDNS would (authoritative, NXDOMAIN and NODATA
# with the SOA), every other name forwarded to the live upstream. The
# wildcard makes every name under ns.svc.cluster.local exist: the
# one-label service names of scenario 11, but also an outside name with
# the first search domain appended (c1-2.h03.bench.test.ns.svc...), which
# CoreDNS answers NXDOMAIN: the node test.ns.svc stops the wildcard for
# those (RFC 4592: the closest encloser has no wildcard below it).
if has_scen 10 11 12; then
    cat >"$WORK/cluster.local.zone" <<EOF || die "cannot write the cluster zone"
\$ORIGIN cluster.local.
@           $K8S_TTL IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 $K8S_TTL
@           $K8S_TTL IN NS ns.dns.cluster.local.
ns.dns      $K8S_TTL IN A 10.96.0.10
*.ns.svc    $K8S_TTL IN A 10.2.0.1
test.ns.svc $K8S_TTL IN TXT "stops the wildcard for the outside names of the bench"
EOF
    cat >"$WORK/k8s.conf" <<EOF || die "cannot write k8s.conf"
server:
    interface: $K8S
    port: 53
    do-ip6: no
    username: ""
    chroot: ""
    directory: "$WORK"
    pidfile: ""
    use-syslog: no
    logfile: ""
    num-threads: 1
    module-config: "iterator"
    do-not-query-localhost: no
    local-zone: "test." nodefault
remote-control:
    control-enable: no
auth-zone:
    name: "cluster.local."
    zonefile: "$WORK/cluster.local.zone"
    for-downstream: yes
    for-upstream: no
    fallback-enabled: no
forward-zone:
    name: "."
    forward-addr: $BACKEND
EOF
    unbound -d -c "$WORK/k8s.conf" </dev/null >"$WORK/k8s.log" 2>&1 &
    PIDS="$PIDS $!"
    wait_udp $K8S
fi

# Scenario 14's loss: tc netem on lo if this kernel has it, else nft drops
# of the DNS packets to and from the three (numgen random: not seeded, so
# runs differ a little), else none: a SKIP line and no scenario 14.
LOSS_HOW=""
if has_scen 14; then
    if tc qdisc add dev lo root netem loss ${LOSS_PCT}% 2>"$WORK/netem.err"; then
        tc qdisc del dev lo root
        LOSS_HOW="tc netem on lo"
    elif nft add rule inet bench loss udp dport 9 numgen random mod 100 '<' $LOSS_PCT drop \
        2>"$WORK/nft-loss.err" && nft flush chain inet bench loss; then
        LOSS_HOW="nft numgen drops"
        echo "bench: tc netem unavailable ($(head -1 "$WORK/netem.err")): scenario 14's loss" \
            "is nft numgen random drops of the packets to and from the three nameservers' port 53" >&2
    else
        echo "bench: SKIP scenario 14 (${LOSS_PCT}% loss, TCP against UDP): neither tc netem" \
            "($(head -1 "$WORK/netem.err")) nor nft numgen ($(head -1 "$WORK/nft-loss.err")) here;" \
            "scenario 6 (faultdns --drop-pct) is the UDP-only loss comparison" >&2
        SCENARIOS=$(echo $SCENARIOS | tr ' ' '\n' | grep -vx 14 | tr '\n' ' ')
    fi
fi
loss_on() {
    case $LOSS_HOW in
    tc*) tc qdisc add dev lo root netem loss ${LOSS_PCT}% ;;
    nft*)
        nft -f - <<EOF
add rule inet bench loss ip daddr { $NS1, $NS2, $NS3 } meta l4proto { udp, tcp } th dport 53 numgen random mod 100 < $LOSS_PCT drop
add rule inet bench loss ip saddr { $NS1, $NS2, $NS3 } meta l4proto { udp, tcp } th sport 53 numgen random mod 100 < $LOSS_PCT drop
EOF
        ;;
    esac
}
loss_off() {
    case $LOSS_HOW in
    tc*) tc qdisc del dev lo root ;;
    nft*) nft flush chain inet bench loss ;;
    esac
}

# ---- scenarios ----
# (No comma in a name: results.csv is read back with awk -F,.)
scen_name() {
    case $1 in
    1) echo "all upstreams healthy" ;;
    2) echo "first nameserver silent (drops every query)" ;;
    3) echo "first nameserver refusing (nothing listening: ICMP port unreachable)" ;;
    4) echo "first nameserver answering SERVFAIL at once" ;;
    5) echo "first nameserver slow (+${SLOW_MS} ms)" ;;
    6) echo "every nameserver drops ${LOSS_PCT}% of queries (seeded)" ;;
    7) echo "Kubernetes resolv.conf (3 search domains; ndots:5): outside name" ;;
    8) echo "cache hits on one name" ;;
    9) echo "fresh process behind a silent first nameserver (one lookup per process)" ;;
    10) echo "Kubernetes (cluster zone with SOA; +${K8S_RTT_MS} ms): outside name new every lookup" ;;
    11) echo "Kubernetes (cluster zone with SOA; +${K8S_RTT_MS} ms): one-label name of the first search domain new every lookup" ;;
    12) echo "Kubernetes (cluster zone with SOA; +${K8S_RTT_MS} ms): one outside name again and again within its TTL" ;;
    13) echo "TCP against UDP: three healthy nameservers" ;;
    14) echo "TCP against UDP: ${LOSS_PCT}% of the DNS packets lost both ways ($LOSS_HOW)" ;;
    esac
}
FWD="--mode forward --forward $BACKEND"
# start_fronts SCENARIO: the three nameservers with the scenario's faults
start_fronts() {
    set -- $LOSS_SEEDS
    # Scenarios 10-12: the nameservers relay to the cluster DNS.
    case $S in
    10 | 11 | 12) FWD="--mode forward --forward $K8S --delay-ms $K8S_RTT_MS" ;;
    *) FWD="--mode forward --forward $BACKEND" ;;
    esac
    case $S in
    2 | 9) start_front $NS1 ns1 --mode drop ;;
    3) start_front $NS1 ns1 none ;;
    4) start_front $NS1 ns1 --mode servfail ;;
    5) start_front $NS1 ns1 $FWD --delay-ms $SLOW_MS ;;
    6) start_front $NS1 ns1 $FWD --drop-pct $LOSS_PCT --seed "$1" ;;
    *) start_front $NS1 ns1 $FWD ;;
    esac
    if [ "$S" = 6 ]; then
        start_front $NS2 ns2 $FWD --drop-pct $LOSS_PCT --seed "$2"
        start_front $NS3 ns3 $FWD --drop-pct $LOSS_PCT --seed "$3"
    else
        start_front $NS2 ns2 $FWD
        start_front $NS3 ns3 $FWD
    fi
}
stop_fronts() {
    for n in ns1 ns2 ns3; do
        eval "p=\${PID_$n:-}"
        [ -z "$p" ] || stop_pid "$p"
        eval "PID_$n="
    done
}
# The search/ndots lines of the scenario's resolv.conf.
resolv_extra() {
    case $S in 7 | 10 | 11 | 12) ;; *) return 0 ;; esac
    printf 'search ns.svc.cluster.local svc.cluster.local cluster.local\n'
    printf 'options ndots:5\n'
}

# run_fresh COUNT CAP FAMILY NAMES...: scenario 9's cell body: up to COUNT
# processes of one lookup each (a new name each), one after another, none
# started after CAP seconds; sets summary as one lookup run would.
run_fresh() {
    fn=$1 fcap=$2 ffam=$3
    shift 3
    : >"$RAW/$tag.raw"
    : >"$RAW/$tag.log"
    fd=0 ff=0 fc=0 fl=1 k=0 nn=$#
    f0=$(date +%s%N)
    while [ $k -lt "$fn" ] && [ $(($(date +%s%N) - f0)) -lt $((fcap * 1000000000)) ]; do
        # NAME[k % number of names], as lookup would pick it.
        eval "fname=\${$((k % nn + 1))}"
        # shellcheck disable=SC2086
        one=$(env $pre "$lk" -n 1 -d "$fcap" -f "$ffam" -u "c$CELL-p$k-" \
            -o "$RAW/$tag.one" "$fname" 2>>"$RAW/$tag.log") ||
            die "lookup failed in $tag: $(cat "$RAW/$tag.log")"
        cat "$RAW/$tag.one" >>"$RAW/$tag.raw"
        eval "$(echo "$one" | sed 's/\([a-z_]*\)=\([0-9]*\)/O_\1=\2;/g')"
        fd=$((fd + O_done)) ff=$((ff + O_failed)) fc=$((fc + O_cut))
        # fastres= must agree across the processes: the first one's value
        # stands unless one differs (then the check below fails).
        [ $k != 0 ] || fl=$O_fastres
        [ "$O_fastres" = "$fl" ] || fl=2
        k=$((k + 1))
    done
    rm -f "$RAW/$tag.one"
    summary="done=$fd failed=$ff cut=$fc wall_ns=$(($(date +%s%N) - f0)) fastres=$fl"
}

# ---- one cell ----
CELLS=$WORK/cells.txt
: >"$CELLS"
CELL=0
# run_cell CONTENDER THREADS FAMILY COUNT CAP NAMES...
run_cell() {
    c=$1 t=$2 fam=$3 n=$4 cap=$5
    shift 5
    CELL=$((CELL + 1))
    tag="s$S-$c-t$t-$fam"
    start_fronts
    rm -f "$FASTRES_SHARED_CACHE_PATH"
    dpid=""
    case $c in
    glibc-nscd)
        # nscd reads resolv.conf at start: write it first.
        printf 'nameserver %s\nnameserver %s\nnameserver %s\n' $NS1 $NS2 $NS3 >/etc/resolv.conf
        resolv_extra >>/etc/resolv.conf
        rm -rf "${NSCD_DIR:?}"/*
        nscd -F -f "$WORK/nscd.conf" </dev/null >>"$WORK/nscd-$tag.log" 2>&1 &
        dpid=$!
        PIDS="$PIDS $dpid"
        k=0
        while [ ! -S $NSCD_DIR/socket ]; do
            k=$((k + 1))
            [ $k -lt $START_POLLS ] || die "nscd did not start ($WORK/nscd-$tag.log, $WORK/nscd.log)"
            sleep 0.02
        done
        ;;
    unbound)
        unbound -d -c "$WORK/unbound.conf" </dev/null >"$WORK/unbound-$tag.log" 2>&1 &
        dpid=$!
        PIDS="$PIDS $dpid"
        wait_udp $UNB
        { printf 'nameserver %s\n' $UNB; resolv_extra; } >/etc/resolv.conf
        ;;
    dnsmasq-*)
        if [ "$c" = dnsmasq-cache ]; then cs=$BENCH_DNSMASQ_CACHE; else cs=0; fi
        dnsmasq -k --no-resolv --no-hosts --bind-interfaces --listen-address=$DMQ --port=53 \
            --all-servers --server=$NS1 --server=$NS2 --server=$NS3 --cache-size=$cs \
            --pid-file= </dev/null >"$WORK/dnsmasq-$tag.log" 2>&1 &
        dpid=$!
        PIDS="$PIDS $dpid"
        wait_udp $DMQ
        { printf 'nameserver %s\n' $DMQ; resolv_extra; } >/etc/resolv.conf
        ;;
    *)
        {
            printf 'nameserver %s\nnameserver %s\nnameserver %s\n' $NS1 $NS2 $NS3
            resolv_extra
            [ "$c" != glibc-rotate ] || printf 'options rotate timeout:1 attempts:1\n'
            [ "$c" != glibc-usevc ] || printf 'options use-vc\n'
        } >/etc/resolv.conf
        ;;
    esac
    before="$(all_counts) $(tcp_counts)"
    # FASTRES_MODE: hedge is the default (fastres-nocache does not set it);
    # an engine without modes ignores the variable.
    lk=$LOOKUP
    case $c in
    fastres-nocache) pre="LD_PRELOAD=$LIB FASTRES_CACHE_SIZE=0 FASTRES_STATS=1" ;;
    fastres-race) pre="LD_PRELOAD=$LIB FASTRES_CACHE_SIZE=0 FASTRES_MODE=race FASTRES_STATS=1" ;;
    fastres-cache) pre="LD_PRELOAD=$LIB FASTRES_STATS=1" ;;
    fastres-seq) pre="LD_PRELOAD=$LIB FASTRES_CACHE_SIZE=0 FASTRES_PARALLEL_SEARCH=0 FASTRES_STATS=1" ;;
    fastres-tcp) pre="LD_PRELOAD=$LIB FASTRES_CACHE_SIZE=0 FASTRES_TRANSPORT=tcp FASTRES_STATS=1" ;;
    musl) pre="" lk=$LOOKUP_MUSL ;;
    *) pre="" ;;
    esac
    [ "$S" != 14 ] || loss_on || die "$tag: cannot set up the loss ($LOSS_HOW)"
    if [ "$S" = 9 ]; then
        run_fresh "$n" "$cap" "$fam" "$@"
    else
        # A new name every lookup, except for cache hits (8, 12); scenario
        # 11's one-label names ("@": the prefix alone) always.
        uniq=""
        case $S in
        8 | 12) ;;
        11) uniq="-u c$CELL-" ;;
        *) [ "$NAMING" = rotate ] || uniq="-u c$CELL-" ;;
        esac
        # shellcheck disable=SC2086
        summary=$(env $pre "$lk" -n "$n" -d "$cap" -t "$t" -f "$fam" $uniq \
            -o "$RAW/$tag.raw" "$@" 2>"$RAW/$tag.log") ||
            die "lookup failed in $tag: $(cat "$RAW/$tag.log")"
    fi
    [ "$S" != 14 ] || loss_off || die "$tag: cannot remove the loss ($LOSS_HOW)"
    nq=""
    if [ "$c" = glibc-nscd ]; then
        # nscd's hosts statistics (asked over its socket before it stops):
        # the lookups that ended there, checked below.
        nscd -g >"$RAW/$tag.nscd" 2>&1 || :
        nq=$(awk '/^hosts cache:/ { h = 1 } h && /cache (hits|misses) on (positive|negative) entries/ { s += $1 }
            END { print s + 0 }' "$RAW/$tag.nscd")
    fi
    [ -z "$dpid" ] || stop_pid "$dpid"
    # Final: the lookups have ended (or their process has), the daemon
    # that might still send has stopped.
    after="$(all_counts) $(tcp_counts)"
    # Scenarios 13-14: questions as the nameservers received them (the
    # nft counters count TCP segments); their count files start at 0.
    case $S in 13 | 14) received=$(settled_front_counts) ;; *) received="" ;; esac
    stop_fronts
    # shellcheck disable=SC2086
    set -- $before $after
    q1=$((${8} - $1)) q2=$((${9} - $2)) q3=$((${10} - $3))
    udp=$((${11} - $4)) syn1=$((${12} - $5)) syn2=$((${13} - $6)) syn3=$((${14} - $7))
    if [ -n "$received" ]; then
        # shellcheck disable=SC2086
        set -- $received
        q1=$1 q2=$2 q3=$3
    fi
    q=$((q1 + q2 + q3))
    eval "$(echo "$summary" | sed 's/\([a-z_]*\)=\([0-9]*\)/L_\1=\2;/g')"
    case $c in
    fastres-*)
        [ "$L_fastres" = 1 ] || die "$tag: libfastres was not loaded"
        # Loaded is not enough: fastres hands every lookup to libc when it
        # cannot answer as glibc would (e.g. an nsswitch.conf hosts line
        # other than "files dns", as the machine's became once a package
        # added myhostname, where the lab did not yet hide it). Its stats
        # at exit (absent when the process was cut) then count nothing.
        if [ "$L_done" -gt 0 ] && grep -q 'stats: questions raced' "$RAW/$tag.log" &&
            ! grep -Eq 'stats: questions raced [1-9]|cache hits [1-9]' "$RAW/$tag.log"; then
            die "$tag: libfastres answered none of $L_done lookups (handed to libc? $RAW/$tag.log)"
        fi
        ;;
    *) [ "$L_fastres" = 0 ] || die "$tag: libfastres loaded where it should not be" ;;
    esac
    # glibc-nscd's lookups must have reached nscd: at least one when any
    # ended. Not all are counted there: a cut one is not yet, a cache hit
    # is read from nscd's shared mapping (scenario 8), and a client that
    # waited 5 s for nscd's reply (behind a silent nameserver) gives up on
    # it and asks the nameservers itself.
    [ -z "$nq" ] || [ "$L_done" = 0 ] || [ "$nq" -ge 1 ] ||
        die "$tag: nscd saw none of $L_done lookups ($RAW/$tag.nscd)"
    echo "$S $c $t $fam $L_done $L_failed $L_cut $L_wall_ns $q $q1 $q2 $q3 $udp $syn1 $syn2 $syn3 $tag" >>"$CELLS"
    tcpinfo=""
    case $S in 13 | 14) tcpinfo=", $udp UDP to :53, TCP connections $syn1/$syn2/$syn3" ;; esac
    printf 'bench [%d/%d] s%s %-16s t%s %-6s: %6d lookups, %d failed, %d cut, %d upstream queries%s, %.1f s\n' \
        "$CELL" "$NCELLS" "$S" "$c" "$t" "$fam" "$L_done" "$L_failed" "$L_cut" "$q" "$tcpinfo" \
        "$(echo "$L_wall_ns" | awk '{ print $1 / 1e9 }')" >&2
}

# contenders_of SCENARIO: the contenders that scenario runs.
contenders_of() {
    case $1 in
    9) echo $FRESH_CONTENDERS ;;
    10 | 11 | 12) echo $K8S_CONTENDERS ;;
    13 | 14) echo $TCP_CONTENDERS ;;
    *) echo $CONTENDERS ;;
    esac
}
NCELLS=0
ntcp=$(echo $TCP_THREADS | wc -w)
for S in $SCENARIOS; do
    for c in $(contenders_of $S); do
        if [ "$S" = 8 ] && [ "$QUICK" = 1 ]; then NCELLS=$((NCELLS + 2))
        elif [ "$S" = 8 ]; then NCELLS=$((NCELLS + 3))
        elif [ "$S" = 13 ] || [ "$S" = 14 ]; then NCELLS=$((NCELLS + ntcp))
        else NCELLS=$((NCELLS + 1)); fi
    done
done
echo "bench: $NCELLS cells, up to $COUNT lookups (cap ${CAP_S} s) each;" \
    "cache hits: up to $HIT_COUNT (cap ${HIT_CAP_S} s);" \
    "fresh processes: up to $FRESH_COUNT (cap ${CAP_S} s)${QUICK:+ (QUICK)}" >&2
T0=$(date +%s)
for S in $SCENARIOS; do
    for c in $(contenders_of $S); do
        if [ "$S" = 9 ]; then
            # shellcheck disable=SC2086
            run_cell "$c" 1 "$FAMILY" $FRESH_COUNT $CAP_S $NAMES
        elif [ "$S" = 12 ]; then
            run_cell "$c" 1 "$FAMILY" $HIT_COUNT $HIT_CAP_S $HIT_NAME
        elif [ "$S" = 11 ]; then
            run_cell "$c" 1 "$FAMILY" $K8S_COUNT $CAP_S @
        elif [ "$S" = 10 ]; then
            # shellcheck disable=SC2086
            run_cell "$c" 1 "$FAMILY" $K8S_COUNT $CAP_S $NAMES
        elif [ "$S" = 13 ] || [ "$S" = 14 ]; then
            tcap=$CAP_S
            [ "$S" != 14 ] || tcap=$LOSS_CAP_S
            for t in $TCP_THREADS; do
                # shellcheck disable=SC2086
                run_cell "$c" "$t" "$FAMILY" $TCP_COUNT $tcap $NAMES
            done
        elif [ "$S" = 8 ]; then
            run_cell "$c" 1 "$FAMILY" $HIT_COUNT $HIT_CAP_S $HIT_NAME
            run_cell "$c" 2 "$FAMILY" $HIT_COUNT $HIT_CAP_S $HIT_NAME
            # IPv4 only: no RFC 3484 sorting (which probes a source
            # address per result with a UDP connect()) in the hit path.
            # Left out of QUICK runs, to stay under a minute.
            [ "$QUICK" = 1 ] || run_cell "$c" 1 inet $HIT_COUNT $HIT_CAP_S $HIT_NAME
        else
            # shellcheck disable=SC2086
            run_cell "$c" 1 "$FAMILY" $COUNT $CAP_S $NAMES
        fi
    done
done
echo "bench: lookups done in $(($(date +%s) - T0)) s; summarising" >&2

# ---- summary ----
# Percentiles are nearest-rank (the ceil(q*n)-th smallest latency). A cut
# lookup enters with the time it had taken when cut (a lower bound).
CSV=$OUT/results.csv
MD=$OUT/results.md
echo "scenario,scenario_name,contender,threads,family,lookups,failed,cut,wall_s,median_ns,p99_ns,p999_ns,max_ns,lookups_per_s,upstream_queries,queries_per_lookup,queries_ns1,queries_ns2,queries_ns3,udp_to_53,tcp_conns_ns1,tcp_conns_ns2,tcp_conns_ns3" >"$CSV"
while read -r S c t fam nd failed cut wall q q1 q2 q3 udp syn1 syn2 syn3 tag; do
    sort -n -k1,1 "$RAW/$tag.raw" | awk -v S="$S" -v name="$(scen_name "$S")" -v c="$c" -v t="$t" \
        -v fam="$fam" -v done="$nd" -v failed="$failed" -v cut="$cut" -v wall="$wall" -v q="$q" -v qs="$q1,$q2,$q3,$udp,$syn1,$syn2,$syn3" \
        -v cdf="$RAW/$tag.cdf" -v pts=$CDF_POINTS '
        function rank(p,   r) { r = int(p * NR); if (r < p * NR) r++; if (r < 1) r = 1; return a[r] }
        { a[NR] = $1 }
        END {
            n = done + cut
            if (NR == 0) { med = p99 = p999 = mx = ""; }
            else { med = rank(0.5); p99 = rank(0.99); p999 = rank(0.999); mx = a[NR] }
            lps = wall > 0 ? done / (wall / 1e9) : 0
            qpl = n > 0 ? q / n : 0
            printf "%s,\"%s\",%s,%s,%s,%d,%d,%d,%.3f,%s,%s,%s,%s,%.1f,%d,%.3f,%s\n", S, name, c, t, fam, \
                n, failed, cut, wall / 1e9, med, p99, p999, mx, lps, q, qpl, qs
            step = NR / pts; if (step < 1) step = 1
            for (x = step; x < NR + step; x += step) {
                r = int(x); if (r > NR) r = NR; if (r < 1) r = 1
                printf "%.6f %.6f\n", a[r] / 1e6, r / NR > cdf
            }
        }' >>"$CSV"
done <"$CELLS"

# Markdown: one table per scenario (and thread count).
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
glibc_v=$(getconf GNU_LIBC_VERSION 2>/dev/null || ldd --version | head -1)
cares_v=$(dpkg-query -W -f='${Version}' libc-ares-dev 2>/dev/null || echo unknown)
dnsmasq_v=$(dnsmasq --version | sed -n '1s/^Dnsmasq version \([^ ]*\).*/\1/p')
unbound_v=$(unbound -V 2>/dev/null | sed -n 's/^Version //p')
musl_v=$(dpkg-query -W -f='${Version}' musl 2>/dev/null || echo unknown)
{
    echo "# fastres benchmark results"
    echo
    echo "Generated by \`make bench${QUICK:+ QUICK=1}\` (bench/run.sh) on $(date -u '+%Y-%m-%d %H:%M UTC')."
    echo
    echo "- Machine: $cpu, $(nproc) cores, kernel $(uname -r)"
    echo "- $glibc_v (also nscd's), c-ares $cares_v (static, in libfastres), dnsmasq $dnsmasq_v, unbound $unbound_v," \
        "musl $musl_v (static), fastres $rev (library sha256 $lib_sum...)"
    if [ "$NAMING" = unique ]; then names_how="a new name every lookup, under 16 names"
    else names_how="16 names in turn"; fi
    echo "- Lookups: getaddrinfo($FAMILY, SOCK_STREAM), $names_how (8 IPv4-only, 8 dual-stack)," \
        "up to $COUNT per cell, cell capped at $CAP_S s; cache hits: one dual-stack name, up to $HIT_COUNT per cell," \
        "capped at $HIT_CAP_S s$([ "$QUICK" = 1 ] || echo ", also with AF_INET");" \
        "fresh processes: one lookup (a new name) per process, up to $FRESH_COUNT per cell, capped at $CAP_S s"
    echo "- Contenders: glibc; glibc-rotate (options rotate timeout:1 attempts:1); glibc-nscd (hosts cache);" \
        "dnsmasq-nocache/-cache (glibc -> dnsmasq --all-servers); unbound (glibc -> unbound forwarding to the three);" \
        "musl (static, its stub races every server); fastres-nocache (cache off, default mode: hedge);" \
        "fastres-race (cache off, FASTRES_MODE=race); fastres-cache (defaults);" \
        "scenarios 10-12 also fastres-seq (cache off, FASTRES_PARALLEL_SEARCH=0);" \
        "scenarios 13-14: glibc, glibc-usevc (options use-vc), fastres-nocache (UDP) and fastres-tcp" \
        "(cache off, FASTRES_TRANSPORT=tcp), up to $TCP_COUNT lookups per cell (a new name each), from $(echo $TCP_THREADS | sed 's/ / and /') threads," \
        "capped at $CAP_S s (scenario 14: $LOSS_CAP_S s)"
    echo "- Scenarios 10-12: resolv.conf \`search ns.svc.cluster.local svc.cluster.local cluster.local\`, \`options ndots:5\`;" \
        "the nameservers relay to a cluster DNS (unbound, cluster.local from a zone file: NXDOMAIN and NODATA carry" \
        "its SOA, TTL $K8S_TTL s; every one-label name under ns.svc.cluster.local has an A record; other names forwarded);" \
        "every reply of the three nameservers ${K8S_RTT_MS} ms late (a cluster DNS across the node network);" \
        "up to $K8S_COUNT lookups per cell in 10-11, 12 as the cache hits of scenario 8"
    echo "- Scenarios 13-14: queries/lookup = questions the three nameservers received (UDP and TCP alike);" \
        "UDP to :53 = datagrams sent to their port 53; TCP conns = SYNs sent to each (nft; a re-sent SYN counts again)"
    echo "- Upstreams: three nameservers (faultdns forwarding to one dnsmasq, TTL $BENCH_TTL s), faults per scenario;" \
        "queries/lookup = queries sent to the three nameservers (nft counters) / lookups"
    echo "- Column names: ns1 is the first nameserver in resolv.conf (the faulty one in scenarios 2-5 and 9)"
    echo "- Latency: nearest-rank percentiles; a cut lookup (still running at the cap) counts with the" \
        "time it had taken (a lower bound); failed = getaddrinfo returned an error"
    echo
    # Rows grouped by scenario and thread count, contenders in run order.
    awk -F, 'NR > 1 { print }' "$CSV" | sort -s -t, -k1,1n -k4,4n -k5,5r | awk -F, '
        function fmt(ns) {
            if (ns == "") return "-"
            if (ns < 1e3) return sprintf("%d ns", ns)
            if (ns < 1e6) return sprintf("%.3g µs", ns / 1e3)
            if (ns < 1e9) return sprintf("%.3g ms", ns / 1e6)
            return sprintf("%.3g s", ns / 1e9)
        }
        {
            key = $1 "-" $4 "-" $5
            if (key != last) {
                name = $2; gsub(/"/, "", name)
                if ($1 == 8) name = name ", " $4 " thread" ($4 > 1 ? "s" : "") ", AF_" toupper($5)
                if ($1 == 13 || $1 == 14) name = name ", " $4 " thread" ($4 > 1 ? "s" : "")
                tcp = ($1 == 13 || $1 == 14)
                printf "\n## %s. %s\n\n", $1, name
                if ($1 == 8) print "Median = time per lookup; lookups/s over all threads.\n"
                if ($1 == 9) print "Each lookup in a new process, cache off; the time of getaddrinfo() alone (not the process start).\n"
                print "| contender | lookups | failed | cut | median | p99 | p99.9 | max | lookups/s | queries/lookup | queries ns1/ns2/ns3 |" \
                    (tcp ? " UDP to :53 | TCP conns ns1/ns2/ns3 |" : "")
                print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" (tcp ? "---:|---:|" : "")
                last = key
            }
            printf "| %s | %d | %d | %d | %s | %s | %s | %s | %s | %.2f | %d/%d/%d |", $3, $6, $7, $8, \
                fmt($10), fmt($11), fmt($12), fmt($13), ($14 >= 100 ? sprintf("%d", $14) : sprintf("%.3g", $14)), $16, \
                $17, $18, $19
            if (tcp) printf " %d | %d/%d/%d |", $20, $21, $22, $23
            printf "\n"
        }'
    # The targets of issues 12 and 13, met or missed, from the rows above.
    awk -F, 'NR > 1 { k = $1 " " $3 " " $4; med[k] = $10; p99[k] = $11; qpl[k] = $16; q[k] = $15; n[k] = $6
            fl[k] = $7; cut[k] = $8; udp[k] = $20; syn[k] = $21; if ($22 > syn[k]) syn[k] = $22; if ($23 > syn[k]) syn[k] = $23
            seen[$1] = 1; th[$1 " " $4] = 1 }
        function ok(b) { return b ? "met" : "MISSED" }
        # The first lookup of a fastres process asks each of its questions
        # (as many as glibc asks per lookup here: one server each) of all
        # three servers, none being measured yet: 2 x that many more
        # queries, once. The query targets are checked without them.
        function fan(g) { return 2 * qpl[g] }
        function has(k) { return (k in n) && n[k] > 0 }
        END {
            if (!(10 in seen) && !(11 in seen) && !(12 in seen) && !(13 in seen) && !(14 in seen)) exit
            print "\n## Targets (issues 12 and 13)\n"
            for (i = 0; i < 2; i++) {
                c = i ? "fastres-cache" : "fastres-nocache"; k = "10 " c " 1"; g = "10 glibc 1"
                if (has(k) && has(g))
                    printf "- 10, %s: median %.2fx glibc'"'"'s (target <= 0.5: %s), %.3f queries/lookup against glibc'"'"'s %.3f; without the first lookup'"'"'s %d to the other servers %.3f (target <= glibc'"'"'s: %s)\n", \
                        c, med[k] / med[g], ok(med[k] <= 0.5 * med[g]), qpl[k], qpl[g], fan(g), (q[k] - fan(g)) / n[k], \
                        ok(q[k] - fan(g) <= qpl[g] * n[k])
            }
            for (i = 0; i < 2; i++) {
                c = i ? "fastres-cache" : "fastres-nocache"; k = "11 " c " 1"; g = "11 glibc 1"
                if (has(k) && has(g))
                    printf "- 11, %s: %.3f queries/lookup; without the first lookup'"'"'s %d to the other servers %.3f (target <= 2: %s)\n", \
                        c, qpl[k], fan(g), (q[k] - fan(g)) / n[k], ok(q[k] - fan(g) <= 2 * n[k])
            }
            k = "12 fastres-cache 1"
            if (has(k))
                printf "- 12, fastres-cache: %d upstream queries over %d lookups (target: none after the first lookup, which asks at most 4 names x 2 types of all 3 servers: <= 24: %s)\n", \
                    q[k], n[k], ok(q[k] <= 24)
            for (t = 1; t <= 64; t++) {
                k = "13 fastres-tcp " t; g = "13 glibc " t
                if (has(k) && has(g))
                    printf "- 13, fastres-tcp, %d thread%s: at most %d TCP connections per server (target <= 2: %s), %d UDP datagrams to :53 (target 0: %s), %d failed and %d cut (target 0: %s), median %.2fx glibc'"'"'s UDP median (target <= 1.5: %s)\n", \
                        t, (t > 1 ? "s" : ""), syn[k], ok(syn[k] <= 2), udp[k], ok(udp[k] == 0), fl[k], cut[k], \
                        ok(fl[k] + cut[k] == 0), med[k] / med[g], ok(med[k] <= 1.5 * med[g])
            }
            for (t = 1; t <= 64; t++) {
                k = "14 fastres-tcp " t; u = "14 fastres-nocache " t
                if (has(k) && has(u))
                    printf "- 14, fastres-tcp, %d thread%s: p99 %.2fx fastres UDP'"'"'s p99 (target <= 1.5: %s); %d failed, %d cut at the cap, %d lookups done (UDP mode: %d)\n", \
                        t, (t > 1 ? "s" : ""), p99[k] / p99[u], ok(p99[k] <= 1.5 * p99[u]), fl[k], cut[k], n[k] - cut[k], n[u]
            }
        }' "$CSV"
    echo
    echo "Plots: latency CDF per scenario (log time axis): $(cd "$OUT" && ls cdf-s*.png 2>/dev/null | tr '\n' ' ' || :)"
} >"$MD.tmp"

# ---- plots: one PNG per scenario (and thread count) ----
awk '{ print $1, $3, $4 }' "$CELLS" | sort -u >"$WORK/plots.txt"
while read -r S t fam; do
    png=$OUT/cdf-s$S.png
    [ "$S" != 8 ] || png=$OUT/cdf-s8-t$t-$fam.png
    case $S in 13 | 14) png=$OUT/cdf-s$S-t$t.png ;; esac
    title="$S. $(scen_name "$S")"
    [ "$S" != 8 ] || title="$title, $t thread$( [ "$t" = 1 ] || echo s), AF_$(echo "$fam" | tr a-z A-Z)"
    case $S in 13 | 14) title="$title, $t thread$( [ "$t" = 1 ] || echo s)" ;; esac
    plot=""
    for c in $(contenders_of "$S"); do
        f=$RAW/s$S-$c-t$t-$fam.cdf
        [ -s "$f" ] || continue
        # fastres solid, the others dashed.
        case $c in fastres-*) dt=1 ;; *) dt=2 ;; esac
        # One colour per contender (gnuplot's default cycle has only eight).
        case $c in
        glibc) lc='#9400d3' ;; glibc-rotate) lc='#c71585' ;; glibc-nscd) lc='#56b4e9' ;;
        dnsmasq-nocache) lc='#e69f00' ;; dnsmasq-cache) lc='#d2b000' ;; unbound) lc='#0072b2' ;;
        musl) lc='#e51e10' ;; fastres-nocache) lc='#000000' ;; fastres-race) lc='#009e73' ;;
        glibc-usevc) lc='#c71585' ;; fastres-seq) lc='#009e73' ;; fastres-tcp) lc='#e69f00' ;;
        *) lc='#808080' ;;
        esac
        plot="$plot${plot:+, }'$f' using 1:2 with steps lw 2 dt $dt lc rgb '$lc' title '$c'"
    done
    gnuplot <<EOF || die "gnuplot failed for $png"
set terminal pngcairo size 800,500 font 'sans,9'
set output '$png'
set title "$title"
set logscale x
set format x '%g'
set xlabel 'latency (ms, log scale)'
set ylabel 'fraction of lookups'
set yrange [0:1.02]
set grid
set key below horizontal
plot $plot
EOF
done <"$WORK/plots.txt"
# The plot list in results.md is written after the PNGs exist.
sed "s|^Plots: .*|Plots (latency CDF, log time axis): $(cd "$OUT" && ls cdf-s*.png | sed 's/.*/[&](&)/' | tr '\n' ' ')|" \
    "$MD.tmp" >"$MD"
rm -f "$MD.tmp"
cat "$MD"
echo "bench: done in $(($(date +%s) - T0)) s; results in $MD, $CSV and $OUT/cdf-s*.png" >&2
