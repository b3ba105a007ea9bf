#!/bin/bash
# Builds a fake NVIDIA driver root for tests on machines without a GPU: /proc/driver/nvidia as the
# kernel module writes it, device nodes, the user-space libraries (tiny C libraries with the real
# file names and sonames; a fake NVML and libcuda that answer for the GPUs compiled in), the
# utility binaries (shell scripts), GSP firmware and the persistenced socket path.
#
#   make-root.sh ROOT [--gpus N] [--driver VERSION] [--cuda-int 12040] [--name "NVIDIA H100 80GB HBM3"]
#                [--no-nodes]
#
# Device nodes need root (mknod); without it, or with --no-nodes, they are left out with a
# warning. run/nvidia-persistenced/socket is a regular file: a unix socket outlives no process.
set -euo pipefail

usage() { echo "usage: $0 ROOT [--gpus N] [--driver VERSION] [--cuda-int N] [--name NAME] [--no-nodes]" >&2; exit 2; }

[ $# -ge 1 ] || usage
ROOT=$1; shift
GPUS=2
DRIVER=550.54.14
CUDA_INT=12040
NAME="NVIDIA H100 80GB HBM3"
NODES=1
while [ $# -gt 0 ]; do
  case $1 in
    --gpus) GPUS=$2; shift 2 ;;
    --driver) DRIVER=$2; shift 2 ;;
    --cuda-int) CUDA_INT=$2; shift 2 ;;
    --name) NAME=$2; shift 2 ;;
    --no-nodes) NODES=0; shift ;;
    *) usage ;;
  esac
done
case $GPUS in ''|*[!0-9]*) echo "make-root.sh: --gpus wants a number, got '$GPUS'" >&2; exit 2 ;; esac
case $DRIVER in ''|*[!0-9.]*) echo "make-root.sh: --driver wants a version, got '$DRIVER'" >&2; exit 2 ;; esac
case $CUDA_INT in ''|*[!0-9]*) echo "make-root.sh: --cuda-int wants a number, got '$CUDA_INT'" >&2; exit 2 ;; esac
command -v gcc >/dev/null || { echo "make-root.sh: gcc is needed" >&2; exit 1; }

HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$ROOT"
ROOT=$(cd "$ROOT" && pwd)
LIB=$ROOT/usr/lib/x86_64-linux-gnu
mkdir -p "$ROOT/proc/driver/nvidia/gpus" "$ROOT/dev" "$LIB" "$ROOT/usr/bin" \
  "$ROOT/lib/firmware/nvidia/$DRIVER" "$ROOT/run/nvidia-persistenced"

uuid() { printf 'GPU-8c4b1a3e-0d2f-4e6a-9b7c-5f1e2d3c4b%02x' "$1"; }
bus() { printf '0000:%02x:00.0' $(($1 + 1)); }

# --- /proc/driver/nvidia ---------------------------------------------------------------------
printf 'NVRM version: NVIDIA UNIX x86_64 Kernel Module  %s  Thu Feb 22 01:44:30 UTC 2024\n' "$DRIVER" \
  >"$ROOT/proc/driver/nvidia/version"
printf 'GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n' >>"$ROOT/proc/driver/nvidia/version"
for ((i = 0; i < GPUS; i++)); do
  d=$ROOT/proc/driver/nvidia/gpus/$(bus $i)
  mkdir -p "$d"
  cat >"$d/information" <<INFO
Model: 		 $NAME
IRQ:   		 $((150 + i))
GPU UUID: 	 $(uuid $i)
Video BIOS: 	 96.00.99.00.01
Bus Type: 	 PCIe
DMA Size: 	 52 bits
DMA Mask: 	 0xfffffffffffff
Bus Location: 	 $(bus $i)
Device Minor: 	 $i
GPU Excluded:	 No
INFO
done

# --- /dev --------------------------------------------------------------------------------------
node() {  # path major minor
  rm -f "$ROOT/dev/$1"
  mknod -m 666 "$ROOT/dev/$1" c "$2" "$3" 2>/dev/null
}
if [ "$NODES" = 1 ]; then
  mkdir -p "$ROOT/dev/nvidia-caps"
  ok=1
  for ((i = 0; i < GPUS; i++)); do node "nvidia$i" 195 "$i" || ok=0; done
  node nvidiactl 195 255 || ok=0
  node nvidia-modeset 195 254 || ok=0
  node nvidia-uvm 510 0 || ok=0
  node nvidia-uvm-tools 510 1 || ok=0
  node nvidia-caps/nvidia-cap1 511 1 || ok=0
  node nvidia-caps/nvidia-cap2 511 2 || ok=0
  if [ $ok = 0 ]; then
    echo "make-root.sh: warning: mknod failed (not root?): device nodes left out" >&2
    rm -rf "$ROOT/dev/nvidia"* 
  fi
