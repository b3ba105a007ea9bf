#!/bin/sh
# Runs one integration test file under pytest, the way ctest runs them: each file is a test of its
# own, so ctest runs two files at once and names the file that failed. Each file gets a pytest
# temporary folder of its own (TAG: the build tree and the file), removed when every test passed
# and kept for a look when one failed.
#
#   tests/integration/run-file.sh TAG tests/integration/test_run.py [pytest options...]
set -eu
tag=$1
file=$2
shift 2
base="${TMPDIR:-/tmp}/pytest-$tag"
rc=0
/usr/bin/python3 -m pytest -q -p no:cacheprovider --basetemp="$base" "$@" "$file" || rc=$?
if [ "$rc" = 0 ]; then
  # What cannot go (a mount a test left behind) is said, and kept; the tests judged the run.
  rm -rf --one-file-system "$base" || echo "run-file: left $base as it is" >&2
fi
exit "$rc"
