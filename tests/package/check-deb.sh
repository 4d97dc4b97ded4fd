#!/usr/bin/env bash
# The Debian packages end to end: cpack builds them from the build folder,
# lintian finds no error in them, and dpkg installs them on this machine
# (as root, where no deskline package is installed): the files, the account,
# the conffile's mode, the enabled service, the man pages and a valid default
# configuration are checked; then both are purged. Exit 77 (skipped) when
# this machine cannot take the install, unless DESKLINE_REQUIRE_TOOLS is set
# (tools/test.sh): then that fails.
#   check-deb.sh BUILD_DIR
set -euo pipefail
build_dir=$1
work=$(mktemp -d)
installed=0
cleanup() {
  if [ "$installed" = 1 ]; then dpkg --purge deskline-sim deskline >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "check-deb: $*" >&2
  exit 1
}
skip() {
  echo "check-deb: $*" >&2
  [ "${DESKLINE_REQUIRE_TOOLS:-0}" = 0 ] && exit 77
  exit 1
}

(cd "$build_dir" && cpack -G DEB -B "$work" >"$work/cpack.log" 2>&1) || {
  cat "$work/cpack.log" >&2
  fail "cpack failed"
}
version=$(sed -n 's/^project(deskline VERSION \([0-9.]*\).*/\1/p' "$(dirname "$0")/../../CMakeLists.txt")
daemon_deb=$work/deskline_${version}_amd64.deb
sim_deb=$work/deskline-sim_${version}_amd64.deb
for file in "$daemon_deb" "$sim_deb" "$work/deskline-dbgsym_${version}_amd64.ddeb"; do
  [ -f "$file" ] || fail "cpack made no $(basename "$file"): $(ls "$work")"
done

lintian --fail-on error --tag-display-limit 0 "$daemon_deb" "$sim_deb" || fail "lintian reports errors"

# Stripped: the symbols are in the -dbgsym package, by build ID.
dpkg-deb -x "$daemon_deb" "$work/unpacked"
# (Listings are kept whole before grep -q reads them: with pipefail, a grep
# that stops at its first match would fail the writer with SIGPIPE.)
file_type=$(file "$work/unpacked/usr/sbin/desklined")
grep -q ", stripped" <<<"$file_type" || fail "desklined is not stripped: $file_type"
build_id=$(readelf -n "$work/unpacked/usr/sbin/desklined" | sed -n 's/.*Build ID: \(.*\)/\1/p')
dbgsym_files=$(dpkg-deb -c "$work/deskline-dbgsym_${version}_amd64.ddeb")
grep -q "usr/lib/debug/.build-id/${build_id:0:2}/${build_id:2}.debug" <<<"$dbgsym_files" ||
  fail "no debug symbols for desklined's build ID $build_id"

if [ "$(id -u)" -ne 0 ]; then
  skip "installing needs root; the packages were built and linted only"
fi
if [[ "$(dpkg-query -W -f='${Status}' deskline 2>/dev/null || true)" == *" installed" ]]; then
  skip "a deskline package is installed here already: not touching it"
fi
installed=1
dpkg -i "$daemon_deb" "$sim_deb" >"$work/dpkg.log" 2>&1 || {
  cat "$work/dpkg.log" >&2
  fail "dpkg -i failed"
}
for path in /usr/sbin/desklined /usr/bin/deskline /usr/bin/deskline-sim /usr/lib/deskline/libdeskline-sim-preload.so \
  /usr/lib/systemd/system/desklined.service /usr/lib/sysusers.d/deskline.conf /usr/lib/tmpfiles.d/deskline.conf \
  /usr/lib/udev/rules.d/70-deskline-x800.rules /usr/share/bash-completion/completions/deskline \
  /usr/share/doc/deskline/copyright /usr/share/doc/deskline-sim/copyright; do
  [ -e "$path" ] || fail "$path is missing"
done
for page in desklined deskline deskline.toml; do
  man -w "$page" >/dev/null 2>&1 || fail "no man page for $page"
done
getent passwd deskline >/dev/null || fail "no user deskline"
getent group deskline-desk >/dev/null || fail "no group deskline-desk"
[[ " $(id -nG deskline) " == *" deskline-desk "* ]] || fail "deskline is not in deskline-desk"
[ "$(stat -c '%a %U %G' /etc/deskline)" = "750 root deskline" ] || fail "/etc/deskline is $(stat -c '%a %U %G' /etc/deskline)"
[ "$(stat -c '%a %U %G' /etc/deskline/deskline.toml)" = "640 root deskline" ] ||
  fail "/etc/deskline/deskline.toml is $(stat -c '%a %U %G' /etc/deskline/deskline.toml)"
grep -qx /etc/deskline/deskline.toml /var/lib/dpkg/info/deskline.conffiles || fail "deskline.toml is not a conffile"
[ -L /etc/systemd/system/multi-user.target.wants/desklined.service ] || fail "desklined.service is not enabled"
desklined --check-config /etc/deskline/deskline.toml || fail "the installed configuration does not check"
[[ "$(deskline --version)" == *"$version"* ]] || fail "deskline --version"
# The Chinese catalogue, found where the installed binary looks (no locale data needed).
[ -f /usr/share/locale/zh_CN/LC_MESSAGES/deskline.mo ] || fail "no Chinese message catalogue"
[[ "$(LC_ALL= LANGUAGE= LANG=zh_CN.UTF-8 deskline --help)" == *"列出通话"* ]] || fail "deskline --help is not in Chinese under LANG=zh_CN.UTF-8"

dpkg --purge deskline-sim deskline >"$work/purge.log" 2>&1 || {
  cat "$work/purge.log" >&2
  fail "dpkg --purge failed"
}
installed=0
for path in /usr/sbin/desklined /usr/bin/deskline-sim /etc/deskline /etc/systemd/system/multi-user.target.wants/desklined.service; do
  [ ! -e "$path" ] || fail "$path is still there after the purge"
done
echo "check-deb: built, linted, installed, checked and purged deskline $version and deskline-sim"
