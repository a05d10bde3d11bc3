#!/usr/bin/env bash
# Test the install path end to end: install rcgc into a temporary prefix with
# packaging/install.sh, then build a small C program outside the repo
#   1. with pkg-config (PKG_CONFIG_PATH pointed at the prefix), against
#      librcgc.so and then against librcgc.a,
#   2. with CMake: find_package(rcgc REQUIRED) + rcgc::rcgc (shared),
#   3. with CMake and rcgc::rcgc_static (librcgc.a, no librcgc.so at run time),
# run each, check find_package's version rules, and that the installed tree
# can be moved.
# Exits non-zero on the first failure.
#
# Usage: packaging/test_install.sh [--no-build] [--keep]
#   --no-build  install what is already in target/release
#   --keep      keep the temporary directory and print its path
# Installs cmake and pkg-config with apt-get when they are missing and we
# are root.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
install_args=()
keep=0
for arg in "$@"; do
  case "$arg" in
    --no-build) install_args+=(--no-build) ;;
    --keep) keep=1 ;;
    *) echo "test_install.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

fail() { echo "test_install.sh: FAIL: $*" >&2; exit 1; }
step() { echo; echo "== $*"; }

missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v cc >/dev/null 2>&1 || missing+=(gcc)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    step "installing ${missing[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    fail "missing tools: ${missing[*]} (install them, or run as root with apt-get)"
  fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/rcgc-install-test.XXXXXX")
if [ "$keep" = 1 ]; then
  trap 'echo "test_install.sh: kept $work"' EXIT
else
  trap 'rm -rf "$work"' EXIT
fi
prefix="$work/prefix"

step "install into $prefix"
"$here/install.sh" --prefix "$prefix" "${install_args[@]}"
for f in lib/librcgc.so lib/librcgc.a include/rcgc.h lib/pkgconfig/rcgc.pc \
         lib/cmake/rcgc/rcgcConfig.cmake lib/cmake/rcgc/rcgcConfigVersion.cmake; do
  [ -f "$prefix/$f" ] || fail "not installed: $prefix/$f"
