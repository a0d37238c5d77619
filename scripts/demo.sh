#!/usr/bin/env bash
# The seed scenario, run by `make demo` inside test/lab.sh: the first
# nameserver is reachable but never answers, the second is a healthy
# dnsmasq. Five getaddrinfo lookups with glibc alone, then five through
# fastres, printed side by side.
set -euo pipefail
BUILD=${BUILD:-build}
LIB=$(readlink -f "$BUILD/libfastres.so")
TOOLS=$(readlink -f "$BUILD/tools")
LOOKUPS=5
work=${LAB_DIR:-$(mktemp -d)}

cat > /etc/resolv.conf <<R
nameserver 127.0.0.2
nameserver 127.0.0.3
R
"$TOOLS/faultdns" --listen 127.0.0.2 --mode drop --count-file "$work/silent.count" >/dev/null 2>&1 &
silent=$!
dnsmasq -k --no-resolv --no-hosts --bind-interfaces --listen-address=127.0.0.3 --port 53 \
    --cache-size=0 --host-record=www.example.test,192.0.2.10 --pid-file= >/dev/null 2>&1 &
good=$!
trap 'kill $silent $good 2>/dev/null || true' EXIT
sleep 0.5

# One getaddrinfo per run (getent ahostsv4 = AF_INET, SOCK_STREAM/DGRAM/RAW).
lookup_ms() {
    local t0 t1
    t0=$EPOCHREALTIME
    env "$@" getent ahostsv4 www.example.test >/dev/null || echo "  (lookup failed)" >&2
    t1=$EPOCHREALTIME
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) * 1000 }'
}

echo "Seed scenario: nameserver 127.0.0.2 silent, 127.0.0.3 healthy; $LOOKUPS lookups each."
printf '%-8s %14s %14s\n' lookup "glibc (ms)" "fastres (ms)"
for i in $(seq 1 $LOOKUPS); do
    g=$(lookup_ms)
    f=$(lookup_ms LD_PRELOAD="$LIB" FASTRES_CACHE_SIZE=0)
    printf '%-8s %14s %14s\n' "$i" "$g" "$f"
done
echo "Each fastres lookup starts a new process with the cache off: every one asks the network."
