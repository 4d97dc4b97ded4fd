#!/usr/bin/env bash
# The service unit as systemd reads it: `systemd-analyze verify` on a copy
# whose ExecStart and ExecReload are the built programs (the installed paths
# do not exist here), and the sandbox's exposure score at most the README's 2.5.
#   check-unit.sh SOURCE_DIR BIN_DIR
set -euo pipefail
source_dir=$1
bin_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sed -e "s|^ExecStart=/usr/sbin/desklined |ExecStart=$bin_dir/desklined |" \
  -e "s|^ExecReload=/usr/bin/deskline |ExecReload=$bin_dir/deskline |" \
  "$source_dir/systemd/desklined.service" >"$work/desklined.service"
for line in "ExecStart=$bin_dir/desklined " "ExecReload=$bin_dir/deskline "; do
  grep -q "^$line" "$work/desklined.service" || {
    echo "check-unit: no '${line%%=*}=' line for the installed program in the unit" >&2
    exit 1
  }
done
# verify prints what it finds and exits non-zero on errors; a unit that only
# names an absent user or group is fine here (the package creates them).
verify_output=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$work/desklined.service" 2>&1) || {
  echo "$verify_output" >&2
  exit 1
}
if [ -n "$verify_output" ]; then
  echo "$verify_output" >&2
  echo "check-unit: systemd-analyze verify has remarks" >&2
  exit 1
fi

score_output=$(systemd-analyze security --offline=yes --threshold=25 "$work/desklined.service" 2>&1) || {
  echo "$score_output" | grep -E '^✗' >&2 || true
  echo "$score_output" | tail -1 >&2
  echo "check-unit: the exposure is over 2.5" >&2
  exit 1
}
echo "$score_output" | tail -1
