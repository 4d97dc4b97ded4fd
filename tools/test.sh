#!/usr/bin/env bash
# The README's second command: install what is needed, build, run every test.
#   sudo tools/test.sh
# 1. g++ build: unit, integration (real binaries under deskline-sim), fuzz seed replays.
# 2. clang build with ASan+UBSan: the same unit and integration tests, then each
#    libFuzzer target for FUZZ_SECONDS (default 30 for the X800 decoder, 5 for each of the
#    others (every tests/fuzz/fuzz_*.cpp): the suite stays within ~35 minutes on 2 cores;
#    longer runs by hand are in BENCHMARKS.md).
# Both builds treat warnings as errors, and a test that needs a missing tool
# (espeak-ng, sox, minimodem, ffmpeg, chromium, Xvfb, root, ...) fails here
# instead of skipping (DESKLINE_REQUIRE_TOOLS). Each stage prints how long
# desklined took to stop at the end of its scenarios (DESKLINE_STOP_TIMES).
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/.." && pwd)
build_root=${DESKLINE_TEST_BUILD_ROOT:-$source_dir/build-test}
fuzz_seconds=${FUZZ_SECONDS:-30}
jobs=$(nproc)
export DESKLINE_REQUIRE_TOOLS=1

# The stop times the integration tests appended ("TEST MS" lines): their maximum and median.
report_stop_times() {
  [ -s "$1" ] || return 0
  sort -k2,2g "$1" | awk '{ name[NR] = $1; ms[NR] = $2 }
    END { printf "desklined stop after SIGTERM over %d scenarios: median %.0f ms, max %.0f ms (%s)\n",
                 NR, ms[int((NR + 1) / 2)], ms[NR], name[NR] }'
}

"$source_dir/tools/install-deps.sh"

echo "== build (g++)"
# Line tables only (-g1, -gline-tables-only below): enough for file:line in
# backtraces and sanitizer reports, ~13 % less compile time than full -g (gcc).
DESKLINE_BUILD_DIR=$build_root/gcc "$source_dir/tools/build.sh" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDESKLINE_WERROR=ON \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"
echo "== tests (g++)"
export DESKLINE_STOP_TIMES=$build_root/gcc/stop-times.txt
rm -f "$DESKLINE_STOP_TIMES"
ctest --test-dir "$build_root/gcc" --output-on-failure -j "$jobs"
report_stop_times "$DESKLINE_STOP_TIMES"

echo "== build (clang-14, ASan+UBSan, libFuzzer)"
DESKLINE_BUILD_DIR=$build_root/sanitize "$source_dir/tools/build.sh" -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DDESKLINE_SANITIZE=ON -DDESKLINE_FUZZ=ON \
  -DCMAKE_CXX_FLAGS_DEBUG=-gline-tables-only -DCMAKE_C_FLAGS_DEBUG=-gline-tables-only \
  -DDESKLINE_WERROR=ON -DDESKLINE_BENCH=OFF  # benchmarks are measured in the optimised build only
echo "== tests (ASan+UBSan)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:verify_asan_link_order=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export DESKLINE_STOP_TIMES=$build_root/sanitize/stop-times.txt
rm -f "$DESKLINE_STOP_TIMES"
ctest --test-dir "$build_root/sanitize" --output-on-failure -j "$jobs"
report_stop_times "$DESKLINE_STOP_TIMES"

echo "== fuzzing"
for target in "$build_root"/sanitize/bin/fuzz_*; do
  name=$(basename "$target")
  [ "$name" = fuzz_x800 ] && seconds=$fuzz_seconds || seconds=$((fuzz_seconds / 6))
  work=$(mktemp -d)
  cp -r "$source_dir/tests/fuzz/corpus/$name/." "$work/" 2>/dev/null || true
  echo "-- $name for ${seconds}s"
  status=0
  "$target" -max_total_time="$seconds" -print_final_stats=1 "$work" >"$work.log" 2>&1 || status=$?
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY|==[0-9]+==ERROR)' "$work.log" || true
  if [ "$status" -ne 0 ]; then tail -50 "$work.log" >&2; echo "fuzz target $name failed" >&2; exit 1; fi
  rm -rf "$work" "$work.log"
done
echo "all test stages passed"
