#!/bin/sh
# Install (as root) or name (otherwise) the Debian packages fastres needs to
# build, test and benchmark. Called by `make deps`, `make check`, `make demo`.
set -eu
PKGS="build-essential pkg-config libc-ares-dev libcriterion-dev dnsmasq-base iproute2 util-linux nftables
 valgrind gnuplot-nox curl wget python3 perl nodejs default-jre-headless debootstrap busybox bash-static"
# `make deb` (scripts/deb.sh): dpkg-buildpackage, dh, lintian. No fakeroot:
# debian/control says Rules-Requires-Root: no.
PKGS="$PKGS dpkg-dev debhelper lintian"
# Bench contenders (bench/run.sh): unbound as a local forwarding cache, nscd
# in front of glibc, musl's stub (musl-gcc). The bench starts unbound and nscd
# itself, inside the lab; their system services must never run (see below).
PKGS="$PKGS unbound nscd musl-tools"
# Fuzzing (make fuzz, test/test_fuzz.sh): clang with libFuzzer's runtime.
PKGS="$PKGS clang libclang-rt-14-dev"
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
    # unbound's and nscd's packages enable and start a system service: a
    # machine-wide nscd would cache every lookup of every program here, a
    # system unbound would hold 127.0.0.1:53. While they are installed,
    # policy-rc.d (Debian's invoke-rc.d policy hook; exit 101 = forbidden) keeps
    # invoke-rc.d and deb-systemd-invoke from starting them, unless the
    # machine has a policy of its own; afterwards their units are disabled
    # (only those this run installed: they were not there before).
    daemons=""
    for p in $missing; do
        case $p in unbound) daemons="$daemons unbound unbound-resolvconf" ;; nscd) daemons="$daemons nscd" ;; esac
    done
    if [ -n "$daemons" ] && [ ! -e /usr/sbin/policy-rc.d ]; then
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
        printf '#!/bin/sh\n# fastres scripts/deps.sh: no service starts during its install\nexit 101\n' \
            >/usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
    fi
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing >/dev/null
    for d in $daemons; do
        if command -v systemctl >/dev/null 2>&1; then
            systemctl disable --quiet "$d.service" 2>/dev/null || :
        fi
        [ ! -x "/etc/init.d/$d" ] || update-rc.d "$d" disable >/dev/null 2>&1 || :
    done
else
    echo "fastres deps: missing packages:$missing" >&2
    echo "install them with: sudo apt-get install$missing" >&2
    exit 1
fi
