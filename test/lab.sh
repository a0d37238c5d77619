#!/bin/sh
# test/lab.sh CMD [ARGS...]: run CMD in a private network + mount namespace.
#
# Inside: only lo exists (up, with 127.0.0.1-127.0.0.20 and ::1), and
# /etc/resolv.conf ("nameserver 127.0.0.2") and /etc/hosts (localhost
# lines) are writable files bind-mounted from LAB_DIR, so tests can point
# the resolver anywhere without touching the machine's files or network.
# LAB_DIR is a private tmpfs (gone when the lab ends); set LAB_KEEP=1 to
# get a directory that survives, for reading logs after a failure.
#
# CMD runs as a child of this script, which stays in the lab: SIGTERM,
# SIGINT and SIGHUP to the lab are passed to CMD as SIGTERM, and when CMD
# ends every process still in the lab's network namespace (an upstream a
# crashed test did not stop) is ended too, so nothing lives on unseen.
# (No PID namespace: Criterion names its socket /tmp/criterion_PID.sock,
# and labs with their own PID numbering would collide on it.)
#
# Exit status: CMD's, or 77 (the automake "skip" code) when no namespace
# can be created here, or 1 when the lab could not be made safe.
set -eu

# Highest 127.0.0.x address the lab adds; tests use 127.0.0.2-127.0.0.20.
LAB_LAST_ADDR=20
# The lab's tmpfs holds logs, count files and the two /etc files only.
LAB_TMPFS_SIZE=64m
# Processes left in the lab get SIGTERM and this many 0.05 s polls (2 s)
# to exit before SIGKILL.
LAB_REAP_POLLS=40

die() { echo "lab.sh: $*" >&2; exit 1; }

# Wait for background pid $1 and set rc to its exit status. A trapped
# signal interrupts wait (status > 128) while the child lives on; then
# wait again. The shell keeps a finished child's status, so a later wait
# still returns it; 127 means it was already collected.
lab_wait() {
    rc=0
    wait "$1" || rc=$?
    while [ "$rc" -gt 128 ]; do
        r2=0
        wait "$1" || r2=$?
        [ "$r2" = 127 ] && break
        rc=$r2
        kill -0 "$1" 2>/dev/null || break
    done
}

