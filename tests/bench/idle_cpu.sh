#!/usr/bin/env bash
# Measures the CPU used by an idle desklined attached to one virtual box, and
# by the simulator, over a window of N seconds (default 20).
#   tests/bench/idle_cpu.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
build_dir=${1:-build}
window=${2:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/deskline.toml" <<TOML
[daemon]
data_dir = "$work/data"
run_dir = "$work/run"
[http]
port = 0
TOML
cat >"$work/idle.scenario" <<SCN
box A serial=X800-IDLE lines=4 rate=8000
at $((window + 5)) end
SCN
"$build_dir/bin/deskline-sim" --scenario "$work/idle.scenario" -- \
  "$build_dir/bin/desklined" --config "$work/deskline.toml" 2>"$work/log" &
sim=$!
sleep 3  # attach and settle
daemon=$(pgrep -f "desklined --config $work/deskline.toml" | head -1)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
d0=$(ticks "$daemon"); s0=$(ticks "$sim"); t0=$(date +%s.%N)
sleep "$window"
d1=$(ticks "$daemon"); s1=$(ticks "$sim"); t1=$(date +%s.%N)
wait "$sim"
awk -v d=$((d1 - d0)) -v s=$((s1 - s0)) -v hz="$hz" -v t0="$t0" -v t1="$t1" 'BEGIN {
  elapsed = t1 - t0
  printf "idle desklined: %.2f%% of one core over %.1f s\n", 100 * d / hz / elapsed, elapsed
  printf "deskline-sim (4 lines of audio + USB): %.2f%% of one core\n", 100 * s / hz / elapsed
}'
