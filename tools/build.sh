#!/usr/bin/env bash
# Configures and builds Deskline into build/ (or $DESKLINE_BUILD_DIR).
# Extra arguments go to cmake's configure step.
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${DESKLINE_BUILD_DIR:-$source_dir/build}
cmake -S "$source_dir" -B "$build_dir" -G Ninja "$@" >/dev/null
ninja -C "$build_dir"
