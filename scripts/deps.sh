#!/bin/sh
# Install (as root) or name (otherwise) the Debian packages fastres needs to
# build, test and benchmark. Called by `make deps`, `make check`, `make demo`.
set -eu
PKGS="build-essential pkg-config libc-ares-dev libcriterion-dev dnsmasq-base iproute2 util-linux nftables
 valgrind gnuplot-nox curl wget python3 perl nodejs default-jre-headless debootstrap busybox bash-static"
# `make deb` (scripts/deb.sh): dpkg-buildpackage, dh, lintian. No fakeroot:
# debian/control says Rules-Requires-Root: no.
PKGS="$PKGS dpkg-dev debhelper lintian"
# test_diff_surface.sh / test_preload: an NSS module on the hosts line
# (issue 11). Its postinst adds "myhostname" to /etc/nsswitch.conf's hosts
# line; the tests bind-mount their own nsswitch.conf (test/lab.sh).
PKGS="$PKGS libnss-myhostname"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
    echo "fastres deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing >/dev/null
else
    echo "fastres deps: missing packages:$missing" >&2
    echo "install them with: sudo apt-get install$missing" >&2
    exit 1
fi
