#!/usr/bin/env bash
# run.sh - the consumer test (ctest `consumer`): is an installed Incident
# usable from another project's build?
#
#   tests/consumer/run.sh BUILD_DIR WORK_DIR
#
# Installs the Incident build in BUILD_DIR into WORK_DIR/prefix, checks the
# installed files, copies the service in shop/ (its own .agg, main.c,
# CMakeLists.txt and Makefile) to WORK_DIR/shop and builds it against the
# prefix the ways a user would:
#   cmake-make   find_package(Incident CONFIG) + aggc_generate, Unix Makefiles
#   cmake-ninja  the same with Ninja (ninja is required: Debian ninja-build,
#                which scripts/test installs; without it the test fails)
#   make         a plain Makefile: pkg-config incident + aggc -M
# and runs each on $INCIDENT_DB (own schema).  For each build: a second
# build with nothing changed must not run aggc nor touch the generated
# files; after touching shop.agg one more build must regenerate them (and
# the build after that must be quiet again).
#
# Environment: INCIDENT_DB (required), CC (compiler, default cc), CMAKE
# (default cmake), INCIDENT_CONSUMER_FLAGS (added to compiling and linking,
# e.g. the sanitizer flags of an ASan build: an instrumented libincident
# needs an instrumented program).
set -euo pipefail

say() { printf '[consumer] %s\n' "$*"; }
fail() { say "FAIL: $*"; exit 1; }

