#!/usr/bin/env bash
# Install rcgc (librcgc.so, librcgc.a, rcgc.h) under a prefix, with a
# pkg-config file (rcgc.pc) and a CMake package (find_package(rcgc) giving
# the imported targets rcgc::rcgc and rcgc::rcgc_static).
#
# Why a shell script and not cargo-c (`cargo cinstall`) or a CMake
# superbuild: cargo-c is a separate tool that has to be downloaded and
# compiled first, and it writes no CMake package; a CMake superbuild would
# make CMake a requirement for people who only want pkg-config. This script
# needs only what building rcgc needs already (cargo, a shell, sed,
# install) and fills in the small templates beside it (rcgc.pc.in,
# rcgcConfig.cmake.in, rcgcConfigVersion.cmake.in), so what gets installed
# is readable in three short files.
#
# Usage: packaging/install.sh --prefix DIR [--libdir DIR] [--includedir DIR]
#                             [--destdir DIR] [--no-build]
#   --prefix DIR      install prefix (default /usr/local)
#   --libdir DIR      library directory (default PREFIX/lib)
#   --includedir DIR  header directory (default PREFIX/include)
#   --destdir DIR     staging root prepended to every installed path (for
#                     packagers, like make's DESTDIR); the files still name
#                     PREFIX. Also read from $DESTDIR.
#   --no-build        do not run `cargo build --release`; install what is
#                     already in target/release
set -euo pipefail

