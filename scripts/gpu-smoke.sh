#!/usr/bin/env bash
# GPU smoke test of hull on a machine with an NVIDIA GPU: builds a small CUDA program
# (scripts/gpu-smoke/vector_add.cu, nvcc -cudart static), puts it into a busybox image made with
# hull itself (import + build), and runs
#
#   hull run --rm --gpus all IMAGE nvidia-smi        (the driver's tool, injected by hull)
#   hull run --rm --gpus all IMAGE /vector_add       (1M-element vector add, checked on the host)
#
# then builds a step that uses the GPU (RUN --device=nvidia.com/gpu=all,required, through a CDI
# spec that `hull gpu cdi generate` writes for this host). Prints the GPU's name and the kernel's
# result; exits non-zero with the reason on the first failure.
#
#   scripts/gpu-smoke.sh [--fake-root DIR] [--prepare DIR | --from DIR] [--keep]
#
#   --prepare DIR  only make the artifacts (the program, a busybox rootfs tarball, the build
#                  context with the program's C libraries) into DIR; for a GPU machine that has
#                  no nvcc or no busybox: carry DIR there and run with --from DIR.
#   --from DIR     use artifacts made by --prepare instead of building them here.
#   --fake-root DIR  run against a fake driver root (tests/fakes/nvidia-driver/make-root.sh) as
#                  HULL_DRIVER_ROOT. The fake libcuda cannot run kernels, so in this mode only
#                  nvidia-smi runs (in a container and in a build step); vector_add is skipped.
#   --keep         keep the work directory (and its hull store) for a look afterwards.
#
# Environment: HULL (the hull binary; default build/hull; its shared libraries must load where
# it runs), NVCC (default /usr/local/cuda/bin/nvcc), BUSYBOX (a static busybox; default
# /bin/busybox), HULL_DRIVER_ROOT (the driver root; default /), TMPDIR. Needs root. The store is
# a fresh one under the work directory unless HULL_ROOT is set.
#
# The image depends only on what it carries: busybox, vector_add and the C libraries it links
# (glibc, libstdc++, libgcc_s, copied from the machine that built it, with their ld.so and a
# static ldconfig for hull's ld cache hook); libcuda and nvidia-smi come from the driver,
# mounted by hull. nvcc 13 builds a program that needs driver 580 or newer: an older driver
# makes vector_add fail with cudaErrorInsufficientDriver (nvidia-smi, printed first, shows the
# driver version).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
HULL=${HULL:-$src/build/hull}
NVCC=${NVCC:-/usr/local/cuda/bin/nvcc}
BUSYBOX=${BUSYBOX:-/bin/busybox}
BASE_IMAGE=gpu-smoke-busybox:latest
IMAGE=gpu-smoke:latest

fake_root="" prepare_dir="" from_dir="" keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --fake-root) fake_root=${2:?--fake-root wants a directory}; shift 2 ;;
    --prepare) prepare_dir=${2:?--prepare wants a directory}; shift 2 ;;
    --from) from_dir=${2:?--from wants a directory}; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,34p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu-smoke: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf 'gpu-smoke: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
run() { printf '+ %s\n' "$*" >&2; "$@"; }

# --- artifacts -----------------------------------------------------------------------------------

# The shared libraries `bin` loads (ldd), and its loader, as host paths.
libs_of() {
  ldd "$1" | awk '/=> \//{print $3} /^\t\/[^ ]+ \(/{print $1}'
}

# DIR/vector_add, DIR/busybox-rootfs.tar and DIR/context (Dockerfile, vector_add, lib/, sbin/).
prepare() {
  local dir=$1 cuda_ok=1
  mkdir -p "$dir/context/lib64" "$dir/context/lib/x86_64-linux-gnu" "$dir/context/sbin"
  if [ -x "$NVCC" ]; then
    # SASS for the common data-centre GPUs, and PTX for newer ones (JIT by the driver).
    run "$NVCC" -O2 -cudart static -o "$dir/vector_add" "$here/gpu-smoke/vector_add.cu" \
      -gencode arch=compute_75,code=sm_75 -gencode arch=compute_80,code=sm_80 \
      -gencode arch=compute_86,code=sm_86 -gencode arch=compute_89,code=sm_89 \
      -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90 \
      || die "nvcc failed to build vector_add"
  elif [ -n "$fake_root" ]; then
    say "no nvcc at $NVCC: the fake-root mode goes on without vector_add"
    cuda_ok=0
  else
    die "no nvcc at $NVCC (set NVCC, or make the artifacts elsewhere with --prepare DIR)"
  fi
  BUSYBOX=$BUSYBOX run "$src/tests/fixtures/make-busybox-rootfs.sh" "$dir/busybox-rootfs.tar"

  # glibc and the C++ runtime the program links, plus the libraries nvidia-smi and libcuda use,
  # from this machine: the image must not rely on the GPU machine's distribution.
  local probe=${dir}/vector_add
  [ "$cuda_ok" = 1 ] || probe=/bin/true
  local lib loader=""
  for lib in $(libs_of "$probe"); do
    case $lib in */ld-linux*) loader=$lib ;; esac
    cp -L "$lib" "$dir/context/lib/x86_64-linux-gnu/"
  done
  for lib in libdl.so.2 libpthread.so.0 librt.so.1 libm.so.6; do
    [ -e "/lib/x86_64-linux-gnu/$lib" ] && cp -L "/lib/x86_64-linux-gnu/$lib" \
      "$dir/context/lib/x86_64-linux-gnu/"
  done
  [ -n "$loader" ] || die "no ld.so among the libraries of $probe"
  cp -L "$loader" "$dir/context/lib64/"
  # hull's ld cache hook runs the image's ldconfig when it has one: a static one.
  if file -L /sbin/ldconfig 2>/dev/null | grep -q 'static'; then
    cp -L /sbin/ldconfig "$dir/context/sbin/ldconfig"
  fi
  [ "$cuda_ok" = 1 ] && cp "$dir/vector_add" "$dir/context/vector_add"
  [ "$cuda_ok" = 1 ] || : >"$dir/context/vector_add.missing"
  cat >"$dir/context/Dockerfile" <<EOF
