#!/bin/sh
# scripts/deb.sh [DIR]: build the Debian package (what `make deb` runs).
#
# dpkg-buildpackage writes its results into the parent of the source
# directory, and its clean step runs in the source tree; so the package is
# built from a copy of this tree in DIR/fastres (default build/deb) and its
# files land in DIR: fastres_<version>_<arch>.deb, the -dbgsym .deb, the
# .buildinfo and .changes.  The developer's build/, build-san/ and
# ./libfastres.so are never touched.  The copy holds the work tree as it is
# (tracked and untracked files that .gitignore does not exclude), or, outside
# a git checkout, everything but .git, build*/ and libfastres.so.
#
# Then lintian checks the result; any error fails the script, warnings are
# printed.  Needs dpkg-dev, debhelper and lintian (scripts/deps.sh).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/build/deb}
for c in dpkg-buildpackage dh lintian; do
    command -v "$c" >/dev/null 2>&1 ||
        { echo "deb.sh: $c not installed (scripts/deps.sh)" >&2; exit 1; }
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$out/fastres
rm -rf "$src"
mkdir "$src"

# DIR inside the tree must not be copied into itself.
case $out/ in
"$top"/*) skip=${out#"$top"/}/ ;;
*) skip= ;;
esac
cd "$top"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # ls-files also names tracked files deleted from the work tree: tar
    # warns about each and goes on.
    git ls-files -z --cached --others --exclude-standard -- . ${skip:+":(exclude)$skip"} |
        tar -c --null --ignore-failed-read -T - -f - | tar -x -C "$src" -f -
else
    tar -c --exclude=./.git --exclude='./build*' --exclude=./libfastres.so \
        --exclude=./debian/build --exclude=./debian/fastres --exclude=./debian/.debhelper \
        ${skip:+--exclude="./${skip%/}"} -f - . | tar -x -C "$src" -f -
fi

cd "$src"
version=$(dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=$out/fastres_${version}_$arch.deb
rm -f "$out"/fastres_"$version"_* "$out"/fastres-dbgsym_"$version"_*
# make -j2 unless the caller says otherwise: the project's build machines
# have 2 cores.
DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-parallel=2}
export DEB_BUILD_OPTIONS
dpkg-buildpackage -us -uc -b
[ -f "$deb" ] || { echo "deb.sh: dpkg-buildpackage did not write $deb" >&2; exit 1; }

# --fail-on error: warnings are shown but do not fail the build.
lintian --fail-on error --display-info "$out/fastres_${version}_$arch.changes"
echo "deb.sh: package: $deb"
