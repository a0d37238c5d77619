#!/bin/sh
# test/test_deploy.sh: the three ways to deploy fastres, plus make install.
#
#   scripts/fastres-run         wrapper: LD_PRELOAD kept and appended, the
#                               library really mapped in the child, refusals
#                               (missing library, static, setuid/setgid)
#   scripts/fastres-entrypoint  container entrypoint, with no Docker engine:
#                               PID 1 of a new PID namespace (unshare -pf)
#                               getting SIGTERM; a chroot into a minimal
#                               glibc root file system (busybox and its
#                               libraries) with and without the library; a
#                               fake musl root (static bash as /bin/sh, a
#                               /lib/ld-musl-x86_64.so.1, no glibc loader)
#   scripts/fastres-systemd     drop-in written into a temporary root
#   make install/uninstall      DESTDIR=tmp PREFIX=/usr: exactly these files
#
# Runs inside test/lab.sh (re-executes itself there when started outside);
# nothing here sends network traffic.  Needs root (chroot, unshare -p).
# Env: FASTRES_TEST_LIB (the library; default $BUILD/libfastres.so),
# FASTRES_TEST_PRELOAD (full LD_PRELOAD that loads it; under the sanitizer
# build libasan comes first; default: the library), BUILD (default build).
# A missing library is a failure, never a skip.  Ends with "N passed, N failed".
#
# Conditions given to expect() are single-quoted on purpose: eval'd later.
# shellcheck disable=SC2016,SC2034
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
if [ "${LAB_INSIDE:-}" != 1 ]; then
    exec "$here/lab.sh" "$here/test_deploy.sh" "$@"
fi

BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
LIB=${FASTRES_TEST_LIB:-$BUILD/libfastres.so}
PRELOAD=${FASTRES_TEST_PRELOAD:-$LIB}
RUN=$top/scripts/fastres-run
ENTRY=$top/scripts/fastres-entrypoint
SYSD=$top/scripts/fastres-systemd
# Readiness polls for the PID-1 program: 400 x 0.05 s = 20 s, generous for
# a loaded 2-core machine; the wait ends as soon as the program is ready.
READY_POLLS=400
# Hard limit on each namespace run, so a hung program cannot hang the suite.
NS_TIMEOUT_S=60

pass=0 failed=0
die() {
    echo "test_deploy: FAIL: $*" >&2
    echo "$pass passed, $((failed + 1)) failed"
    exit 1
}

[ -f "$LIB" ] || die "library $LIB missing (FASTRES_TEST_LIB; run make)"
LIB=$(cd "$(dirname "$LIB")" && pwd -P)/$(basename "$LIB")
[ "$(id -u)" = 0 ] || die "needs root (chroot, unshare -p)"
for c in cc od awk busybox unshare chroot timeout make; do
    command -v "$c" >/dev/null 2>&1 || die "$c not installed (scripts/deps.sh)"
done
[ -x /bin/bash-static ] || die "/bin/bash-static missing (bash-static; scripts/deps.sh)"

T=$(mktemp -d "${TMPDIR:-/tmp}/fastres-deploy.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$T"' EXIT
# Canonical, as the kernel shows paths in /proc/PID/maps.
T=$(cd "$T" && pwd -P)
unset FASTRES_LIB FASTRES_DISABLE
# Programs here (cat, sh, busybox) are not instrumented; leak reports from
# them would only be noise when libasan is preloaded.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

# Entries of FASTRES_TEST_PRELOAD other than the library (libasan under the
# sanitizer build): they must stay in front wherever the library is loaded.
# LD_PRELOAD takes spaces and colons alike.
PFX=''
oldifs=$IFS
IFS=' :	'
for e in $PRELOAD; do
    case $e in
    *libfastres*) ;;
    *) PFX="$PFX${PFX:+ }$e" ;;
    esac
done
IFS=$oldifs

# --- helpers ---------------------------------------------------------------

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

# pfx_join SEP: the PFX entries joined with SEP.
pfx_join() {
    pj=''
    for e in $PFX; do pj="$pj${pj:+$1}$e"; done
    printf '%s' "$pj"
}
lines() { wc -l <"$1" | tr -d ' '; }
# The child's LD_PRELOAD, from `... -- cat /proc/self/environ` output.
child_preload() { tr '\0' '\n' <"$T/out" | sed -n 's/^LD_PRELOAD=//p'; }
child_env() { tr '\0' '\n' <"$T/out" | grep "^$1=" || :; }

