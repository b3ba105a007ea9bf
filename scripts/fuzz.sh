#!/usr/bin/env bash
# Builds one libFuzzer target with clang and runs it for a while on a fresh working corpus.
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer flags...]
# TARGET: dockerignore_fuzz, dockerfile_fuzz or layer_apply_fuzz. The committed seeds in
# fuzz/corpus/TARGET are read, never written; new inputs go to fuzz/corpus-TARGET/ (ignored by
# git); crashes, leaks and timeouts are saved as fuzz/crash-*. Set HULL_FUZZ_BUILD to use another build directory.
set -euo pipefail

target=${1:?usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer flags...]}
seconds=${2:?usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer flags...]}
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HULL_FUZZ_BUILD:-$root/build-fuzz}

case "$target" in
  dockerignore_fuzz) max_len=4096 ;;
  dockerfile_fuzz) max_len=16384 ;;
  layer_apply_fuzz) max_len=65536 ;;
  *) echo "fuzz.sh: unknown target '$target'" >&2; exit 2 ;;
esac

# clang with libFuzzer's runtime (Debian: clang and libclang-rt-14-dev, see scripts/setup.sh).
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' \
  >"$probe/probe.cc"
if ! clang++ -fsanitize=fuzzer,address,undefined "$probe/probe.cc" -o "$probe/probe" 2>"$probe/err"; then
  echo "fuzz.sh: clang++ cannot link libFuzzer (install clang and libclang-rt-14-dev):" >&2
  cat "$probe/err" >&2
  exit 1
fi

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DHULL_FUZZ=ON -DHULL_TESTS=OFF >/dev/null
ninja -C "$build" -j2 "$target"

seeds=$root/fuzz/corpus/$target
work=$root/fuzz/corpus-$target
rm -rf "$work"
mkdir -p "$work" "$seeds"

# Tar seeds are made here rather than committed: plain, gzip and zstd layers with files,
# directories, links and whiteouts, plus one that tries to climb out of the destination.
if [ "$target" = layer_apply_fuzz ]; then
  tree="$probe/tree"
  mkdir -p "$tree/etc/app" "$tree/var"
  echo hello >"$tree/etc/app/conf"
  ln -s ../etc/app/conf "$tree/var/link"
  ln "$tree/etc/app/conf" "$tree/etc/app/hard"
  : >"$tree/etc/.wh.removed"
  : >"$tree/var/.wh..wh..opq"
  tar --format=pax -C "$tree" -cf "$work/pax.tar" .
  tar --format=gnu -C "$tree" -cf "$work/gnu.tar" .
  gzip -c "$work/pax.tar" >"$work/pax.tar.gz"
  if command -v zstd >/dev/null; then zstd -q -c "$work/gnu.tar" >"$work/gnu.tar.zst"; fi
  tar --format=ustar -C "$tree" --transform 's,^\./etc,../escape,' -cf "$work/escape.tar" ./etc \
    2>/dev/null
  ln -s /etc "$tree/abs"
  tar --format=pax -C "$tree" -cf "$work/abs-link.tar" ./abs ./etc
fi

log="$build/$target.log"
"$build/fuzz/$target" -max_total_time="$seconds" -max_len="$max_len" -print_final_stats=1 \
  -artifact_prefix="$root/fuzz/crash-" "$@" "$work" "$seeds" >"$log" 2>&1 || {
  echo "fuzz.sh: $target failed; log: $log" >&2
  tail -n 40 "$log" >&2
  exit 1
}
grep -E '^Done [0-9]+ runs' "$log"
grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$log" || true
echo "corpus: $(find "$work" -type f | wc -l) inputs in ${work#"$root"/}"
