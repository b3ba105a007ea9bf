#!/usr/bin/env bash
# Builds hull (Release, build/), makes a busybox image from Debian's busybox-static with no
# network, imports it as busybox:latest and lists the images. Run scripts/setup.sh first.
#
# The store is $HULL_ROOT when set, else hull's default (/var/lib/hull for root).
set -euo pipefail
cd "$(dirname "$0")/.."

# The same configuration as scripts/test.sh, so neither rebuilds what the other built. Release
# optimizations, but assertions stay on: a broken invariant aborts loudly.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O2 >/dev/null
ninja -C build -j"$(nproc)" hull

rootfs=build/busybox-rootfs.tar
tests/fixtures/make-busybox-rootfs.sh "$rootfs"

echo "+ hull import $rootfs busybox:latest"
build/hull import "$rootfs" busybox:latest
echo "+ hull images"
build/hull images
