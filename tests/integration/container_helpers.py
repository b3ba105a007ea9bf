"""Helpers for the container tests (test_run*.py, test_health.py): a store with busybox whose
containers are all removed after each test, polling with a limit instead of sleeping, and the
checks that a container left nothing behind (mounts under the store root, runtime state, its
directory)."""

import json
import os
import time
from pathlib import Path

import pytest

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="hull run needs root")


def mounts_under(root: Path) -> list:
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point == str(root) or point.startswith(str(root) + "/"):
                out.append(point)
    return sorted(out)


def entries(path: Path) -> list:
    return sorted(p.name for p in path.iterdir()) if path.is_dir() else []


def container_dirs(hull) -> list:
    return [e for e in entries(hull.root / "containers") if len(e) == 64]


def assert_nothing_left(hull):
    """No container directory, no runtime state, no mount under the store root."""
    assert container_dirs(hull) == [], "container directories left behind"
    assert entries(hull.root / "runtime") == [], "runtime state left behind"
    assert mounts_under(hull.root) == [], "mounts left behind"


def wait_for(what, predicate, limit=30.0, step=0.05):
    """Polls predicate() until it returns a true value (returned) or the limit passes."""
    deadline = time.monotonic() + limit
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(step)


def inspect(hull, ref) -> dict:
    out = hull.ok("inspect", "--type", "container", ref)
    data = json.loads(out)
    assert len(data) == 1
    return data[0]


def remove_all_containers(hull):
    res = hull.run("ps", "-aq", "--no-trunc")
    for cid in res.stdout.split():
        hull.run("rm", "-f", "-v", cid)


@pytest.fixture
def box(store):
    """hull with busybox:latest imported; every container is removed afterwards, and the test
    fails if one left a mount or runtime state behind."""
    if os.geteuid() != 0:
        pytest.skip("hull run needs root")
    yield store
    remove_all_containers(store)
    assert_nothing_left(store)