[ $# -eq 2 ] || { echo "usage: run.sh BUILD_DIR WORK_DIR" >&2; exit 2; }
build=$(cd "$1" && pwd)
work=$2
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
cmake=${CMAKE:-cmake}
cc=${CC:-cc}
flags=${INCIDENT_CONSUMER_FLAGS:-}
[ -n "${INCIDENT_DB:-}" ] || fail "INCIDENT_DB is not set (start a server: scripts/pg start DIR)"

rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
prefix=$work/prefix
schemas=()
drop_schemas() {
  # Best effort: scripts/test drops the whole database between suites.
  if [ ${#schemas[@]} -gt 0 ] && command -v psql >/dev/null 2>&1; then
    local s sql=""
    for s in "${schemas[@]}"; do sql+="DROP SCHEMA IF EXISTS \"$s\" CASCADE;"; done
    psql "$INCIDENT_DB" -X -q -c "$sql" >/dev/null 2>&1 || true
  fi
}
trap drop_schemas EXIT

# --- 1. install and look at what was installed ---------------------------
say "install $build -> $prefix"
"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" ||
  { cat "$work/install.log"; fail "cmake --install"; }

pc=$(find "$prefix" -path '*/pkgconfig/incident.pc' | head -n 1)
[ -n "$pc" ] || fail "no incident.pc installed"
libdir=$(dirname "$(dirname "$pc")")
cfgdir=$libdir/cmake/Incident
for f in "$prefix/bin/aggc" "$libdir/libincident.a" "$libdir/libincident.so" \
         "$libdir/libincident.so.0" \
         "$prefix/include/incident/domain.h" "$prefix/include/incident/app.h" \
         "$prefix/include/incident/store.h" "$prefix/include/incident/gen.h" \
         "$cfgdir/IncidentConfig.cmake" "$cfgdir/IncidentConfigVersion.cmake" \
         "$cfgdir/IncidentTargets.cmake" "$cfgdir/AggcGenerate.cmake" \
         "$prefix/share/man/man1/aggc.1" \
         "$prefix/share/incident/editors/vim/syntax/agg.vim"; do
  [ -e "$f" ] || fail "not installed: ${f#"$prefix"/}"
done
"$prefix/bin/aggc" --version >/dev/null || fail "installed aggc does not run"
if command -v readelf >/dev/null 2>&1; then
  readelf -d "$libdir/libincident.so" | grep -q 'SONAME.*\[libincident\.so\.0\]' ||
    fail "libincident.so has no SONAME libincident.so.0"
fi
export PKG_CONFIG_PATH=$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
version=$(pkg-config --modversion incident) || fail "pkg-config does not find incident"
say "installed Incident $version"
# SameMajorVersion: 0.1 is compatible, 1.0 is not.
cat >"$work/version.cmake" <<EOF
include("$cfgdir/IncidentConfigVersion.cmake")
message("\${PACKAGE_VERSION_COMPATIBLE}")
EOF
for want in "0.1:TRUE" "1.0:FALSE"; do
  v=${want%%:*} expect=${want##*:}
  got=$("$cmake" -DPACKAGE_FIND_VERSION="$v" -DPACKAGE_FIND_VERSION_MAJOR="${v%%.*}" \
          -DCMAKE_SIZEOF_VOID_P=8 -P "$work/version.cmake" 2>&1)
  [ "$got" = "$expect" ] || fail "IncidentConfigVersion: $v compatible = '$got', expected $expect"
done

# --- 2. the consumer, outside this tree ------------------------------------
cp -R "$here/shop" "$work/shop"
agg=$work/shop/shop.agg

# stamps DIR: path and mtime of every generated file.
stamps() { find "$1" -type f \( -name 'shop.[ch]' -o -name 'shop.sql' \) -printf '%p %T@\n' | sort; }

run_shop() { # run_shop EXE NAME
  # a schema name is one identifier: letters, digits, '_' (docs/runtime.md)
  local schema="shop_${2//-/_}_$$"
  schemas+=("$schema")
  "$1" "$schema" >"$work/$2.out" 2>&1 || { cat "$work/$2.out"; fail "$2: shop failed"; }
  sed 's/^/  /' "$work/$2.out"
}

# check_incremental NAME GENDIR BUILD-COMMAND... : the no-op and the
# touch-the-.agg rebuilds.  The build's output tells whether aggc ran:
# aggc_generate's comment "aggc shop: ..." (CMake) or the command (make).
ran_aggc='aggc( shop:| -o )'
check_incremental() {
  local name=$1 gendir=$2 log=$work/$1.log before after
  shift 2
  before=$(stamps "$gendir")
  [ -n "$before" ] || fail "$name: no generated files in $gendir"
  "$@" >"$log" 2>&1 || { cat "$log"; fail "$name: second build failed"; }
  if grep -Eq "$ran_aggc" "$log"; then cat "$log"; fail "$name: a build with no change ran aggc"; fi
  after=$(stamps "$gendir")
  [ "$before" = "$after" ] || fail "$name: a build with no change touched the generated files"
  sleep 1 # coarse file systems: let the touch be visibly newer
  touch "$agg"
  "$@" >"$log" 2>&1 || { cat "$log"; fail "$name: build after touching shop.agg failed"; }
  grep -Eq "$ran_aggc" "$log" || { cat "$log"; fail "$name: touching shop.agg did not run aggc"; }
  after=$(stamps "$gendir")
  [ "$before" != "$after" ] || fail "$name: touching shop.agg did not regenerate"
  "$@" >"$log" 2>&1 || { cat "$log"; fail "$name: fourth build failed"; }
  if grep -Eq "$ran_aggc" "$log"; then cat "$log"; fail "$name: aggc ran again after regenerating"; fi
  say "$name: no-op build quiet, .agg edit regenerates"
}

consumer_cmake() { # consumer_cmake NAME GENERATOR
  local name=$1 gen=$2 dir=$work/build-$1
  say "$name: find_package(Incident) + aggc_generate ($gen)"
  CC=$cc "$cmake" -S "$work/shop" -B "$dir" -G "$gen" \
      -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
      -DCMAKE_C_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" \
      >"$work/$name.configure.log" 2>&1 ||
    { cat "$work/$name.configure.log"; fail "$name: configure"; }
  "$cmake" --build "$dir" -j2 >"$work/$name.build.log" 2>&1 ||
    { cat "$work/$name.build.log"; fail "$name: build"; }
  # The project knows only the prefix, never this source tree.
  if grep -rqs -e "$src/cmake" -e "$src/runtime" -e "$src/compiler" "$dir"; then
    fail "$name: the consumer build refers to the source tree $src"
  fi
  run_shop "$dir/shop" "$name"
  check_incremental "$name" "$dir" "$cmake" --build "$dir" -j2
}

consumer_cmake cmake-make "Unix Makefiles"
# never skipped: a missing ninja would silently drop the Ninja build
command -v ninja >/dev/null 2>&1 ||
  fail "cmake-ninja: ninja is not installed (Debian: apt-get install ninja-build)"
consumer_cmake cmake-ninja Ninja

say "make: pkg-config incident + aggc -M"
mkdir -p "$work/build-make"
mk=(make -C "$work/build-make" -f "$work/shop/Makefile" CC="$cc")
CFLAGS="$flags" LDFLAGS="$flags" "${mk[@]}" >"$work/make.build.log" 2>&1 ||
  { cat "$work/make.build.log"; fail "make: build"; }
[ -f "$work/build-make/gen/shop.d" ] || fail "make: aggc wrote no depfile"
run_shop "$work/build-make/shop" make
check_incremental make "$work/build-make/gen" \
  env CFLAGS="$flags" LDFLAGS="$flags" "${mk[@]}"

say "ok"