# copy_with_libs ROOT FILE...: copy files and the libraries ldd names for
# them to the same paths under ROOT.
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

# --- test inputs -------------------------------------------------------------

printf 'int fr_deploy_dummy_marker;\n' >"$T/d.c"
cc -shared -fPIC -o "$T/dummy.so" "$T/d.c" || die "cannot build a stand-in library"
cc -shared -fPIC -o "$T/dummy2.so" "$T/d.c" || die "cannot build a stand-in library"
cc -shared -fPIC -o "$T/dummy3.so" "$T/d.c" || die "cannot build a stand-in library"
DUMMY=$T/dummy.so DUMMY2=$T/dummy2.so DUMMY3=$T/dummy3.so
printf '#include <stdio.h>\nint main(void) { puts("static-ran"); return 0; }\n' >"$T/s.c"
cc -static -o "$T/static" "$T/s.c" || die "cannot build a static program (libc6-dev provides libc.a)"
printf '#!%s\n' "$T/static" >"$T/static-interp.sh"
printf '#!/bin/sh\ncat /proc/self/maps\n' >"$T/maps.sh"
chmod +x "$T/static-interp.sh" "$T/maps.sh"
cp /bin/cat "$T/suid-cat" && chmod 4755 "$T/suid-cat"
cp /bin/cat "$T/sgid-cat" && chmod 2755 "$T/sgid-cat"
# A library that ld.so cannot load: its dependency is gone.
printf 'int fr_gone(void) { return 1; }\n' >"$T/g.c"
printf 'int fr_gone(void);\nint fr_uses_gone(void) { return fr_gone(); }\n' >"$T/b.c"
if ! cc -shared -fPIC -o "$T/libfrgone.so" "$T/g.c" ||
    ! cc -shared -fPIC -o "$T/broken.so" "$T/b.c" -L"$T" -lfrgone; then
    die "cannot build the broken library"
fi
rm -f "$T/libfrgone.so"

# ===== fastres-run ============================================================

run "$RUN" --help
expect "run --help prints usage" '[ $rc = 0 ] && grep -q "^usage: fastres-run" "$T/out"'
run "$RUN" --version
expect "run --version" '[ $rc = 0 ] && grep -Eq "^fastres-run [0-9]+\.[0-9]+" "$T/out"'

# Without an LD_PRELOAD: the library is preloaded alone.  Under the
# sanitizer build the real library cannot load without libasan in front, so
# a stand-in library plays it there.
if [ -z "$PFX" ]; then L0=$LIB; else L0=$DUMMY; echo "# sanitizer build: stand-in library for the no-LD_PRELOAD case"; fi
run env -u LD_PRELOAD "$RUN" --lib "$L0" -- cat /proc/self/maps
expect "run: no LD_PRELOAD: library mapped in the child" '[ $rc = 0 ] && grep -qF "$L0" "$T/out"'
run env -u LD_PRELOAD "$RUN" --lib "$L0" -- cat /proc/self/environ
expect "run: no LD_PRELOAD: child's LD_PRELOAD is the library alone" '[ $rc = 0 ] && [ "$(child_preload)" = "$L0" ]'

# With an LD_PRELOAD in both legal forms: kept, library appended, all mapped.
for sep in : ' '; do
    old=$(pfx_join "$sep")
    old="$old${old:+$sep}$DUMMY2$sep$DUMMY3"
    if [ "$sep" = : ]; then form='colon'; else form='space'; fi
    run env LD_PRELOAD="$old" "$RUN" --lib "$LIB" -- cat /proc/self/maps
    expect "run: $form-separated LD_PRELOAD: library and old entry both mapped" \
        '[ $rc = 0 ] && grep -qF "$LIB" "$T/out" && grep -qF "$DUMMY2" "$T/out" && grep -qF "$DUMMY3" "$T/out"'
    run env LD_PRELOAD="$old" "$RUN" --lib "$LIB" -- cat /proc/self/environ
    expect "run: $form-separated LD_PRELOAD kept, library appended" \
        '[ $rc = 0 ] && [ "$(child_preload)" = "$old$sep$LIB" ]'
