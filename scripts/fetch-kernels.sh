#!/usr/bin/env bash
# Fetch the Debian kernels `sysgate run` boots for ARM and AArch64 programs (qemu-system) and
# cache them where sysgate looks: ${SYSGATE_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/sysgate}/kernels/<arch>/vmlinuz
#
#   scripts/fetch-kernels.sh [arm] [aarch64]     (no argument: both)
#
# Needs apt-get with the foreign architecture enabled: as root it runs
#   dpkg --add-architecture armhf; dpkg --add-architecture arm64; apt-get update
# itself when the package is unknown. Debian ships no big-endian ppc64 kernel: ppc64 runs are observed
# under qemu-user instead (see docs/run.md).
set -euo pipefail

cache="${SYSGATE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sysgate}/kernels"
arches=("$@")
((${#arches[@]})) || arches=(arm aarch64)

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

fetch() {
  local arch=$1 debarch meta
  case "$arch" in
    arm) debarch=armhf; meta=linux-image-armmp ;;
    aarch64) debarch=arm64; meta=linux-image-arm64 ;;
    *) echo "fetch-kernels: unknown arch '$arch' (arm, aarch64)" >&2; exit 2 ;;
  esac
  local out="$cache/$arch"
  if [ -s "$out/vmlinuz" ]; then echo "fetch-kernels: $arch: $out/vmlinuz (cached: $(cat "$out/version" 2>/dev/null))"; return; fi
  if ! apt-cache show "$meta:$debarch" >/dev/null 2>&1; then
    $SUDO dpkg --add-architecture "$debarch"
    $SUDO apt-get update -qq
  fi
  # The meta package names the versioned image: linux-image-6.1.0-NN-armmp.
  local pkg
  pkg=$(apt-cache depends "$meta:$debarch" | sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*\).*/\1/p' | head -1)
  [ -n "$pkg" ] || { echo "fetch-kernels: cannot resolve $meta:$debarch" >&2; exit 1; }
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  (cd "$tmp" && apt-get download -qq "$pkg:$debarch")
  dpkg -x "$tmp"/*.deb "$tmp/x"
  mkdir -p "$out"
  local img
  img=$(ls "$tmp"/x/boot/vmlinuz-* | head -1)
  cp "$img" "$out/vmlinuz.tmp"
  mv "$out/vmlinuz.tmp" "$out/vmlinuz"
  basename "$img" | sed 's/^vmlinuz-//' > "$out/version"
  echo "fetch-kernels: $arch: $out/vmlinuz ($(cat "$out/version"), from $pkg:$debarch)"
}

for a in "${arches[@]}"; do fetch "$a"; done