done
version=$(awk '
  /^\[/ { in_pkg = ($0 == "[package]") }
  in_pkg && /^version[ \t]*=/ { gsub(/^version[ \t]*=[ \t]*"|".*$/, ""); print; exit }
' "$here/../Cargo.toml")

# The consumer lives outside the repo and sees only the installed files.
src="$work/consumer"
mkdir -p "$src"
cat > "$src/main.c" <<'EOF'
/* A consumer of an installed rcgc: a two-node cycle that only the cycle
 * collector frees, and a weak reference that goes NULL. */
#include <rcgc.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(c) do { if (!(c)) { \
  fprintf(stderr, "consumer: check failed at line %d: %s\n", __LINE__, #c); \
  exit(1); } } while (0)

int main(void) {
  CHECK(gc_collect() >= 0);
  GcObject *a = obj_new(1, 0);
  GcObject *b = obj_new(1, 0);
  CHECK(a != NULL && b != NULL);
  CHECK(obj_set_field(a, 0, b) == GC_OK);
  CHECK(obj_set_field(b, 0, a) == GC_OK);
  GcObject *wr = weakref_new(a, NULL, NULL);
  CHECK(wr != NULL);
  obj_decref(a);
  obj_decref(b);
  GcObject *still = weakref_get(wr);
  CHECK(still != NULL); /* the cycle keeps a alive */
  obj_decref(still);
  int64_t n = gc_collect();
  CHECK(n == 2);
  CHECK(weakref_get(wr) == NULL);
  obj_decref(wr);
  printf("consumer: cycle collected (%lld objects), weakref cleared: ok\n", (long long)n);
  return 0;
}
EOF

step "build with pkg-config"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
pc_prefix=$(pkg-config --variable=prefix rcgc) || fail "pkg-config does not find rcgc"
[ "$pc_prefix" = "$prefix" ] || fail "pkg-config found rcgc under $pc_prefix, not $prefix"
pc_version=$(pkg-config --modversion rcgc)
[ "$pc_version" = "$version" ] || fail "pkg-config says version $pc_version, Cargo.toml $version"
echo "pkg-config --cflags --libs rcgc: $(pkg-config --cflags --libs rcgc)"
# shellcheck disable=SC2046  # word splitting of pkg-config output is intended
cc -std=c11 -Wall -Wextra -Werror -o "$work/via-pkg-config" "$src/main.c" \
  $(pkg-config --cflags --libs rcgc)
step "run the pkg-config build"
LD_LIBRARY_PATH="$prefix/lib" "$work/via-pkg-config" || fail "the pkg-config build failed to run"
step "build against librcgc.a with the pkg-config variables"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror -o "$work/via-pkg-config-static" "$src/main.c" \
  $(pkg-config --cflags rcgc) "$(pkg-config --variable=libdir rcgc)/librcgc.a" \
  $(pkg-config --variable=native_static_libs rcgc)
if readelf -d "$work/via-pkg-config-static" | grep -q 'librcgc'; then
  fail "the static pkg-config build depends on librcgc.so"
fi
"$work/via-pkg-config-static" || fail "the static pkg-config build failed to run"
unset PKG_CONFIG_PATH

step "build with CMake find_package(rcgc REQUIRED)"
cat > "$src/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.13)
project(rcgc_consumer C)
find_package(rcgc REQUIRED)
message(STATUS "found rcgc ${rcgc_VERSION} in ${rcgc_DIR}")
add_executable(consumer_shared main.c)
target_link_libraries(consumer_shared PRIVATE rcgc::rcgc)
add_executable(consumer_static main.c)
target_link_libraries(consumer_static PRIVATE rcgc::rcgc_static)
foreach(t consumer_shared consumer_static)
  set_target_properties(${t} PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON)
  target_compile_options(${t} PRIVATE -Wall -Wextra -Werror)
endforeach()
EOF
cmake -S "$src" -B "$work/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
  || fail "cmake configure failed"
cmake --build "$work/build" || fail "cmake build failed"

step "run the CMake build against librcgc.so (found through the build RPATH)"
needed=$(LC_ALL=C readelf -d "$work/build/consumer_shared" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
echo "NEEDED: $(echo "$needed" | tr '\n' ' ')"
echo "$needed" | grep -qx 'librcgc.so' || fail "consumer_shared does not depend on librcgc.so by name"
"$work/build/consumer_shared" || fail "the CMake shared build failed to run"

step "run the CMake build against librcgc.a"
if readelf -d "$work/build/consumer_static" | grep -q 'librcgc'; then
  fail "consumer_static depends on librcgc.so"
fi
"$work/build/consumer_static" || fail "the CMake static build failed to run"

step "find_package version rules: same 0.x minor, at least the requested version"
major_minor=$(echo "$version" | cut -d. -f1,2)
next_minor=$(echo "$version" | awk -F. '{ printf "%d.%d", $1, $2 + 1 }')
try_version() { # try_version REQUEST: exit status of configuring find_package(rcgc REQUEST)
  local d="$work/ver-$1"
  mkdir -p "$d"
  printf 'cmake_minimum_required(VERSION 3.13)\nproject(v C)\nfind_package(rcgc %s REQUIRED)\n' "$1" \
    > "$d/CMakeLists.txt"
  cmake -S "$d" -B "$d/build" -DCMAKE_PREFIX_PATH="$prefix" >"$d/log" 2>&1
}
try_version "$major_minor" || { cat "$work/ver-$major_minor/log"; fail "find_package(rcgc $major_minor) refused rcgc $version"; }
echo "find_package(rcgc $major_minor): accepted"
for bad in "$next_minor" 999.0; do
  if try_version "$bad"; then fail "find_package(rcgc $bad) accepted rcgc $version"; fi
  grep -q 'not accepted' "$work/ver-$bad/log" \
    || { cat "$work/ver-$bad/log"; fail "find_package(rcgc $bad) failed for another reason"; }
  echo "find_package(rcgc $bad): refused, as it should be"
done

step "the installed tree can be moved: the CMake package finds itself"
mv "$prefix" "$work/moved"
cmake -S "$src" -B "$work/build-moved" -DCMAKE_PREFIX_PATH="$work/moved" >/dev/null \
  || fail "cmake configure against the moved prefix failed"
cmake --build "$work/build-moved" >/dev/null || fail "cmake build against the moved prefix failed"
"$work/build-moved/consumer_shared" || fail "the build against the moved prefix failed to run"
mv "$work/moved" "$prefix"

echo
echo "test_install.sh: all install checks passed (rcgc $version)"
