#!/bin/sh
# test/test_deb.sh: the Debian package (`make deb`, debian/).
#
#   build     scripts/deb.sh builds the package from a copy of this tree into
#             a scratch directory (never the developer's build/); it fails on
#             any lintian error
#   contents  exactly the expected files, no maintainer script, the scripts
#             pointing at the multiarch library path
#   install   dpkg --root into a scratch root: it adds exactly the package's
#             files and nothing else; dpkg --purge leaves the root as before
#   run       that root's /usr/bin/fastres-run, in a chroot (dash, od, cat,
#             getent and their libraries copied in), against the lab: first
#             nameserver silent (faultdns --mode drop on 127.0.0.2), second a
#             dnsmasq on 127.0.0.3.  glibc alone waits 5 s on the silent
#             server (checked: no answer within 3 s); through the package's
#             fastres-run the answer must come in under 2 s, the library
#             must be mapped from /usr/lib/<multiarch>/fastres/ and
#             FASTRES_STATS must count the question.
#
# Runs inside test/lab.sh (re-executes itself there when started outside).
# Needs root (chroot, dpkg --root), dpkg-dev, debhelper, lintian, dnsmasq and
# $FASTRES_TEST_TOOLS/faultdns (make check-fast builds it).  A missing tool
# is a failure, never a skip.  Under BUILD=build-san the whole test is
# skipped by name: the package is built with Debian's flags, never with
# sanitizers, so the BUILD=build run has already tested the same package.
# Ends with "N passed, N failed".
#
# Conditions given to expect() are single-quoted on purpose: eval'd later
# (SC2034: variables they read look unused to shellcheck).
# shellcheck disable=SC2016,SC2034
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
if [ "${LAB_INSIDE:-}" != 1 ]; then
    exec "$here/lab.sh" "$here/test_deb.sh" "$@"
fi

BUILD=${BUILD:-build}
case $BUILD in
*san*)
    echo "SKIP test_deb.sh under BUILD=$BUILD: the package is built with Debian's flags, not sanitizers; the BUILD=build run tests it"
    echo "0 passed, 0 failed"
    exit 0
    ;;
esac
TOOLS=${FASTRES_TEST_TOOLS:-$top/$BUILD/tools}
# The package build and lintian take about 20 s on an idle 2-core machine.
BUILD_TIMEOUT_S=300
# One chroot run; glibc alone needs 5 s for the silent server.
RUN_TIMEOUT_S=30
# glibc waits 5 s (RES_TIMEOUT) on the silent first server: it must not have
# answered after this long.
GLIBC_SLOW_S=3
# fastres races both servers: the answer must come well under glibc's 5 s.
# Generous: milliseconds on an idle machine, but the machine is shared.
FASTRES_FAST_MS=2000
# dnsmasq start-up: 100 polls of 0.05 s.
START_POLLS=100
NAME=www.deb.test
ADDR=192.0.2.77

pass=0 failed=0
die() {
    echo "test_deb: FAIL: $*" >&2
    echo "$pass passed, $((failed + 1)) failed"
    exit 1
}

# run CMD...: stdout to $T/out, stderr to $T/err, status in $rc.
run() {
    "$@" </dev/null >"$T/out" 2>"$T/err"
    rc=$?
}

# expect NAME CONDITION: CONDITION is evaluated after a run.
expect() {
    if eval "$2"; then
        pass=$((pass + 1))
        echo "ok - $1"
    else
        failed=$((failed + 1))
        echo "not ok - $1"
        echo "#   condition: $2"
        echo "#   status $rc; stdout:"
        head -n 5 "$T/out" | sed 's/^/#     /'
        echo "#   stderr:"
        head -n 5 "$T/err" | sed 's/^/#     /'
    fi
}

