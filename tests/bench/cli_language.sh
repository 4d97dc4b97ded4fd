#!/usr/bin/env bash
# What the CLI's Chinese costs: `deskline --help` (every help text looked up
# in the catalogue) run 100 times in English, then 100 times in Chinese, three
# rounds; prints the time per run of each and their ratio (the reference is
# the English run, measured in the same rounds).
# Usage: tests/bench/cli_language.sh [path/to/deskline]
set -euo pipefail
binary=${1:-build/bin/deskline}
hundred_runs_ns() {
  local start
  start=$(date +%s%N)
  for _ in $(seq 100); do env LC_ALL= LANGUAGE= LANG="$1" "$binary" --help >/dev/null; done
  echo $(($(date +%s%N) - start))
}
english=0 chinese=0
for _ in 1 2 3; do
  english=$((english + $(hundred_runs_ns C.UTF-8)))
  chinese=$((chinese + $(hundred_runs_ns zh_CN.UTF-8)))
done
awk -v en="$english" -v zh="$chinese" \
  'BEGIN { printf "deskline --help: English %.2f ms, Chinese %.2f ms per run; Chinese/English %.3f\n", en / 3e8, zh / 3e8, zh / en }'
