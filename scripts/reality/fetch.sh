#!/usr/bin/env bash
# The reality suite's corpus: real Debian packages, fetched with `apt-get download` and
# extracted with `dpkg -x` into a cache (never committed).
#   scripts/reality/fetch.sh CACHE ARCH PACKAGE...
# Writes CACHE/ARCH/debs/*.deb and extracts each into CACHE/ARCH/root (one shared root, the
# --sysroot that check is given). Library dependencies (Depends of lib* packages, recursively)
# are fetched too, so that the run and check read the same library files; libc6 is not (the
# C library is the host's at run time, and check models it). A package already extracted is
# skipped (CACHE/ARCH/done/PACKAGE). Foreign arches need `dpkg --add-architecture ARCH` and
# `apt-get update` first (root). Exit 2 with one line when apt-get or dpkg is missing.
set -euo pipefail
if (($# < 3)); then echo "usage: fetch.sh CACHE ARCH PACKAGE..." >&2; exit 2; fi
cache=$(realpath -m "$1"); arch=$2; shift 2
for t in apt-get apt-cache dpkg; do
  command -v "$t" >/dev/null || { echo "fetch.sh: $t not found (a Debian system is needed)" >&2; exit 2; }
done
debs="$cache/$arch/debs"; root="$cache/$arch/root"; done_dir="$cache/$arch/done"
mkdir -p "$debs" "$root" "$done_dir"
if [ "$arch" != "$(dpkg --print-architecture)" ] && ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
  echo "fetch.sh: arch $arch not enabled: dpkg --add-architecture $arch && apt-get update" >&2; exit 2
fi
want=()
for p in "$@"; do [ -e "$done_dir/$p" ] || want+=("$p"); done
((${#want[@]})) || exit 0
# Library dependencies, recursively, in one apt-cache call (only lib* packages of this arch:
# no shells, perl, debconf, no other arch's twins); not libc6.
while read -r d; do
  case "$d" in lib*) [ "$d" = libc6 ] || want+=("$d") ;; esac
done < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
           --no-replaces --no-enhances "${want[@]/%/:$arch}" 2>/dev/null \
         | sed -n 's/^\([a-z0-9][^ <>]*\)$/\1/p' | sed "s/:$arch\$//" | grep -v ':' | sort -u)
((${#want[@]})) || exit 0
mapfile -t want < <(printf '%s\n' "${want[@]}" | sort -u)
cd "$debs"
for p in "${want[@]}"; do
  ls "${p}"_*_"$arch".deb "${p}"_*_all.deb >/dev/null 2>&1 && continue
  # apt-get download as root warns that _apt cannot write here: harmless.
  apt-get download -qq "$p:$arch" 2>&1 | grep -v 'unsandboxed' >&2 || true
done
for p in "${want[@]}"; do
  [ -e "$done_dir/$p" ] && continue
  f=$(ls "${p}"_*_"$arch".deb "${p}"_*_all.deb 2>/dev/null | head -1 || true)
  if [ -z "$f" ]; then echo "fetch.sh: $p:$arch could not be downloaded" >&2; continue; fi
  dpkg -x "$f" "$root"
  : > "$done_dir/$p"
done
