#!/bin/sh
# Installs the current kiln build into a temporary prefix, then configures, builds and runs the downstream
# project in this folder against it (find_package(kiln) + kiln::kiln).
#
# usage: run_install_test.sh <cmake> <kiln build dir> <downstream source dir> <generator> <c++ compiler>
#                            <build type> [extra flags for the downstream compile and link]
set -eu

CMAKE=$1
BUILD_DIR=$2
SOURCE_DIR=$3
GENERATOR=$4
CXX_COMPILER=$5
BUILD_TYPE=${6:-Release}
EXTRA_FLAGS=${7:-}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kiln_install_test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM

echo "== installing $BUILD_DIR into $WORK/prefix"
if ! "$CMAKE" --install "$BUILD_DIR" --prefix "$WORK/prefix" --config "$BUILD_TYPE" > "$WORK/install.log" 2>&1; then
  cat "$WORK/install.log"
  echo "install test: cmake --install failed (build every target first, e.g. 'ninja -C $BUILD_DIR')" >&2
  exit 1
fi

echo "== configuring the downstream project"
"$CMAKE" -S "$SOURCE_DIR" -B "$WORK/build" -G "$GENERATOR" \
  -DCMAKE_PREFIX_PATH="$WORK/prefix" \
  -DCMAKE_CXX_COMPILER="$CXX_COMPILER" \
  -DCMAKE_BUILD_TYPE="$BUILD_TYPE" \
  -DCMAKE_CXX_FLAGS="$EXTRA_FLAGS" \
  -DCMAKE_EXE_LINKER_FLAGS="$EXTRA_FLAGS"

echo "== building"
"$CMAKE" --build "$WORK/build" --config "$BUILD_TYPE"

echo "== running"
APP="$WORK/build/app"
[ -x "$APP" ] || APP="$WORK/build/$BUILD_TYPE/app"
"$APP"
