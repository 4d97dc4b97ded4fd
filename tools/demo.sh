#!/usr/bin/env bash
# The README's first command: install what is needed, build, run the demo.
#   sudo tools/demo.sh [--dir DIR]
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/.." && pwd)
"$source_dir/tools/install-deps.sh"
"$source_dir/tools/build.sh"
exec "${DESKLINE_BUILD_DIR:-$source_dir/build}/bin/deskline" demo "$@"
