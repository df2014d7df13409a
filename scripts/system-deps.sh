#!/bin/sh
# The one list of Debian packages the test suites need, and the arm64 sysroot the qemu-user test runs on.
# `npm test` runs it first (pretest) and so does .ci/run: when everything is there it only looks (no apt-get);
# as root it installs what is missing; otherwise it stops at once with one line naming the command to run.
# test/system.ts checks the same parts from inside the tests: change both together.
# Usage: sh scripts/system-deps.sh   (KITH_SYSROOT overrides .cache/arm64-sysroot)
set -eu
cd "$(dirname "$0")/.."
sysroot=${KITH_SYSROOT:-.cache/arm64-sysroot}

missing=''
# has COMMAND: true when COMMAND is on PATH or in the sbin folders a non-root PATH often lacks
has() {
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]
}
# need COMMAND PACKAGE…: adds the packages to the list when COMMAND is absent
need() {
  cmd=$1
  shift
  has "$cmd" || missing="$missing $*"
}

# network-namespace tests (mDNS, partitions) make their LAN with `ip netns`
need ip iproute2
# device-plane tests run against Debian's mosquitto as the reference external broker
need mosquitto mosquitto
# the household test over mqtts:// makes its own CA and certificates with openssl
need openssl openssl
# Tier 3 evidence tests and benchmark run a real software TPM (swtpm) driven through tpm2-tools
need swtpm swtpm swtpm-tools
need tpm2_quote tpm2-tools
# the single binary: xz archives, stripping the arm64 build, and running it under qemu-user
need xz xz-utils
need aarch64-linux-gnu-strip binutils-aarch64-linux-gnu
[ -x /usr/bin/qemu-aarch64-static ] || missing="$missing qemu-user-static"
# `kith install --systemd` writes a unit that systemd-analyze must accept
need systemd-analyze systemd
# the dashboard's end-to-end tests drive Debian's chromium through playwright-core (no browser download)
[ -x /usr/bin/chromium ] || missing="$missing chromium fonts-liberation"

# Debian's arm64 C runtime, for the arm64 binary under qemu-user (test/e2e/binary.test.ts)
sysroot_missing=false
[ -e "$sysroot/lib/ld-linux-aarch64.so.1" ] || sysroot_missing=true

if [ -z "$missing" ] && [ "$sysroot_missing" = false ]; then exit 0; fi

if [ "$(id -u)" != 0 ]; then
  line="kith: missing system packages:"
  run=''
  if [ -n "$missing" ]; then
    line="$line$missing"
    run="sudo apt-get install -y$missing"
  fi
  if [ "$sysroot_missing" = true ]; then
    line="$line $sysroot (arm64 sysroot)"
    run="${run:+$run && }sudo sh scripts/arm64-sysroot.sh $sysroot"
  fi
  echo "$line — run: $run" >&2
  exit 1
fi

if [ -n "$missing" ]; then
  echo "kith: installing system packages:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086 # the list is words on purpose
  apt-get install -y -qq --no-install-recommends $missing
fi
if [ "$sysroot_missing" = true ]; then
  echo "kith: unpacking the arm64 sysroot into $sysroot" >&2
  sh scripts/arm64-sysroot.sh "$sysroot" >/dev/null
fi
