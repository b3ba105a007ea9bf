"""`hull run` refuses bad input with one clear line and exit status 125 (Docker's status for an
error before the container ran), and leaves nothing behind: no container directory, no runtime
state (cgroup), no mount under the store root."""

import os

import pytest

from container_helpers import assert_nothing_left, box, container_dirs  # noqa: F401

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="hull run needs root")


def refused(hull, *args):
    res = hull.run("run", *args)
    assert res.rc == 125, res.describe()
    lines = res.stderr.rstrip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("hull: error: "), res.describe()
    assert_nothing_left(hull)
    return lines[0]


def test_unknown_image(box):
    assert refused(box, "--rm", "nope", "true") == "hull: error: image not found: nope"
    refused(box, "-d", "nope:v2", "true")


def test_missing_bind_source(box, tmp_path):
    line = refused(box, "--mount", f"type=bind,source={tmp_path}/absent,target=/x",
                   "busybox", "true")
    assert "absent" in line


def test_unknown_user(box):
    line = refused(box, "-u", "nobody2", "busybox", "true")
    assert "unable to find user nobody2" in line
    refused(box, "-d", "-u", "nobody2", "busybox", "true")


@pytest.mark.parametrize("flag,value", [
    ("--memory", "12xb"),
    ("--cpus", "abc"),
    ("--health-interval", "5 parsecs"),
    ("--stop-signal", "SIGNOPE"),
    ("-w", "relative/dir"),
    ("--ulimit", "nofile=99999999:99999999"),
    ("--security-opt", "apparmor=x"),
])
def test_bad_flag(box, flag, value):
    line = refused(box, flag, value, "busybox", "true")
    assert len(line) > len("hull: error: ") + 5


def test_bad_name(box):
    line = refused(box, "--name", "-bad", "busybox", "true")
    assert "invalid container name" in line


def test_name_in_use(box):
    box.ok("run", "--name", "taken", "busybox", "true")
    res = box.run("run", "--name", "taken", "busybox", "true")
    assert res.rc == 125 and "already in use" in res.stderr
    assert len(container_dirs(box)) == 1


def test_memory_below_the_minimum(box):
    line = refused(box, "--memory", "1m", "busybox", "true")  # Docker's minimum is 6 MiB
    assert "memory" in line


def test_unknown_runtime_failure_cleans_up(box):
    # The working directory is a file: the runtime cannot chdir there and init fails to start.
    res = box.run("run", "--rm", "-w", "/etc/passwd", "busybox", "true")
    assert res.rc != 0, res.describe()
    assert_nothing_left(box)