fi

# --- libraries ---------------------------------------------------------------------------------
# so FILE-BASENAME SONAME SOURCE [CFLAGS...]: ROOT/usr/lib/x86_64-linux-gnu/FILE.so.$DRIVER
n=0
so() {
  local base=$1 soname=$2 src=$3; shift 3
  n=$((n + 1))
  gcc -shared -fPIC -O1 -o "$LIB/$base.so.$DRIVER" -Wl,-soname,"$soname" "$@" "$HERE/$src"
  if [ "$soname" != "$base.so.$DRIVER" ]; then ln -sfn "$base.so.$DRIVER" "$LIB/$soname"; fi
}
so libcuda libcuda.so.1 fake_cuda.c -DFAKE_CUDA_INT="$CUDA_INT"
so libnvidia-ml libnvidia-ml.so.1 fake_nvml.c -DFAKE_GPUS="$GPUS" -DFAKE_DRIVER="\"$DRIVER\"" \
  -DFAKE_CUDA="$CUDA_INT" -DFAKE_NAME="\"$NAME\""
for spec in libnvidia-cfg:libnvidia-cfg.so.1 \
  libnvidia-ptxjitcompiler:libnvidia-ptxjitcompiler.so.1 \
  libnvidia-nvvm:libnvidia-nvvm.so.4 \
  libnvidia-allocator:libnvidia-allocator.so.1 \
  libnvidia-encode:libnvidia-encode.so.1 \
  libnvcuvid:libnvcuvid.so.1 \
  libnvidia-opticalflow:libnvidia-opticalflow.so.1 \
  libEGL_nvidia:libEGL_nvidia.so.0 \
  libGLX_nvidia:libGLX_nvidia.so.0 \
  libnvidia-glcore:libnvidia-glcore.so.$DRIVER \
  libnvidia-eglcore:libnvidia-eglcore.so.$DRIVER; do
  so "${spec%%:*}" "${spec#*:}" fake_trivial.c -DFAKE_MARKER=$n
done
# The development links the toolkit leaves alone.
ln -sfn libcuda.so.1 "$LIB/libcuda.so"
ln -sfn libnvidia-ml.so.1 "$LIB/libnvidia-ml.so"
# A leftover of an older driver: same soname, wrong version; discovery must skip it.
gcc -shared -fPIC -O1 -o "$LIB/libcuda.so.470.1" -Wl,-soname,libcuda.so.1 -DFAKE_CUDA_INT=11040 \
  "$HERE/fake_cuda.c"

# --- binaries ----------------------------------------------------------------------------------
smi=$ROOT/usr/bin/nvidia-smi
{
  echo '#!/bin/sh'
  echo '# Fake nvidia-smi: prints the table for the GPUs of this fake driver root.'
  echo 'if [ "$1" = "-L" ]; then'
  for ((i = 0; i < GPUS; i++)); do echo "  echo 'GPU $i: $NAME (UUID: $(uuid $i))'"; done
  echo '  exit 0'
  echo 'fi'
  echo "printf '%s\n' '+-----------------------------------------------------------------------------------------+'"
  printf "printf '| NVIDIA-SMI %%-24s Driver Version: %%-18s CUDA Version: %%-9s|\\\\n' '%s' '%s' '%s'\n" \
    "$DRIVER" "$DRIVER" "$((CUDA_INT / 1000)).$(((CUDA_INT % 1000) / 10))"
  echo "printf '%s\n' '|=========================================================================================|'"
  for ((i = 0; i < GPUS; i++)); do
    printf "printf '| %%3s  %%-30s  %%-16s  %%-32s|\\\\n' '%s' '%s' '%s' '%s'\n" \
      "$i" "$NAME" "$(bus $i)" "$(uuid $i)"
  done
  echo "printf '%s\n' '+-----------------------------------------------------------------------------------------+'"
} >"$smi"
for b in nvidia-debugdump nvidia-persistenced nvidia-cuda-mps-control nvidia-cuda-mps-server; do
  printf '#!/bin/sh\necho "%s (fake) %s"\n' "$b" "$DRIVER" >"$ROOT/usr/bin/$b"
done
chmod 755 "$ROOT/usr/bin/nvidia-"*

# --- firmware, IPC -----------------------------------------------------------------------------
printf 'fake GSP firmware ga10x %s\n' "$DRIVER" >"$ROOT/lib/firmware/nvidia/$DRIVER/gsp_ga10x.bin"
printf 'fake GSP firmware tu10x %s\n' "$DRIVER" >"$ROOT/lib/firmware/nvidia/$DRIVER/gsp_tu10x.bin"
: >"$ROOT/run/nvidia-persistenced/socket"