done
run env LD_PRELOAD="$DUMMY2 $DUMMY" "$RUN" --lib "$DUMMY" -- cat /proc/self/environ
expect "run: library already in LD_PRELOAD is not added twice" '[ $rc = 0 ] && [ "$(child_preload)" = "$DUMMY2 $DUMMY" ]'
run env -u LD_PRELOAD FASTRES_LIB="$DUMMY" "$RUN" -- cat /proc/self/environ
expect "run: FASTRES_LIB names the library" '[ $rc = 0 ] && [ "$(child_preload)" = "$DUMMY" ]'
(cd "$T" && run env -u LD_PRELOAD "$RUN" --lib dummy.so -- cat /proc/self/environ && [ "$(child_preload)" = "$DUMMY" ])
rc=$?
expect "run: relative --lib becomes absolute" '[ $rc = 0 ]'

run env -u LD_PRELOAD "$RUN" --lib "$DUMMY" --servers '127.0.0.2:5353,[::1]:53,[fe80::1%lo]:53' \
    --timeout-ms 900 --resend-ms=150 --cache-size 0 --log debug --stats -- cat /proc/self/environ
expect "run: options map to FASTRES_* variables" '[ $rc = 0 ] &&
    [ "$(child_env FASTRES_SERVERS)" = "FASTRES_SERVERS=127.0.0.2:5353,[::1]:53,[fe80::1%lo]:53" ] &&
    [ "$(child_env FASTRES_TIMEOUT_MS)" = FASTRES_TIMEOUT_MS=900 ] &&
    [ "$(child_env FASTRES_RESEND_MS)" = FASTRES_RESEND_MS=150 ] &&
    [ "$(child_env FASTRES_CACHE_SIZE)" = FASTRES_CACHE_SIZE=0 ] &&
    [ "$(child_env FASTRES_LOG)" = FASTRES_LOG=debug ] &&
    [ "$(child_env FASTRES_STATS)" = FASTRES_STATS=1 ]'
run env -u LD_PRELOAD FASTRES_CACHE_MAX_TTL=60 "$RUN" --lib "$DUMMY" -- cat /proc/self/environ
expect "run: other FASTRES_* settings pass through" '[ $rc = 0 ] && [ "$(child_env FASTRES_CACHE_MAX_TTL)" = FASTRES_CACHE_MAX_TTL=60 ]'

# Usage errors: status 2, one line, command not run.  "ARGS|stderr text".
while IFS='|' read -r args text; do
    rm -f "$T/ran"
    # shellcheck disable=SC2086 # ARGS is a word list on purpose
    run "$RUN" --lib "$DUMMY" $args touch "$T/ran"
    expect "run: usage error '$args'" \
        '[ $rc = 2 ] && [ "$(lines "$T/err")" = 1 ] && grep -qF "$text" "$T/err" && [ ! -e "$T/ran" ]'
done <<'EOF'
--timeout-ms abc --|needs a non-negative integer
--cache-size -1 --|needs a non-negative integer
--resend-ms 12345678901 --|too large
--log loud --|needs error, warn, info or debug
--servers 1.2.3.4;x --|needs a list
--bogus --|unknown option
--stats=1 --|takes no value
EOF
run "$RUN" --lib "$DUMMY"
expect "run: no command is a usage error" '[ $rc = 2 ] && grep -q "no command given" "$T/err"'

