#!/usr/bin/env bash
# Installs every Debian 12 package Deskline needs to build, run its demo and run its tests.
# One list, one script: README's commands and .ci/run call this.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config git
  clang-14 libclang-rt-14-dev llvm-14
  # libraries
  libboost-dev nlohmann-json3-dev libusb-1.0-0-dev portaudio19-dev libasound2-dev
  libopus-dev libogg-dev libspandsp-dev libspeexdsp-dev libsqlite3-dev sqlite3 libphonenumber-dev
  libtomlplusplus-dev libfmt-dev libcli11-dev libsystemd-dev libssl-dev
  # the CLI's message catalogues: msgfmt compiles them, xgettext and polib check them
  gettext python3-polib
  # simulator
  umockdev libumockdev-dev libglib2.0-dev alsa-utils
  # tests and benchmarks
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  opus-tools ffmpeg sox espeak-ng multimon-ng minimodem chromium python3 python3-jsonschema
  # the reference CRM's test: the OpenAPI file (YAML), the test's certificates
  python3-yaml openssl
  # Chinese customer names on the reference CRM's pages in headless Chromium (screenshots)
  fonts-wqy-microhei
  # the service unit's checks (systemd-analyze verify, security and syscall-filter; strace
  # lists the system calls the daemon makes)
  systemd strace
  # promtool checks GET /metrics
  prometheus
  # the .deb packages: lintian checks them (cpack, dpkg-shlibdeps and file make them)
  lintian dpkg-dev file
  # the CRM upload benchmark's reference client
  curl
  # the download benchmark's reference server (/usr/sbin/nginx), which the bench starts itself
  nginx
  # `deskline pop --notify` end to end: notify-send shown by a real notification server (dunst)
  # on a private X server; dunst's session-bus dependency brings dbus-daemon, and dbus-send and
  # busctl for dunstctl
  libnotify-bin dunst xvfb
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]}; run as root (or with sudo)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Debian's nginx and prometheus packages would start system services (nginx on port 80, and a
  # failed start, port taken, would fail the install): the download benchmark runs its own nginx
  # on a free loopback port, and the tests only need promtool. So services are not started while
  # installing (policy-rc.d, unless the machine has one), and those two, newly installed, are
  # disabled. One installed before is left as it was.
  services=()
  for service in nginx prometheus; do
    [[ " ${missing[*]} " == *" $service "* ]] && services+=("$service")
  done
  if [ ${#services[@]} -gt 0 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  for service in "${services[@]}"; do
    if [ -d /run/systemd/system ]; then
      systemctl disable --now "$service.service" || true
    else
      update-rc.d "$service" disable >/dev/null 2>&1 || true
    fi
  done
fi
