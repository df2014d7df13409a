#!/bin/sh
# Unpacks Debian's arm64 C and C++ runtimes into a folder, so that the arm64 binary runs on an x64 machine under
# qemu-user: QEMU_LD_PREFIX=<folder> qemu-aarch64-static dist/kith-linux-arm64 --version
# Usage: scripts/arm64-sysroot.sh [DIR]   (default .cache/arm64-sysroot; needs root for apt-get)
set -eu
dir=${1:-.cache/arm64-sysroot}
if [ -e "$dir/lib/ld-linux-aarch64.so.1" ]; then echo "$dir"; exit 0; fi
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  apt-get update -qq
fi
work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -qq libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64 ||
  { apt-get update -qq && apt-get download -qq libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64; })
mkdir -p "$dir"
for deb in "$work"/*.deb; do dpkg -x "$deb" "$dir"; done
# Debian's ld.so lives under usr/lib; the binary asks for /lib/ld-linux-aarch64.so.1
[ -e "$dir/lib/ld-linux-aarch64.so.1" ] || { mkdir -p "$dir/lib"; ln -sf ../usr/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1 "$dir/lib/ld-linux-aarch64.so.1"; }
echo "$dir"