# Refusals: status 1, one line naming the reason, command not run.
rm -f "$T/ran"
run "$RUN" --lib "$T/nonexistent.so" -- touch "$T/ran"
expect "run: refuses a missing --lib" '[ $rc = 1 ] && [ "$(lines "$T/err")" = 1 ] && grep -q "library not found" "$T/err" && [ ! -e "$T/ran" ]'
run env FASTRES_LIB="$T/nonexistent.so" "$RUN" -- touch "$T/ran"
expect "run: refuses a missing FASTRES_LIB" '[ $rc = 1 ] && [ "$(lines "$T/err")" = 1 ] && grep -q "library not found" "$T/err" && [ ! -e "$T/ran" ]'
run "$RUN" --lib "$DUMMY" -- "$T/static"
expect "run: refuses a static binary" '[ $rc = 1 ] && [ "$(lines "$T/err")" = 1 ] && grep -q "statically linked" "$T/err" && ! grep -q static-ran "$T/out"'
run "$RUN" --lib "$DUMMY" -- "$T/static-interp.sh"
expect "run: refuses a script whose interpreter is static" '[ $rc = 1 ] && grep -q "statically linked" "$T/err" && ! grep -q static-ran "$T/out"'
run "$RUN" --lib "$DUMMY" -- "$T/suid-cat" /proc/self/maps
expect "run: refuses a setuid copy" '[ $rc = 1 ] && [ "$(lines "$T/err")" = 1 ] && grep -q setuid "$T/err" && [ ! -s "$T/out" ]'
run "$RUN" --lib "$DUMMY" -- "$T/sgid-cat" /proc/self/maps
expect "run: refuses a setgid copy" '[ $rc = 1 ] && grep -q setgid "$T/err" && [ ! -s "$T/out" ]'
run "$RUN" --lib "$T/d.c" -- cat /dev/null
expect "run: refuses a library that is not ELF" '[ $rc = 1 ] && grep -q "not an ELF library" "$T/err"'
run "$RUN" --lib "$DUMMY" -- fastres-no-such-command
expect "run: unknown command exits 127" '[ $rc = 127 ] && grep -q "command not found" "$T/err"'

run env -u LD_PRELOAD "$RUN" --lib "$DUMMY" -- "$T/maps.sh"
expect "run: #!/bin/sh script accepted, library reaches its children" '[ $rc = 0 ] && grep -qF "$DUMMY" "$T/out"'
run sh -c 'echo $$; exec "$1" --lib "$2" -- sh -c "echo \$\$; exit 9"' sh "$RUN" "$DUMMY"
expect "run: execs the command (same pid) and passes its status" \
    '[ $rc = 9 ] && [ "$(lines "$T/out")" = 2 ] && [ "$(sed -n 1p "$T/out")" = "$(sed -n 2p "$T/out")" ]'

# ===== fastres-entrypoint ======================================================

run "$ENTRY"
expect "entrypoint: no program is a usage error" '[ $rc = 2 ]'
run env FASTRES_LIB="$DUMMY" "$ENTRY" sh -c 'exit 3'
expect "entrypoint: passes the exit status" '[ $rc = 3 ] && [ ! -s "$T/err" ]'
run env LD_PRELOAD="$DUMMY2" FASTRES_LIB="$DUMMY" "$ENTRY" cat /proc/self/environ
expect "entrypoint: keeps LD_PRELOAD, appends the library" '[ $rc = 0 ] && [ "$(child_preload)" = "$DUMMY2 $DUMMY" ]'
run env -u LD_PRELOAD FASTRES_DISABLE=1 FASTRES_LIB="$DUMMY" "$ENTRY" cat /proc/self/environ
expect "entrypoint: FASTRES_DISABLE=1 preloads nothing" '[ $rc = 0 ] && [ -z "$(child_preload)" ] && [ ! -s "$T/err" ]'
run env -u LD_PRELOAD FASTRES_LIB="$T/broken.so" "$ENTRY" cat /proc/self/environ
expect "entrypoint: library that fails a trial load: one warning, runs without" \
    '[ $rc = 0 ] && [ "$(lines "$T/err")" = 1 ] && grep -q "trial load" "$T/err" && [ -z "$(child_preload)" ] && grep -q "^PATH=" "$T/out"'
run env -u LD_PRELOAD FASTRES_LIB="$T/nonexistent.so" busybox sh "$ENTRY" cat /proc/self/environ
expect "entrypoint (busybox sh): missing library: one warning, runs without" \
    '[ $rc = 0 ] && [ "$(lines "$T/err")" = 1 ] && grep -q "library not found" "$T/err" && grep -q "^PATH=" "$T/out"'