[ $# -ge 1 ] || { echo "usage: test/lab.sh CMD [ARGS...]" >&2; exit 2; }

# Re-entrant: a lab inside a lab is the same lab.
if [ "${LAB_INSIDE:-}" = 1 ]; then
    exec "$@"
fi

if [ "${_LAB_STAGE:-}" != inner ]; then
    self=$(readlink -f "$0")
    # As root a plain network + mount namespace is enough; otherwise a user
    # namespace maps us to root inside so we may configure lo and mount.
    if [ "$(id -u)" = 0 ] && unshare -nm true 2>/dev/null; then
        flags=-nm
    elif unshare -rnm true 2>/dev/null; then
        flags=-rnm
    else
        echo "lab.sh: SKIP: cannot create a private network namespace here" \
             "(unshare -nm as root and unshare -rnm both failed);" \
             "the lab needs root or unprivileged user namespaces" >&2
        exit 77
    fi
    # Mounts are made private, so the bind mounts below never reach the
    # machine's mount table.
    _LAB_STAGE=inner exec unshare $flags --propagation private -- "$self" "$@"
fi
unset _LAB_STAGE

# ---- inside the namespace ----
ip link set lo up || die "cannot bring lo up"
i=2
while [ "$i" -le "$LAB_LAST_ADDR" ]; do
    ip addr add "127.0.0.$i/32" dev lo || die "cannot add 127.0.0.$i to lo"
    i=$((i + 1))
done

# Safety: nothing but loopback may be reachable from here. A fresh network
# namespace has only lo; anything else up means unshare did not isolate us.
others=$(ip -o link show up | awk -F': ' '$2 != "lo" { print $2 }')
[ -z "$others" ] || die "non-loopback interface up inside the lab: $others; refusing to run"
# `ip route get` asks the kernel only; nothing is sent.
if ip -4 route get 192.0.2.1 >/dev/null 2>&1 || ip -6 route get 2001:db8::1 >/dev/null 2>&1; then
    die "a route to a non-loopback address exists inside the lab; refusing to run"
fi

if [ "${LAB_KEEP:-}" = 1 ]; then
    LAB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/fastres-lab.XXXXXX") || die "mktemp failed"
    echo "lab.sh: LAB_KEEP=1: lab files stay in $LAB_DIR" >&2
else
    # One shared mount point; each lab mounts its own tmpfs on it, so
    # concurrent labs do not see each other and nothing is left behind.
    LAB_DIR=${TMPDIR:-/tmp}/fastres-lab
    mkdir -p "$LAB_DIR" || die "cannot create $LAB_DIR"
    mount -t tmpfs -o "size=$LAB_TMPFS_SIZE,mode=0755" fastres-lab "$LAB_DIR" ||
        die "cannot mount a tmpfs on $LAB_DIR"
fi

printf 'nameserver 127.0.0.2\n' >"$LAB_DIR/resolv.conf"
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"$LAB_DIR/hosts"
# The machine's nsswitch.conf may name modules (myhostname, resolve, mdns)
# that answer from outside the lab: every test starts from this one.
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\nethers: files\nrpc: files\n' >"$LAB_DIR/nsswitch.conf"
# Tests rewrite these in place; daemons that drop privileges may read them.
chmod 0666 "$LAB_DIR/resolv.conf" "$LAB_DIR/hosts" "$LAB_DIR/nsswitch.conf"
for f in resolv.conf hosts nsswitch.conf; do
    # A dangling symlink (e.g. to systemd-resolved's stub file) cannot be
    # mounted over; say so rather than leave the real file visible.
    [ -e "/etc/$f" ] || die "/etc/$f does not exist (dangling symlink?); cannot bind-mount over it"
    mount --bind "$LAB_DIR/$f" "/etc/$f" || die "cannot bind-mount over /etc/$f"
done
grep -qx 'nameserver 127.0.0.2' /etc/resolv.conf || die "/etc/resolv.conf bind mount did not take"

# Resolver paths that bypass the network namespace: nscd and
# systemd-resolved answer over Unix sockets on the host's network. Hide
# their sockets so nothing inside the lab can reach them.
for d in /run/nscd /var/run/nscd /run/systemd/resolve; do
    if [ -d "$d" ]; then
        mount -t tmpfs -o size=1m lab-hidden "$d" || die "cannot hide $d"
    fi
done
# Environment that changes glibc's resolver behaviour.
unset LOCALDOMAIN RES_OPTIONS HOSTALIASES
# fastres's shared cache (preload/lookup/shcache.c): off in the lab unless a test
# turns it on (answers must not carry over between tests), and never the
# machine's file: a private /dev/shm, no XDG_RUNTIME_DIR.
export FASTRES_SHARED_CACHE=0
unset XDG_RUNTIME_DIR FASTRES_SHARED_CACHE_PATH
if [ -d /dev/shm ]; then
    mount -t tmpfs -o size=$LAB_TMPFS_SIZE,mode=1777 lab-shm /dev/shm || die "cannot mount a tmpfs on /dev/shm"
fi

export LAB_DIR LAB_INSIDE=1
# Every process in this network namespace but us: the lab's own, by
# construction (nothing else can enter it).
# Runs in a $(...) subshell, itself in the namespace: skip that too.
lab_members() {
    sub=$(sh -c 'echo $PPID')
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        [ "$pid" = "$$" ] || [ "$pid" = "$sub" ] && continue
        [ "$(readlink "$d/ns/net" 2>/dev/null)" = "$lab_ns" ] && echo "$pid"
    done
    return 0
}
lab_ns=$(readlink /proc/$$/ns/net) || die "cannot read my network namespace"

# Run CMD as a child (with our stdin: an asynchronous command would
# otherwise get /dev/null), pass on termination requests, keep its status.
exec 3<&0
"$@" <&3 3<&- &
child=$!
exec 3<&-
trap 'kill -TERM "$child" 2>/dev/null' TERM INT HUP
lab_wait "$child"

# Leftovers: SIGTERM, then SIGKILL after LAB_REAP_POLLS polls of 0.05 s.
left=$(lab_members)
if [ -n "$left" ]; then
    kill -TERM $left 2>/dev/null || true
    i=0
    while [ "$i" -lt "$LAB_REAP_POLLS" ] && [ -n "$(lab_members)" ]; do
        sleep 0.05
        i=$((i + 1))
    done
    left=$(lab_members)
    [ -z "$left" ] || kill -KILL $left 2>/dev/null || true
fi
exit "$rc"
