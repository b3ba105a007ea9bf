#!/usr/bin/env bash
# Builds hull (Release, build/), makes a busybox image from Debian's busybox-static with no
# network, imports it as busybox:latest, lists the images and runs a container from it: once in
# the foreground, once detached with a health check that hull waits for. Run scripts/setup.sh
# first; running containers needs root.
#
# The store is $HULL_ROOT when set, else hull's default (/var/lib/hull for root).
set -euo pipefail
cd "$(dirname "$0")/.."

# The same configuration as scripts/test.sh, so neither rebuilds what the other built. Release
# optimizations, but assertions stay on: a broken invariant aborts loudly.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O2 >/dev/null
ninja -C build -j"$(nproc)" hull

# A container's writable layer cannot live on overlayfs: when the default store would (this
# machine is itself a container), keep the store in the build tree.
if [ -z "${HULL_ROOT:-}" ] && [ "$(id -u)" -eq 0 ]; then
  mkdir -p /var/lib/hull
  if [ "$(stat -f -c %T /var/lib/hull)" = overlayfs ]; then
    export HULL_ROOT=$PWD/build/store
    echo "/var/lib/hull is on overlayfs; using HULL_ROOT=$HULL_ROOT"
  fi
fi

rootfs=build/busybox-rootfs.tar
tests/fixtures/make-busybox-rootfs.sh "$rootfs"

echo "+ hull import $rootfs busybox:latest"
build/hull import "$rootfs" busybox:latest
echo "+ hull images"
build/hull images

echo "+ hull run --rm busybox:latest sh -c 'echo hello from \$(hostname), pid \$\$'"
build/hull run --rm busybox:latest sh -c 'echo hello from $(hostname), pid $$'

echo "+ hull run -d --name main-job-web --health-cmd 'test -f /tmp/ready' ... busybox:latest"
build/hull rm -f main-job-web >/dev/null 2>&1 || true
build/hull run -d --name main-job-web --health-cmd 'test -f /tmp/ready' \
  --health-interval 1s --health-start-interval 200ms --health-start-period 5s \
  busybox:latest sh -c 'touch /tmp/ready; echo serving; exec sleep 300'
for _ in $(seq 50); do
  status=$(build/hull inspect --format '{{.State.Health.Status}}' main-job-web)
  [ "$status" = healthy ] && break
  sleep 0.2
done
echo "+ hull ps"
build/hull ps
echo "+ hull logs main-job-web"
build/hull logs main-job-web
echo "+ hull rm -f main-job-web"
build/hull rm -f main-job-web
[ "$status" = healthy ] || { echo "main-job-web never became healthy ($status)" >&2; exit 1; }
