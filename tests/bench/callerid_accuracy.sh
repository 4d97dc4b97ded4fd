#!/usr/bin/env bash
# Caller-ID accuracy (vs multimon-ng and minimodem on the same files), DTMF
# Q.24 and talk-off, and CPU cost per line of the line detectors. Prints the
# Markdown tables of BENCHMARKS.md ("Caller ID and DTMF"). Not run in CI:
# about a minute on 2 cores (espeak-ng, the reference decoders, ours).
#   tests/bench/callerid_accuracy.sh [BUILD_DIR]
# DESKLINE_BENCH_MESSAGES=N sets the messages per accuracy cell (default 200).
set -euo pipefail
build_dir=${1:-build}
for tool in multimon-ng minimodem espeak-ng sox; do
  command -v "$tool" >/dev/null || echo "note: $tool missing, its columns/rows are skipped" >&2
done
cmake --build "$build_dir" --target deskline_detector_bench >/dev/null
"$build_dir/bin/deskline_detector_bench" --gtest_brief=1