FROM $BASE_IMAGE
COPY lib64/ /lib64/
COPY lib/ /lib/
COPY sbin/ /sbin/
COPY vector_add* /
ENV NVIDIA_DRIVER_CAPABILITIES=compute,utility
EOF
  say "artifacts ready in $dir"
}

# --- the checks ----------------------------------------------------------------------------------

[ "$(id -u)" -eq 0 ] || die "run as root (containers need namespaces)"
work=$(mktemp -d "${TMPDIR:-/tmp}/gpu-smoke.XXXXXX")
cleanup() {
  if [ "$keep" = 1 ]; then say "kept $work"; return; fi
  "$HULL" rm -f gpu-smoke-probe >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

if [ -n "$prepare_dir" ]; then
  prepare "$prepare_dir"
  say "now, on the GPU machine: HULL=/path/to/hull scripts/gpu-smoke.sh --from $prepare_dir"
  exit 0
fi
[ -x "$HULL" ] || die "no hull binary at $HULL (set HULL=path)"
"$HULL" version >/dev/null 2>&1 || die "$HULL does not run here (missing shared libraries?)"

# A driver first: hull's own error says the same, but later and less plainly.
if [ -n "$fake_root" ]; then
  [ -d "$fake_root" ] || die "--fake-root $fake_root is not a directory"
  HULL_DRIVER_ROOT=$(cd "$fake_root" && pwd)
  export HULL_DRIVER_ROOT
fi
driver_root=${HULL_DRIVER_ROOT:-/}
if [ ! -r "${driver_root%/}/proc/driver/nvidia/version" ]; then
  die "no NVIDIA driver found (no ${driver_root%/}/proc/driver/nvidia/version; is the kernel module loaded? HULL_DRIVER_ROOT=${HULL_DRIVER_ROOT:-unset})"
fi
say "driver: $(head -n1 "${driver_root%/}/proc/driver/nvidia/version")"

if [ -n "$from_dir" ]; then
  art=$(cd "$from_dir" && pwd)
else
  art=$work/artifacts
  prepare "$art"
fi
export HULL_ROOT=${HULL_ROOT:-$work/store}
cuda_ok=1
[ -e "$art/context/vector_add" ] || cuda_ok=0

run "$HULL" import "$art/busybox-rootfs.tar" "$BASE_IMAGE" >/dev/null
run "$HULL" build -q -t "$IMAGE" "$art/context" >/dev/null || die "hull build of $IMAGE failed"

run "$HULL" run --rm --gpus all "$IMAGE" nvidia-smi || die "nvidia-smi in a container failed"
list=$("$HULL" run --rm --gpus all "$IMAGE" nvidia-smi -L) || die "nvidia-smi -L in a container failed"
gpu_name=$(printf '%s\n' "$list" | sed -n '1s/^GPU 0: \(.*\) (UUID.*$/\1/p')
[ -n "$gpu_name" ] || die "nvidia-smi -L printed no GPU 0: $list"
say "GPU 0: $gpu_name"

result="skipped (fake driver root: its libcuda runs no kernels)"
if [ -z "$fake_root" ]; then
  [ "$cuda_ok" = 1 ] || die "the artifacts have no vector_add (made without nvcc)"
  out=$(run "$HULL" run --rm --gpus all "$IMAGE" /vector_add) || die "vector_add failed: $out"
  printf '%s\n' "$out"
  result=$(printf '%s\n' "$out" | grep 'elements OK') || die "vector_add printed no result"
fi

# A build step with the GPU, through a CDI spec for this host.
cdi=$work/cdi
mkdir -p "$cdi"
run "$HULL" gpu cdi generate -o "$cdi/nvidia.json" >/dev/null || die "hull gpu cdi generate failed"
step="nvidia-smi -L > /gpu.txt"
[ -z "$fake_root" ] && step="/vector_add > /gpu.txt"
mkdir -p "$work/step"
printf 'FROM %s\nRUN --device=nvidia.com/gpu=all,required %s\n' "$IMAGE" "$step" \
  >"$work/step/Dockerfile"
HULL_CDI_SPEC_DIRS=$cdi run "$HULL" build -q -t gpu-smoke-step:latest "$work/step" >/dev/null ||
  die "a build step with RUN --device=nvidia.com/gpu=all failed"
step_out=$("$HULL" run --rm gpu-smoke-step:latest cat /gpu.txt)
printf '%s\n' "$step_out"
say "build step with the GPU: $(printf '%s\n' "$step_out" | tail -n1)"

say "OK: GPU \"$gpu_name\"; vector_add: $result"
