#!/usr/bin/env bash
# Builds hull (Release, build/), makes a busybox image from Debian's busybox-static with no
# network, imports it as busybox:latest, lists the images and runs a container from it: once in
# the foreground, once detached with a health check that hull waits for. Then the main job:
# bootstraps a Debian base image with python3 from Debian's archive (once; kept in the store),
# builds examples/iris-serve on it (a scikit-learn model trained in a builder stage, served over
# HTTP from the final one), runs it detached, waits until it is healthy and prints a prediction.
# Run scripts/setup.sh first; running containers needs root; the bootstrap and the build need a
# Debian mirror (the one apt uses here).
#
# IRIS_PORT picks the port the example listens on (default 8080, on 127.0.0.1).
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

# The main job: a model trained while its image builds, served from a base image that hull made
# from Debian's packages, with no container registry involved.
base=hull-ml/bookworm-python:latest
if build/hull inspect --type image "$base" >/dev/null 2>&1; then
  echo "+ $base is in the store already: not bootstrapping it again"
else
  echo "+ hull bootstrap --include python3 $base"
  build/hull bootstrap --include python3 "$base"
fi

echo "+ hull build -t iris-serve:latest examples/iris-serve"
build/hull build -t iris-serve:latest examples/iris-serve

port=${IRIS_PORT:-8080}
echo "+ hull run -d --name main-job-iris -e IRIS_PORT=$port iris-serve:latest"
build/hull rm -f main-job-iris >/dev/null 2>&1 || true
trap 'build/hull rm -f main-job-iris >/dev/null 2>&1 || true' EXIT
build/hull run -d --name main-job-iris -e IRIS_PORT="$port" iris-serve:latest
status=starting
for _ in $(seq 600); do
  status=$(build/hull inspect --format '{{.State.Health.Status}}' main-job-iris)
  state=$(build/hull inspect --format '{{.State.Status}}' main-job-iris)
  if [ "$status" = healthy ] || [ "$status" = unhealthy ] || [ "$state" != running ]; then break; fi
  sleep 0.2
done
echo "+ hull ps"
build/hull ps
if [ "$status" != healthy ]; then
  echo "main-job-iris did not become healthy (health: $status, state: $state); its log:" >&2
  build/hull logs main-job-iris >&2 || true
  exit 1
fi

echo "+ POST http://127.0.0.1:$port/predict {\"features\": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}"
python3 - "$port" <<'PY'
import json, sys, urllib.request
body = json.dumps({"features": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}).encode()
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/predict", data=body,
                             headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=10) as r:
    print(r.read().decode())
PY
echo "+ hull logs main-job-iris"
build/hull logs main-job-iris
echo "+ hull rm -f main-job-iris"
build/hull rm -f main-job-iris
trap - EXIT
