#!/usr/bin/env bash
# Fetch the Debian kernels `sysgate run` boots ARM and AArch64 programs in (qemu-system) and
# cache them where sysgate looks: ${SYSGATE_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/sysgate}/kernels/<arch>/vmlinuz
#
#   scripts/fetch-kernels.sh [ARCH...]     (no argument: every arch of the table)
#
# Which arches, and each one's Debian architecture and kernel meta package, come from
# scripts/vm-kernels.generated.tsv, generated from the arch records (npm run gen:vm-kernels): a
# data file, so that this script needs only bash and apt (.ci/run runs it before npm ci).
# Needs apt-get with the foreign architecture enabled: as root it runs
#   dpkg --add-architecture <debian arch>; apt-get update
# itself when the package is unknown. Debian ships no big-endian ppc64 kernel: ppc64 runs are observed
# under qemu-user instead (see docs/run.md).
set -euo pipefail

cache="${SYSGATE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sysgate}/kernels"
table="$(dirname "$0")/vm-kernels.generated.tsv"
[ -r "$table" ] || { echo "fetch-kernels: cannot read $table" >&2; exit 2; }
# The table's rows: arch, Debian arch, kernel meta package (tab-separated; # starts a comment).
rows() { grep -v '^#' "$table"; }
mapfile -t known < <(rows | cut -f1)
known_list=$(printf '%s\n' "${known[@]}" | paste -sd, - | sed 's/,/, /g')
arches=("$@")
((${#arches[@]})) || arches=("${known[@]}")

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

fetch() {
  local arch=$1 name debarch meta found=""
  while IFS=$'\t' read -r name debarch meta; do
    if [ "$name" = "$arch" ]; then found=1; break; fi
  done < <(rows)
  [ -n "$found" ] || { echo "fetch-kernels: unknown arch '$arch' ($known_list)" >&2; exit 2; }
  [ -n "$debarch" ] && [ -n "$meta" ] || { echo "fetch-kernels: $table: no Debian arch or kernel package for $arch" >&2; exit 2; }
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
