#!/usr/bin/env bash
# Installs everything hull needs to build, test and benchmark on Debian 12. Idempotent: a second
# run installs nothing new. Packages come from Debian's archive only.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev clang-format git lld
  # libraries (DESIGN.md, "Dependencies")
  libarchive-dev libcurl4-openssl-dev nettle-dev zlib1g-dev libzstd-dev nlohmann-json3-dev
  libyaml-cpp-dev libcli11-dev libseccomp-dev libcap-dev libfmt-dev libexpected-dev
  libgtest-dev libgmock-dev libbenchmark-dev libre2-dev
  # test fixtures and real consumers of what hull writes
  python3-pytest python3-jsonschema busybox-static podman skopeo umoci buildah runc uidmap fuse-overlayfs python3 zstd gzip tar
  # runtime: the init hull bind-mounts for --init; pty tests
  tini tmux bsdutils
  # registry tests: the registry server, htpasswd (bcrypt), a CA for TLS
  docker-registry apache2-utils openssl python3-cryptography
  # hull bootstrap: Debian base images from the archive (examples/iris-serve builds on one)
  mmdebstrap
  # benchmarks
  hyperfine crun
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
