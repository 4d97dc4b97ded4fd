#!/usr/bin/env bash
# The service unit as systemd reads it: `systemd-analyze verify` on a copy
# whose ExecStart is the built daemon (the installed path does not exist
# here), and the sandbox's exposure score at most the README's 2.5.
#   check-unit.sh SOURCE_DIR BIN_DIR
set -euo pipefail
source_dir=$1
bin_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sed "s|^ExecStart=/usr/sbin/desklined |ExecStart=$bin_dir/desklined |" \
  "$source_dir/systemd/desklined.service" >"$work/desklined.service"
grep -q "^ExecStart=$bin_dir/desklined " "$work/desklined.service" || {
  echo "check-unit: no 'ExecStart=/usr/sbin/desklined ...' line in the unit" >&2
  exit 1
}
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
