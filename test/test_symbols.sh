#!/bin/sh
# test/test_symbols.sh: what libfastres.so shows the dynamic linker.
#
# - its dynamic symbol table defines exactly the interposed functions
#   (both res_* and __res_* names: see the field notes on symbol names);
# - no c-ares symbol is exported or imported (libcares.a is linked in with
#   hidden visibility, so a program carrying its own c-ares never binds to
#   ours and we never bind to theirs);
# - the library needs nothing but libc (plus the sanitizer runtimes in the
#   SAN=1 build).
#
# Needs no network; runs as is or inside test/lab.sh. Ends with the line
# "N passed, N failed" that test/run-all.sh reads.
set -u

here=$(cd "$(dirname "$0")" && pwd)
LIB=${FASTRES_TEST_LIB:-$here/../build/libfastres.so}

passed=0 failed=0
ok() { echo "PASS  $1"; passed=$((passed + 1)); }
bad() { echo "FAIL  $1"; failed=$((failed + 1)); }
check() { # check NAME COMMAND...: pass when COMMAND succeeds
    name=$1
    shift
    if "$@"; then ok "$name"; else bad "$name"; fi
}

EXPECTED="__res_nquery
__res_nquerydomain
__res_nsearch
__res_query
__res_querydomain
__res_search
__res_send
__res_nsend
freeaddrinfo
getaddrinfo
gethostbyaddr
gethostbyaddr_r
gethostbyname
gethostbyname2
gethostbyname2_r
gethostbyname_r
getnameinfo
res_nquery
res_nquerydomain
res_nsearch
res_query
res_querydomain
res_search
res_send
res_nsend"

if [ ! -f "$LIB" ]; then
    bad "library exists: $LIB"
    echo "$passed passed, $failed failed"
    exit 1
fi
ok "library exists: $LIB"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fastres-sym.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# Defined dynamic symbols, names only (an unversioned definition shows as
# the bare name; a version would show as name@@VER and fail the compare).
nm -D --defined-only "$LIB" | awk '{ print $3 }' | LC_ALL=C sort >"$tmp/defined"
printf '%s\n' "$EXPECTED" | LC_ALL=C sort >"$tmp/expected"
if cmp -s "$tmp/defined" "$tmp/expected"; then
    ok "exported symbols are exactly the 18 interposed functions"
else
    bad "exported symbols differ from the expected list (< expected, > actual):"
    diff "$tmp/expected" "$tmp/defined" | sed 's/^/      /'
fi

# Every expected symbol is a function (T), not data or an alias to one.
nt=$(nm -D --defined-only "$LIB" | awk '$2 != "T"' | wc -l)
check "every exported symbol is a text (T) symbol ($nt are not)" [ "$nt" -eq 0 ]

# No version on the exported symbols: readelf would print name@@VERSION.
nv=$(readelf --dyn-syms -W "$LIB" | awk '$5 == "GLOBAL" && $7 != "UND" && $8 ~ /@/' | wc -l)
check "exported symbols carry no version ($nv do)" [ "$nv" -eq 0 ]

nd=$(nm -D --defined-only "$LIB" | grep -ci 'ares_')
check "no ares_* symbol exported ($nd found)" [ "$nd" -eq 0 ]
nu=$(nm -D --undefined-only "$LIB" | grep -ci 'ares_')
check "no ares_* symbol imported ($nu found)" [ "$nu" -eq 0 ]
# The full symbol table (not only the dynamic one) may name c-ares, but
# none of it may be GLOBAL DEFAULT in .dynsym: checked above. Make sure
# the c-ares code is really in there (the link used libcares.a).
if readelf -s -W "$LIB" | grep -q 'ares_send'; then
    ok "c-ares is linked in statically (ares_send in .symtab)"
elif readelf -S -W "$LIB" | grep -q '\.symtab'; then
    bad "c-ares is linked in statically (no ares_send in .symtab)"
else
    ok "c-ares is linked in statically (stripped library: not checkable)"
fi

# NEEDED entries: libc only; the SAN=1 build also needs its runtimes.
readelf -d -W "$LIB" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' >"$tmp/needed"
case $LIB in
*build-san*) allowed='^(libc\.so\.6|ld-linux-x86-64\.so\.2|libasan\.so\.[0-9]+|libubsan\.so\.[0-9]+|libm\.so\.6|libstdc\+\+\.so\.6|libgcc_s\.so\.1)$' ;;
*) allowed='^(libc\.so\.6|ld-linux-x86-64\.so\.2)$' ;;
esac
extra=$(grep -Ev "$allowed" "$tmp/needed" | tr '\n' ' ')
check "NEEDED is libc only (extra: ${extra:-none})" [ -z "$extra" ]
check "NEEDED includes libc.so.6" grep -qx 'libc.so.6' "$tmp/needed"

# ldd: what the loader actually maps (catches a NEEDED of a NEEDED).
ldd "$LIB" >"$tmp/ldd" 2>&1
lextra=$(awk '{ print $1 }' "$tmp/ldd" | sed 's|.*/||' |
    grep -Ev '^(linux-vdso\.so\.1|libc\.so\.6|ld-linux-x86-64\.so\.2)$' | tr '\n' ' ')
case $LIB in
*build-san*) ok "ldd (sanitizer build: runtimes allowed)" ;;
*) check "ldd shows libc and the loader only (extra: ${lextra:-none})" [ -z "$lextra" ] ;;
esac
check "ldd reports no missing library" sh -c "! grep -q 'not found' '$tmp/ldd'"

# No text relocations and an immediate binding (-z now) as the Makefile asks.
check "no TEXTREL" sh -c "! readelf -d -W '$LIB' | grep -q TEXTREL"
check "BIND_NOW / FLAGS NOW set" sh -c "readelf -d -W '$LIB' | grep -Eq 'BIND_NOW|FLAGS.*NOW'"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