# PID 1 in a new PID namespace: the program is exec'd (its $$ is 1), has the
# library mapped, gets SIGTERM, and its status 42 comes out of unshare.
mkdir -p "$T/p1"
cat >"$T/pid1.sh" <<'EOF'
#!/bin/sh
trap 'exit 42' TERM
echo "$$" >"$1/pid"
cat "/proc/$$/maps" >"$1/maps"
# Backgrounded so that the shell runs the trap as soon as TERM arrives.
sleep 600 &
echo ready >"$1/ready"
wait $!
exit 1
EOF
chmod +x "$T/pid1.sh"
env LD_PRELOAD="$PFX" FASTRES_LIB="$LIB" timeout -s KILL "$NS_TIMEOUT_S" \
    unshare --kill-child -pf --mount-proc "$ENTRY" "$T/pid1.sh" "$T/p1" >"$T/out" 2>"$T/err" &
upid=$!
i=0
while [ ! -s "$T/p1/ready" ] && [ "$i" -lt "$READY_POLLS" ]; do
    sleep 0.05
    i=$((i + 1))
done
# The namespace's PID 1 as seen from here: the child of unshare, which is
# the child of timeout ($upid).
inner=''
for s in /proc/[0-9]*/status; do
    pp=$(awk '$1 == "PPid:" { print $2 }' "$s" 2>/dev/null)
    case $pp in '' | 0) continue ;; esac
    p=${s#/proc/}
    p=${p%/status}
    ppp=$(awk '$1 == "PPid:" { print $2 }' "/proc/$pp/status" 2>/dev/null)
    if [ "$ppp" = "$upid" ]; then inner=$p; fi
done
[ -n "$inner" ] && kill -TERM "$inner"
wait "$upid"
rc=$?
expect "entrypoint: program runs as PID 1 (exec'd)" '[ "$(cat "$T/p1/pid" 2>/dev/null)" = 1 ]'
expect "entrypoint: PID 1 has the library mapped" 'grep -qF "$LIB" "$T/p1/maps"'
expect "entrypoint: SIGTERM reaches PID 1, exit status 42 is the namespace's" '[ -n "$inner" ] && [ $rc = 42 ]'

# Minimal glibc root: busybox (sh, cat) and its libraries, the entrypoint.
G=$T/groot
mkdir -p "$G/bin" "$G/proc" "$G/opt/fastres" "$G/tmp"
copy_with_libs "$G" "$(command -v busybox)" || die "cannot fill $G"
mv "$G$(command -v busybox)" "$G/bin/busybox" 2>/dev/null || :
ln -sf busybox "$G/bin/sh"
ln -sf busybox "$G/bin/cat"
cp "$ENTRY" "$G/opt/fastres/fastres-entrypoint"
run env -u LD_PRELOAD timeout -s KILL "$NS_TIMEOUT_S" unshare -pf --mount-proc="$G/proc" \
    chroot "$G" /opt/fastres/fastres-entrypoint /bin/cat /proc/self/maps
expect "entrypoint in glibc chroot, library missing: one warning, program runs" \
    '[ $rc = 0 ] && [ "$(lines "$T/err")" = 1 ] && grep -q "library not found" "$T/err" && grep -q busybox "$T/out" && ! grep -q libfastres "$T/out"'
copy_with_libs "$G" "$LIB" || die "cannot copy the library's dependencies into $G"
cp "$LIB" "$G/opt/fastres/libfastres.so"
for e in $PFX; do
    case $e in /*) copy_with_libs "$G" "$e" || die "cannot copy $e into $G" ;; esac
done
run env LD_PRELOAD="$PFX" timeout -s KILL "$NS_TIMEOUT_S" unshare -pf --mount-proc="$G/proc" \
    chroot "$G" /opt/fastres/fastres-entrypoint /bin/cat /proc/self/maps
expect "entrypoint in glibc chroot, library beside it: program has it mapped, no warning" \
    '[ $rc = 0 ] && grep -q " /opt/fastres/libfastres.so$" "$T/out" && ! grep -q fastres-entrypoint "$T/err"'

# Fake musl root: a static shell, a musl loader file, no glibc loader.
M=$T/mroot
mkdir -p "$M/bin" "$M/lib" "$M/proc" "$M/opt/fastres"
cp /bin/bash-static "$M/bin/sh"
: >"$M/lib/ld-musl-x86_64.so.1"
cp "$ENTRY" "$M/opt/fastres/fastres-entrypoint"
cp "$LIB" "$M/opt/fastres/libfastres.so"
run env -u LD_PRELOAD timeout -s KILL "$NS_TIMEOUT_S" unshare -pf --mount-proc="$M/proc" \
    chroot "$M" /opt/fastres/fastres-entrypoint /bin/sh -c \
    'echo "preload=[${LD_PRELOAD-}]"; while IFS= read -r l; do case $l in *libfastres*) echo MAPPED ;; esac; done </proc/self/maps'
expect "entrypoint in musl root: one warning naming musl, program runs without" \
    '[ $rc = 0 ] && [ "$(lines "$T/err")" = 1 ] && grep -q musl "$T/err" && grep -qx "preload=\[\]" "$T/out" && ! grep -q MAPPED "$T/out"'

# ===== fastres-systemd ========================================================

R=$T/sroot
mkdir -p "$R/lib/systemd/system" "$R/usr/lib/fastres" "$R/etc/systemd/system"
cp "$DUMMY" "$R/usr/lib/fastres/libfastres.so"
RLIB=/usr/lib/fastres/libfastres.so
cat >"$R/lib/systemd/system/web.service" <<'EOF'
[Unit]
Description=a service that preloads an allocator
Environment=LD_PRELOAD=/ignored/outside/service/section.so
[Service]
Environment="GREETING=a b" LD_PRELOAD=/usr/lib/libfirst.so
Environment=LD_PRELOAD='/opt/a.so /opt/b.so' \
  OTHER=1
ExecStart=/usr/bin/web
EOF
D=$R/etc/systemd/system/web.service.d/fastres.conf
run "$SYSD" web --root "$R" --lib "$RLIB" --servers '127.0.0.2,[::1]:53' --timeout-ms 1500 --log info --stats
cat >"$T/want" <<EOF
# Written by fastres-systemd 0.1.0: preloads fastres into web.service.
# LD_PRELOAD kept from /lib/systemd/system/web.service: /opt/a.so /opt/b.so
# Undo: fastres-systemd web.service --remove
[Service]
Environment="LD_PRELOAD=/opt/a.so /opt/b.so $RLIB"
Environment="FASTRES_SERVERS=127.0.0.2,[::1]:53"
Environment="FASTRES_TIMEOUT_MS=1500"
Environment="FASTRES_LOG=info"
Environment="FASTRES_STATS=1"
EOF
expect "systemd: drop-in keeps the unit's LD_PRELOAD, line by line" '[ $rc = 0 ] && diff -u "$T/want" "$D" >&2'
expect "systemd: prints the reload and restart it needs" 'grep -q "^systemctl daemon-reload && systemctl restart web.service" "$T/out"'
# What an earlier run left must not feed back into the new drop-in.
printf '[Service]\nEnvironment=LD_PRELOAD=/bogus.so\n' >>"$D"
run "$SYSD" web.service --root "$R" --lib "$RLIB"
expect "systemd: a second run replaces the drop-in, ignoring the old one" \
    '[ $rc = 0 ] && [ "$(grep -c "^Environment=" "$D")" = 1 ] && grep -qx "Environment=\"LD_PRELOAD=/opt/a.so /opt/b.so $RLIB\"" "$D"'
printf '[Service]\nEnvironment=LD_PRELOAD=/opt/override.so\n' >"$R/etc/systemd/system/web.service.d/override.conf"
run "$SYSD" web --root "$R" --lib "$RLIB"
expect "systemd: LD_PRELOAD from another drop-in kept, warned as read after ours" \
    '[ $rc = 0 ] && grep -qx "Environment=\"LD_PRELOAD=/opt/override.so $RLIB\"" "$D" && grep -q "read after fastres.conf" "$T/err"'
run "$SYSD" web --root "$R" --remove
expect "systemd: --remove deletes the drop-in, keeps the other" \
    '[ $rc = 0 ] && [ ! -e "$D" ] && [ -f "$R/etc/systemd/system/web.service.d/override.conf" ] && grep -q "systemctl daemon-reload" "$T/out"'
rm -f "$R/etc/systemd/system/web.service.d/override.conf"
run "$SYSD" web --root "$R" --lib "$RLIB"
run "$SYSD" web --root "$R" --remove
expect "systemd: --remove of the last drop-in removes its directory" '[ $rc = 0 ] && [ ! -e "$R/etc/systemd/system/web.service.d" ]'
run "$SYSD" web --root "$R" --remove
expect "systemd: --remove with nothing there is fine" '[ $rc = 0 ] && grep -q "nothing to remove" "$T/out"'

printf '[Service]\nExecStart=/usr/bin/plain\n' >"$R/lib/systemd/system/plain.service"
run "$SYSD" plain --root "$R" --lib "$RLIB" --cache-size 0
printf '# Written by fastres-systemd 0.1.0: preloads fastres into plain.service.\n# Undo: fastres-systemd plain.service --remove\n[Service]\nEnvironment="LD_PRELOAD=%s"\nEnvironment="FASTRES_CACHE_SIZE=0"\n' "$RLIB" >"$T/want"
expect "systemd: unit without LD_PRELOAD gets the library alone" '[ $rc = 0 ] && diff -u "$T/want" "$R/etc/systemd/system/plain.service.d/fastres.conf" >&2'
printf '[Service]\nEnvironment=LD_PRELOAD=/opt/tmpl.so\n' >"$R/lib/systemd/system/worker@.service"
run "$SYSD" worker@3 --root "$R" --lib "$RLIB"
expect "systemd: instance keeps its template's LD_PRELOAD" \
    '[ $rc = 0 ] && grep -qx "Environment=\"LD_PRELOAD=/opt/tmpl.so $RLIB\"" "$R/etc/systemd/system/worker@3.service.d/fastres.conf"'

# On a running system systemctl names the unit's files.  No systemd runs
# here: a fake systemctl answers, and an empty directory is bind-mounted over
# /etc/systemd/system in a private mount namespace for the drop-in.
if [ -d /etc/systemd/system ]; then
    mkdir -p "$T/sc/web.service.d" "$T/etcsd/web.service.d"
    printf '[Service]\nEnvironment="LD_PRELOAD=/opt/x.so /opt/y.so" A=1\n' >"$T/sc/web.service"
    printf '[Service]\nEnvironment=OTHER=1\n' >"$T/sc/web.service.d/10-env.conf"
    # Left by an earlier run: must not feed back into the new one.
    printf '[Service]\nEnvironment=LD_PRELOAD=/bogus.so\n' >"$T/etcsd/web.service.d/fastres.conf"
    cat >"$T/fake-systemctl" <<'EOF'
#!/bin/sh
# Answers only: show -p PROPERTY --value -- UNIT
[ "$1.$2.$4.$5" = "show.-p.--value.--" ] && [ "$6" = web.service ] || exit 1
case $3 in
FragmentPath) printf '%s\n' "$FAKE_FRAG" ;;
DropInPaths) printf '%s\n' "$FAKE_DROPS" ;;
*) exit 1 ;;
esac
EOF
    chmod +x "$T/fake-systemctl"
    run env FASTRES_SYSTEMCTL="$T/fake-systemctl" FAKE_FRAG="$T/sc/web.service" \
        FAKE_DROPS="$T/sc/web.service.d/10-env.conf /etc/systemd/system/web.service.d/fastres.conf" \
        unshare -m sh -c 'mount --bind "$1" /etc/systemd/system && exec "$2" web --lib "$3"' sh \
        "$T/etcsd" "$SYSD" "$DUMMY"
    expect "systemd: running system: LD_PRELOAD kept from the files systemctl names" \
        '[ $rc = 0 ] && grep -qx "Environment=\"LD_PRELOAD=/opt/x.so /opt/y.so $DUMMY\"" "$T/etcsd/web.service.d/fastres.conf" &&
         grep -q "wrote /etc/systemd/system/web.service.d/fastres.conf" "$T/out"'
else
    echo "# no /etc/systemd/system to mount over: running-system case not run"
fi

ls -A "$R/etc/systemd/system" >"$T/before"
while IFS= read -r u; do
    run "$SYSD" "$u" --root "$R" --lib "$RLIB"
    expect "systemd: refuses unit name '$u'" '[ $rc = 2 ] && [ "$(lines "$T/err")" = 1 ] && grep -q "bad unit name" "$T/err"'
done <<'EOF'
../../etc/passwd
web/x
web service
web;id
.hidden
@x
a@b@c.service
web.socket
EOF
ls -A "$R/etc/systemd/system" >"$T/after"
expect "systemd: refused names wrote nothing" 'cmp -s "$T/before" "$T/after"'
run "$SYSD" web --root "$R" --lib /usr/lib/fastres/missing.so
expect "systemd: refuses a library missing under the root" '[ $rc = 1 ] && grep -q "library not found" "$T/err" && [ ! -e "$D" ]'
run "$SYSD" web --root "$R" --lib lib/fastres.so
expect "systemd: refuses a relative library path" '[ $rc = 2 ] && grep -q "absolute path" "$T/err"'
run "$SYSD" web --root "$R" --lib "$RLIB" --timeout-ms soon
expect "systemd: refuses a bad setting" '[ $rc = 2 ] && [ ! -e "$D" ]'

# ===== make install / uninstall ================================================

I=$T/inst
cp "$DUMMY" "$T/libfastres.so"
[ -x "$BUILD/fastres-stat" ] || die "$BUILD/fastres-stat missing (make)"
run make -s -C "$top" install DESTDIR="$I" PREFIX=/usr INSTALL_SO="$T/libfastres.so" INSTALL_STAT="$BUILD/fastres-stat"
(cd "$I" && find . ! -type d | sort) >"$T/files"
cat >"$T/want" <<'EOF'
./usr/bin/fastres-entrypoint
./usr/bin/fastres-run
./usr/bin/fastres-stat
./usr/bin/fastres-systemd
./usr/lib/fastres/libfastres.so
./usr/share/man/man1/fastres-entrypoint.1
./usr/share/man/man1/fastres-run.1
./usr/share/man/man1/fastres-stat.1
./usr/share/man/man1/fastres-systemd.1
EOF
expect "install: exactly the expected files" '[ $rc = 0 ] && diff -u "$T/want" "$T/files" >&2'
expect "install: modes 755 for library and scripts, 644 for man pages" \
    '[ "$(cd "$I/usr" && stat -c "%a %n" bin/* lib/fastres/* share/man/man1/* | sort -k2 | tr "\n" " ")" = "755 bin/fastres-entrypoint 755 bin/fastres-run 755 bin/fastres-stat 755 bin/fastres-systemd 755 lib/fastres/libfastres.so 644 share/man/man1/fastres-entrypoint.1 644 share/man/man1/fastres-run.1 644 share/man/man1/fastres-stat.1 644 share/man/man1/fastres-systemd.1 " ]'
expect "install: scripts carry the installed library path" \
    '[ "$(grep -l "^fr_installed_lib=./usr/lib/fastres/libfastres.so.$" "$I"/usr/bin/* | wc -l)" = 3 ] && ! grep -q "@FASTRES_LIB@" "$I"/usr/bin/*'
expect "install: installed scripts pass sh -n" '(for s in "$I"/usr/bin/*; do [ "${s##*/}" = fastres-stat ] || sh -n "$s" || exit 1; done)'
expect "install: installed fastres-stat runs" '"$I/usr/bin/fastres-stat" --version | grep -q "^fastres-stat [0-9]"'
# Were fastres really installed in /usr, the substituted path would win.
want_lib=$I/usr/lib/fastres/libfastres.so
[ ! -f /usr/lib/fastres/libfastres.so ] || want_lib=/usr/lib/fastres/libfastres.so
run env -u LD_PRELOAD "$I/usr/bin/fastres-run" -- cat /proc/self/environ
expect "install: installed fastres-run finds the library" \
    '[ $rc = 0 ] && [ "$(child_preload)" = "$want_lib" ]'
run make -s -C "$top" uninstall DESTDIR="$I" PREFIX=/usr
expect "uninstall: no file left, library directory gone" \
    '[ $rc = 0 ] && [ -z "$(cd "$I" && find . ! -type d)" ] && [ ! -e "$I/usr/lib/fastres" ]'

echo "$pass passed, $failed failed"
[ "$failed" = 0 ]
