#!/usr/bin/env bash
# Rebuilds the bundled example binaries (committed, so `npm start` needs no cross compiler).
# Needs gcc-arm-linux-gnueabihf. Deterministic: no build id, no debug info paths.
set -euo pipefail
cd "$(dirname "$0")"
CC=${CC:-arm-linux-gnueabihf-gcc}
for app in sensor-log keygen; do
  $CC -O2 -s -Wl,--build-id=none -ffile-prefix-map="$PWD"=. -o "bin/$app.arm" "src/$app.c"
done
ls -l bin