# copy_with_libs ROOT FILE...: copy files and the libraries ldd names for
# them to the same paths under ROOT (as test_deploy.sh does).
copy_with_libs() {
    cr=$1
    shift
    for f in "$@"; do
        for p in "$f" $(ldd "$f" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
            [ -e "$cr$p" ] && continue
            mkdir -p "$cr$(dirname "$p")" && cp -L "$p" "$cr$p" || return 1
        done
    done
}

# Names of the files in the root, without dpkg's own database and log.
root_files() {
    (cd "$R" && find . ! -type d | sed 's|^\./||' | grep -v '^var/lib/dpkg/\|^var/log/' | sort)
}

# The developer's libraries: size, time and checksum ("none" if absent).
dev_libs() {
    for f in "$top/libfastres.so" "$top/$BUILD/libfastres.so"; do
        if [ -e "$f" ]; then
            printf '%s %s\n' "$(stat -c '%s %Y' "$f")" "$(cksum <"$f")"
        else
            echo none
        fi
    done
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

[ "$(id -u)" = 0 ] || die "needs root (chroot, dpkg --root)"
for c in dpkg dpkg-deb dpkg-buildpackage dpkg-architecture dh lintian dnsmasq chroot unshare ldd timeout; do
    command -v "$c" >/dev/null 2>&1 || die "$c not installed (scripts/deps.sh)"
done
[ -x "$TOOLS/faultdns" ] || die "$TOOLS/faultdns missing (make check-fast builds it)"

T=$(mktemp -d "${TMPDIR:-/tmp}/fastres-deb.XXXXXX") || die "mktemp failed"
pids=''
trap 'for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$T"' EXIT
unset FASTRES_LIB FASTRES_DISABLE LD_PRELOAD
rc=0
: >"$T/out"
: >"$T/err"

# ===== build ================================================================

version=$(cd "$top" && dpkg-parsechangelog -S Version) || die "cannot read debian/changelog"
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
DEB=$T/deb/fastres_${version}_$arch.deb
devlibs=$(dev_libs)
t0=$(now_ms)
timeout "$BUILD_TIMEOUT_S" "$top/scripts/deb.sh" "$T/deb" >"$T/build.log" 2>&1
rc=$?
t1=$(now_ms)
echo "# package build and lintian: $((t1 - t0)) ms"
if [ $rc != 0 ] || [ ! -f "$DEB" ]; then
    tail -n 30 "$T/build.log" | sed 's/^/#   /'
    die "scripts/deb.sh exit $rc; no $DEB"
fi
expect "deb.sh builds fastres_${version}_$arch.deb (lintian: no error)" '[ -s "$DEB" ]'
expect "lintian ran and reported no error" \
    'grep -q "^deb.sh: package:" "$T/build.log" && ! grep -q "^E: " "$T/build.log"'
grep '^[EW]: ' "$T/build.log" | sed 's/^/# lintian: /'
expect "the developer's build is untouched (libfastres.so in the tree and in $BUILD/)" \
    '[ "$(dev_libs)" = "$devlibs" ]'

# ===== contents ===============================================================

printf '%s\n' usr/bin/fastres-entrypoint usr/bin/fastres-run usr/bin/fastres-stat usr/bin/fastres-systemd \
    "usr/lib/$ma/fastres/libfastres.so" \
    usr/share/doc/fastres/README.md.gz usr/share/doc/fastres/changelog.gz usr/share/doc/fastres/copyright \
    usr/share/man/man1/fastres-entrypoint.1.gz usr/share/man/man1/fastres-run.1.gz \
    usr/share/man/man1/fastres-stat.1.gz usr/share/man/man1/fastres-systemd.1.gz | sort >"$T/want"
dpkg-deb -c "$DEB" | awk '$1 !~ /^d/ { sub(/^\.\//, "", $6); print $6 }' | sort >"$T/have"
run diff "$T/want" "$T/have"
expect "package holds exactly the expected files" '[ $rc = 0 ]'
run sh -c 'dpkg-deb --ctrl-tarfile "$1" | tar -t | sed "s|^\./||" | grep . | sort | tr "\n" " "' - "$DEB"
expect "no maintainer script: control holds control and md5sums only" '[ "$(cat "$T/out")" = "control md5sums " ]'
run grep -h '^fr_version=' "$top/scripts/fastres-run" "$top/scripts/fastres-systemd"
expect "debian/changelog's version $version is the scripts' fr_version" \
    '[ "$(sort -u "$T/out")" = "fr_version=$version" ]'
run dpkg-deb -f "$DEB" Package Version Architecture Depends
expect "control: fastres $version $arch, depends on libc6" \
    'grep -qx "Package: fastres" "$T/out" && grep -qx "Version: $version" "$T/out" && grep -qx "Architecture: $arch" "$T/out" && grep -q "^Depends: .*libc6" "$T/out"'

# ===== install ================================================================

R=$T/root
mkdir -p "$R/etc" "$R/proc" "$R/tmp" "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/var/log"
: >"$R/var/lib/dpkg/status"
: >"$R/var/lib/dpkg/available"
# The programs the run needs, with their libraries.  dash becomes /bin/sh
# (the scripts' #!); the package's own directories are not touched.
copy_with_libs "$R" /bin/dash "$(command -v od)" "$(command -v cat)" "$(command -v getent)" ||
    die "cannot fill the scratch root $R"
ln -s dash "$R/bin/sh"
# The scripts redirect to /dev/null.
{ mkdir -p "$R/dev" && mknod -m 0666 "$R/dev/null" c 1 3; } || die "cannot make $R/dev/null"
printf 'hosts: files dns\n' >"$R/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n' >"$R/etc/hosts"
printf 'nameserver 127.0.0.3\n' >"$R/etc/resolv.conf"
root_files >"$T/before"
# --force-depends: libc6 is in the root (copied) but not in its dpkg database.
run dpkg --root="$R" --force-depends -i "$DEB"
expect "dpkg --root -i installs the package" \
    '[ $rc = 0 ] && dpkg --root="$R" -s fastres 2>/dev/null | grep -qx "Status: install ok installed"'
root_files >"$T/after"
comm -13 "$T/before" "$T/after" >"$T/added"
comm -23 "$T/before" "$T/after" >"$T/removed"
run diff "$T/want" "$T/added"
expect "installing adds exactly the package's files, nothing else" '[ $rc = 0 ] && [ ! -s "$T/removed" ]'
expect "installed fastres-run points at /usr/lib/$ma/fastres/libfastres.so" \
    'grep -qx "fr_installed_lib=./usr/lib/$ma/fastres/libfastres.so." "$R/usr/bin/fastres-run"'

# ===== run against the lab =====================================================

# Silent first server, healthy second.
"$TOOLS/faultdns" --listen 127.0.0.2 --mode drop --count-file "$T/silent.count" >"$T/faultdns.log" 2>&1 &
pids="$pids $!"
dnsmasq -k --no-resolv --no-hosts --bind-interfaces --listen-address=127.0.0.3 --port=53 \
    --cache-size=0 --pid-file= --host-record="$NAME,$ADDR" >"$T/dnsmasq.log" 2>&1 &
pids="$pids $!"

# faultdns writes its count file (0) once it listens.
i=0
until [ -s "$T/silent.count" ]; do
    i=$((i + 1))
    [ $i -lt $START_POLLS ] || die "faultdns on 127.0.0.2 did not start (see $T/faultdns.log)"
    sleep 0.05
done
# Wait for dnsmasq with glibc alone, asking it only (resolv.conf as made above).
i=0
until chroot "$R" /usr/bin/getent ahostsv4 "$NAME" 2>/dev/null | grep -q "^$ADDR "; do
    i=$((i + 1))
    [ $i -lt $START_POLLS ] || die "dnsmasq on 127.0.0.3 does not answer (see $T/dnsmasq.log)"
    sleep 0.05
done
printf 'nameserver 127.0.0.2\nnameserver 127.0.0.3\n' >"$R/etc/resolv.conf"

# Control: glibc alone waits on the silent server, so the timing below can fail.
run timeout -s KILL "$GLIBC_SLOW_S" chroot "$R" /usr/bin/getent ahostsv4 "$NAME"
expect "control: glibc alone has no answer after ${GLIBC_SLOW_S} s (silent first server)" '[ $rc != 0 ] && [ ! -s "$T/out" ]'

silent_before=$(cat "$T/silent.count")
t0=$(now_ms)
run timeout -s KILL "$RUN_TIMEOUT_S" unshare -pf --mount-proc="$R/proc" \
    chroot "$R" /usr/bin/fastres-run --stats -- /usr/bin/getent ahostsv4 "$NAME"
t1=$(now_ms)
ms=$((t1 - t0))
echo "# fastres-run getent through the package: ${ms} ms (exit $rc)"
expect "package's fastres-run: answer $ADDR from the healthy server" '[ $rc = 0 ] && grep -q "^$ADDR " "$T/out"'
expect "package's fastres-run: answered in under $FASTRES_FAST_MS ms (${ms} ms)" '[ $ms -lt $FASTRES_FAST_MS ]'
expect "FASTRES_STATS counted the raced question" 'grep -q "questions raced [1-9][0-9]*, .* won [1-9]" "$T/err"'
expect "the silent server was asked too (raced)" '[ "$(cat "$T/silent.count")" -gt "$silent_before" ]'

run timeout -s KILL "$RUN_TIMEOUT_S" unshare -pf --mount-proc="$R/proc" \
    chroot "$R" /usr/bin/fastres-run -- /usr/bin/cat /proc/self/maps
expect "the library is mapped from /usr/lib/$ma/fastres/libfastres.so" \
    '[ $rc = 0 ] && grep -q " /usr/lib/$ma/fastres/libfastres.so$" "$T/out"'

# ===== remove ================================================================

run dpkg --root="$R" --purge fastres
prc=$rc
root_files >"$T/purged"
run diff "$T/before" "$T/purged"
expect "dpkg --root --purge leaves the root as it was" '[ $prc = 0 ] && [ $rc = 0 ]'

echo "$pass passed, $failed failed"
[ "$failed" = 0 ]
