#!/usr/bin/env bash
# Runs the whole test suite, twice:
#   1. build/       Release optimizations with assertions on: unit tests + integration tests
#   2. build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer on): the same tests
# It first runs scripts/setup.sh, so a new machine needs nothing else. Exits non-zero when any
# build or test fails.
#
#   ./scripts/test.sh              everything
#   ./scripts/test.sh --no-asan    only the first tree
#   ./scripts/test.sh --asan-only  only the sanitizer tree
# Environment: HULL_JOBS (default: the number of cores); HULL_BUILD_DIR and HULL_ASAN_BUILD_DIR
# (default build and build-asan) to keep the trees elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."

plain=1
asan=1
for arg in "$@"; do
  case $arg in
    --no-asan) asan=0 ;;
    --asan-only) plain=0 ;;
    *) echo "usage: $0 [--no-asan|--asan-only]" >&2; exit 2 ;;
  esac
done

./scripts/setup.sh
jobs=${HULL_JOBS:-$(nproc)}
failed=()
details=()

# Builds one tree and runs its tests; records the tree's name in `failed` on any failure.
run_tree() {
  local dir=$1
  shift
  echo "=== $dir: configure and build"
  if ! cmake -S . -B "$dir" -G Ninja "$@" >/dev/null || ! ninja -C "$dir" -j"$jobs"; then
    failed+=("$dir (build)")
    return
  fi
  echo "=== $dir: tests"
  if ! ctest --test-dir "$dir" --output-on-failure -j"$jobs" --timeout 1500; then
    failed+=("$dir (tests)")
    # Named again at the very end, where a log cut to its last lines still shows them: each failed
    # ctest test, and each failed pytest case with its one-line reason.
    local log=$dir/Testing/Temporary
    while IFS= read -r line; do
      details+=("$dir: failed: $line")
    done < <(cut -d: -f2- "$log/LastTestsFailed.log" 2>/dev/null || true)
    while IFS= read -r line; do
      details+=("$dir:   ${line:0:400}")
    done < <(grep -h -E '^(FAILED|ERROR) tests/' "$log/LastTest.log" 2>/dev/null || true)
  fi
  # Skipped integration tests say why (a peer tool missing, not root, ...).
  grep -h '^SKIPPED' "$dir/Testing/Temporary/LastTest.log" 2>/dev/null | sed "s|^|$dir: |" || true
}

# Containers need their writable layers off overlayfs: when /tmp is on it (this machine is itself a
# container), the tests keep their temporary stores under the build trees' parent instead.
if [ "$(stat -f -c %T "${TMPDIR:-/tmp}")" = overlayfs ]; then
  export TMPDIR="$PWD/.test-tmp"
  mkdir -p "$TMPDIR"
  export TEST_TMPDIR="$TMPDIR"
fi

# pytest shows the reason for every failure and skip in its summary (ctest keeps it in LastTest.log).
export PYTEST_ADDOPTS="${PYTEST_ADDOPTS:-} -rfEs"
# No __pycache__ folders in the source tree.
export PYTHONDONTWRITEBYTECODE=1

if [ "$plain" = 1 ]; then
  # The same configuration as scripts/main-job.sh, so neither rebuilds what the other built.
  run_tree "${HULL_BUILD_DIR:-build}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O2
fi
if [ "$asan" = 1 ]; then
  # The slowest tests (200 containers in a row, the iris example's build, a second Debian
  # bootstrap) prove nothing more under the sanitizers than in the first tree.
  HULL_SKIP_SLOW=1 \
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_tree "${HULL_ASAN_BUILD_DIR:-build-asan}" -DCMAKE_BUILD_TYPE=Debug -DHULL_SANITIZE=ON
fi

if [ ${#failed[@]} -gt 0 ]; then
  if [ ${#details[@]} -gt 0 ]; then
    printf '%s\n' "${details[@]}" >&2
  fi
  echo "FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "all tests passed"