die() { echo "install.sh: $*" >&2; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

prefix=/usr/local
libdir=
includedir=
destdir=${DESTDIR:-}
build=1

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || die "--prefix needs a value"; prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --libdir) [ $# -ge 2 ] || die "--libdir needs a value"; libdir=$2; shift 2 ;;
    --libdir=*) libdir=${1#*=}; shift ;;
    --includedir) [ $# -ge 2 ] || die "--includedir needs a value"; includedir=$2; shift 2 ;;
    --includedir=*) includedir=${1#*=}; shift ;;
    --destdir) [ $# -ge 2 ] || die "--destdir needs a value"; destdir=$2; shift 2 ;;
    --destdir=*) destdir=${1#*=}; shift ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

# The files name absolute paths: make a relative prefix absolute.
case "$prefix" in /*) ;; *) prefix="$(pwd)/$prefix" ;; esac
prefix=${prefix%/}
[ -n "$prefix" ] || prefix=/
libdir=${libdir:-$prefix/lib}
includedir=${includedir:-$prefix/include}
case "$libdir" in /*) ;; *) die "--libdir must be absolute: $libdir" ;; esac
case "$includedir" in /*) ;; *) die "--includedir must be absolute: $includedir" ;; esac
case "$prefix$libdir$includedir" in
  *[[:space:]]*) die "paths with white space cannot be written into rcgc.pc" ;;
esac

# The version comes from Cargo.toml's [package] table, the one source of truth.
version=$(awk '
  /^\[/ { in_pkg = ($0 == "[package]") }
  in_pkg && /^version[ \t]*=/ { gsub(/^version[ \t]*=[ \t]*"|".*$/, ""); print; exit }
' "$repo/Cargo.toml")
[ -n "$version" ] || die "could not read the version from $repo/Cargo.toml"
description=$(awk '
  /^\[/ { in_pkg = ($0 == "[package]") }
  in_pkg && /^description[ \t]*=/ { sub(/^description[ \t]*=[ \t]*"/, ""); sub(/"[ \t]*$/, ""); print; exit }
' "$repo/Cargo.toml")
description=${description:-Reference counting and a cycle collector for C}

if [ "$build" = 1 ]; then
  echo "install.sh: cargo build --release (in $repo)"
  (cd "$repo" && cargo build --release)
fi

so="$repo/target/release/librcgc.so"
a="$repo/target/release/librcgc.a"
h="$repo/include/rcgc.h"
for f in "$so" "$a" "$h"; do
  [ -f "$f" ] || die "missing $f (build first, or drop --no-build)"
done

# Rust's standard library needs these system libraries when librcgc.a is
# linked into a C program (what `rustc --print native-static-libs` reports
# for a staticlib on Linux with glibc). The shared library records its own
# dependencies, so only static linking needs them.
native_static_libs=${RCGC_NATIVE_STATIC_LIBS:-"-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"}

# A library without a SONAME must be linked as -lrcgc (not by its full path,
# which the linker would then record as the dependency); CMake does that when
# the imported target says IMPORTED_NO_SONAME.
soname=
if command -v readelf >/dev/null 2>&1; then
  soname=$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
elif command -v objdump >/dev/null 2>&1; then
  soname=$(objdump -p "$so" | awk '$1 == "SONAME" { print $2 }')
fi
if [ -n "$soname" ]; then
  cmake_soname_props="IMPORTED_SONAME \"$soname\""
else
  cmake_soname_props="IMPORTED_NO_SONAME TRUE"
fi

# The CMake package locates itself: the config file lives in
# LIBDIR/cmake/rcgc, and the header and libraries are found relative to it,
# so an installed tree can be moved as a whole.
cmakedir="$libdir/cmake/rcgc"
rel_path() { realpath -m --relative-to="$1" "$2"; } # FROM TO, both absolute
cmake_rel_lib=$(rel_path "$cmakedir" "$libdir")
cmake_rel_inc=$(rel_path "$cmakedir" "$includedir")

# Values go into sed replacements: escape the delimiter, & and backslashes.
esc() { printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'; }
subst() { # subst TEMPLATE OUT
  sed -e "s|@PREFIX@|$(esc "$prefix")|g" \
      -e "s|@PC_LIBDIR@|$(esc "$pc_libdir")|g" \
      -e "s|@PC_INCLUDEDIR@|$(esc "$pc_includedir")|g" \
      -e "s|@VERSION@|$(esc "$version")|g" \
      -e "s|@DESCRIPTION@|$(esc "$description")|g" \
      -e "s|@NATIVE_STATIC_LIBS@|$(esc "$native_static_libs")|g" \
      -e "s|@CMAKE_SONAME_PROPS@|$(esc "$cmake_soname_props")|g" \
      -e "s|@CMAKE_REL_LIBDIR@|$(esc "$cmake_rel_lib")|g" \
      -e "s|@CMAKE_REL_INCLUDEDIR@|$(esc "$cmake_rel_inc")|g" \
      "$1" > "$2"
  if grep -n '@[A-Z_]*@' "$2"; then die "unsubstituted placeholder in $2"; fi
}

# In rcgc.pc, name directories under the prefix through ${prefix}, as is usual.
pc_libdir=$libdir
pc_includedir=$includedir
case "$libdir" in "$prefix"/*) pc_libdir="\${prefix}${libdir#"$prefix"}" ;; esac
case "$includedir" in "$prefix"/*) pc_includedir="\${prefix}${includedir#"$prefix"}" ;; esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
subst "$here/rcgc.pc.in" "$tmp/rcgc.pc"
subst "$here/rcgcConfig.cmake.in" "$tmp/rcgcConfig.cmake"
subst "$here/rcgcConfigVersion.cmake.in" "$tmp/rcgcConfigVersion.cmake"

d=$destdir
install -d "$d$libdir" "$d$includedir" "$d$libdir/pkgconfig" "$d$cmakedir"
install -m 0755 "$so" "$d$libdir/librcgc.so"
install -m 0644 "$a" "$d$libdir/librcgc.a"
install -m 0644 "$h" "$d$includedir/rcgc.h"
install -m 0644 "$tmp/rcgc.pc" "$d$libdir/pkgconfig/rcgc.pc"
install -m 0644 "$tmp/rcgcConfig.cmake" "$d$cmakedir/rcgcConfig.cmake"
install -m 0644 "$tmp/rcgcConfigVersion.cmake" "$d$cmakedir/rcgcConfigVersion.cmake"

echo "install.sh: installed rcgc $version under ${d}${prefix}:"
for f in "$libdir/librcgc.so" "$libdir/librcgc.a" "$includedir/rcgc.h" \
         "$libdir/pkgconfig/rcgc.pc" "$cmakedir/rcgcConfig.cmake" \
         "$cmakedir/rcgcConfigVersion.cmake"; do
  echo "  $d$f"
done
