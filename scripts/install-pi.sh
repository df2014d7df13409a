#!/bin/sh
# Installs a downloaded kith release as a hardened systemd service.
#
#   sudo sh install-pi.sh [BINARY] [kith install options...]
#
# BINARY defaults to ./kith-linux-x64 or ./kith-linux-arm64 (by `uname -m`), or that name with .xz when only
# the compressed file is there. When BINARY.sha256 sits beside it, the SHA-256 must match; a .xz file is
# unpacked next to itself first. Then it runs: BINARY install --systemd [options...]
# (options: --user, --memory-max, --api, --name, --listen, --bootstrap, --no-start, --dry-run, --root DIR).
set -eu

say() { printf 'install-pi.sh: %s\n' "$*" >&2; }
die() {
  say "$*"
  exit 1
}

release_arch() {
  case "$(uname -m)" in
    x86_64 | amd64) echo x64 ;;
    aarch64 | arm64) echo arm64 ;;
    *) die "no kith release for $(uname -m); there are x64 and arm64 builds" ;;
  esac
}

# checks FILE against FILE.sha256 (`<hex>  name`, as sha256sum writes it) when that file exists
verify() {
  if [ ! -f "$1.sha256" ]; then
    say "no $1.sha256 beside $1: not verified"
    return 0
  fi
  command -v sha256sum >/dev/null 2>&1 || die "sha256sum is needed to check $1 (coreutils)"
  want=$(cut -d ' ' -f 1 <"$1.sha256" | tr 'A-F' 'a-f')
  got=$(sha256sum "$1" | cut -d ' ' -f 1)
  [ "$want" = "$got" ] || die "$1: SHA-256 is $got but $1.sha256 says $want; download it again"
  say "$1: SHA-256 ok"
}

if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  binary=$1
  shift
else
  binary=./kith-linux-$(release_arch)
  if [ ! -e "$binary" ] && [ -e "$binary.xz" ]; then binary=$binary.xz; fi
fi
case "$binary" in
  */*) ;;
  *) binary=./$binary ;;
esac
[ -f "$binary" ] || die "$binary: no such file (download kith-linux-$(release_arch) from the release first)"

verify "$binary"
case "$binary" in
  *.xz)
    command -v xz >/dev/null 2>&1 || die "xz is needed to unpack $binary (apt-get install xz-utils)"
    unpacked=${binary%.xz}
    xz --decompress --stdout "$binary" >"$unpacked.part.$$"
    mv "$unpacked.part.$$" "$unpacked"
    say "unpacked $binary to $unpacked"
    binary=$unpacked
    verify "$binary"
    ;;
esac
chmod 0755 "$binary"

exec "$binary" install --systemd "$@"
