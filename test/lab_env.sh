# test/lab_env.sh: what every lab shell test starts with, sourced right
# after the script finds its own folder:
#   here=$(cd "$(dirname "$0")" && pwd)
#   . "$here/lab_env.sh"
# Outside the lab it runs the calling script again inside it (lab.sh: a
# private network and mount namespace), with the same arguments. Inside,
# it sets root (the tree), BUILD, TOOLS (the helper programs) and PRELOAD
# (the library), all absolute, and with_preload.
root=$(cd "$here/.." && pwd)
if [ "${LAB_INSIDE:-}" != 1 ]; then
    exec "$here/lab.sh" "$here/$(basename "$0")" "$@"
fi

BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$root/$BUILD ;; esac
TOOLS=${FASTRES_TEST_TOOLS:-$BUILD/tools}
case $TOOLS in /*) ;; *) TOOLS=$root/$TOOLS ;; esac
PRELOAD=${FASTRES_TEST_PRELOAD:-$BUILD/libfastres.so}

# Run a command with the library preloaded, plus the ASan options run-all.sh
# gives for sanitizer builds (an ASan library in an uninstrumented program).
with_preload() {
    env ${FASTRES_TEST_ASAN_OPTIONS:+ASAN_OPTIONS=$FASTRES_TEST_ASAN_OPTIONS} LD_PRELOAD="$PRELOAD" "$@"
}

# Wall-clock milliseconds, for the timing bounds the tests assert.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The library must exist and really be loaded (ld.so only warns about a
# missing one). LD_PRELOAD separates entries with spaces or colons
# (run-all.sh uses "libasan.so:libfastres.so" for sanitizer builds).
# Returns 1 with the reason on stdout when it is not:
#   why=$(lab_check_preload) || die "$why"
lab_check_preload() {
    lab_found=0
    for lab_w in $(echo "$PRELOAD" | tr ':' ' '); do
        case $lab_w in
        */*) [ -f "$lab_w" ] || { echo "LD_PRELOAD entry $lab_w does not exist (run make)"; return 1; } ;;
        esac
        case $lab_w in *libfastres*.so*) lab_found=1 ;; esac
    done
    [ "$lab_found" = 1 ] || { echo "FASTRES_TEST_PRELOAD='$PRELOAD' names no libfastres.so"; return 1; }
    with_preload grep -q libfastres /proc/self/maps 2>/dev/null ||
        { echo "LD_PRELOAD='$PRELOAD' does not load libfastres into a program"; return 1; }
}
