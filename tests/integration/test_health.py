"""Health checks run by the process that monitors a container (the supervisor of a detached one):
healthy and unhealthy transitions, the start period, timeouts, the image's HEALTHCHECK, and what
ps and inspect show. Intervals are short; every wait is a poll with a generous limit."""

import os

import pytest

from container_helpers import box, inspect, wait_for  # noqa: F401

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="hull run needs root")

FAST = ["--health-interval", "200ms", "--health-retries", "2"]


def health(hull, ref):
    return inspect(hull, ref)["State"].get("Health")


def status_becomes(hull, ref, wanted):
    return lambda: (health(hull, ref) or {}).get("Status") == wanted


def test_becomes_healthy(box):
    box.ok("run", "-d", "--name", "ok", "--health-cmd", "test -f /tmp/ready", *FAST,
           "busybox", "sh", "-c", "touch /tmp/ready; sleep 60")
    wait_for("healthy", status_becomes(box, "ok", "healthy"))
    h = health(box, "ok")
    assert h["FailingStreak"] == 0
    assert h["Log"] and h["Log"][-1]["ExitCode"] == 0
    assert "(healthy)" in box.ok("ps")
    cfg = inspect(box, "ok")["Config"]["Healthcheck"]
    assert cfg["Test"] == ["CMD-SHELL", "test -f /tmp/ready"]
    assert cfg["Interval"] == 200_000_000


def test_becomes_unhealthy_and_keeps_five_results(box):
    box.ok("run", "-d", "--name", "bad", "--health-cmd", "echo failing; exit 1", *FAST,
           "busybox", "sleep", "60")
    wait_for("unhealthy", status_becomes(box, "bad", "unhealthy"))
    wait_for("five results", lambda: len(health(box, "bad")["Log"]) == 5)
    h = health(box, "bad")
    assert h["FailingStreak"] >= 2
    assert all(e["ExitCode"] == 1 and e["Output"] == "failing\n" for e in h["Log"])
    assert "(unhealthy)" in box.ok("ps")


def test_recovers(box):
    box.ok("run", "-d", "--name", "flip", "--health-cmd", "test -f /tmp/up", *FAST,
           "busybox", "sleep", "60")
    wait_for("unhealthy", status_becomes(box, "flip", "unhealthy"))
    box.ok("exec", "flip", "touch", "/tmp/up")
    wait_for("healthy", status_becomes(box, "flip", "healthy"))


def test_start_period_forgives_failures(box):
    box.ok("run", "-d", "--name", "slow", "--health-cmd", "false", *FAST,
           "--health-start-period", "60s", "--health-start-interval", "200ms",
           "busybox", "sleep", "60")
    wait_for("three checks", lambda: len((health(box, "slow") or {}).get("Log", [])) >= 3)
    h = health(box, "slow")
    assert (h["Status"], h["FailingStreak"]) == ("starting", 0)
    assert "(health: starting)" in box.ok("ps")


def test_timeout_counts_as_failure(box):
    box.ok("run", "-d", "--name", "hang", "--health-cmd", "sleep 10", "--health-timeout", "300ms",
           "--health-interval", "200ms", "--health-retries", "1", "busybox", "sleep", "60")
    wait_for("unhealthy", status_becomes(box, "hang", "unhealthy"))
    entry = health(box, "hang")["Log"][-1]
    assert entry["ExitCode"] == -1
    assert "exceeded timeout" in entry["Output"]


def test_image_healthcheck_and_no_healthcheck(box, busybox_tar):
    box.ok("import", "-c", "HEALTHCHECK --interval=200ms --retries=2 CMD true", busybox_tar,
           "checked:v1")
    box.ok("run", "-d", "--name", "img", "checked:v1", "sleep", "60")
    wait_for("healthy", status_becomes(box, "img", "healthy"))
    assert health(box, "img")["Log"][-1]["ExitCode"] == 0
    box.ok("run", "-d", "--name", "none", "--no-healthcheck", "checked:v1", "sleep", "60")
    assert health(box, "none") is None
    status = dict(line.split(" ", 1)
                  for line in box.ok("ps", "--format", "{{.Names}} {{.Status}}").splitlines())
    assert "(health" not in status["none"] and "(healthy)" in status["img"]


def test_foreground_run_checks_health_too(box):
    res = box.run("run", "--name", "fg", "--health-cmd", "true", *FAST, "busybox", "sh", "-c",
                  "sleep 2")
    assert res.rc == 0, res.describe()
    h = health(box, "fg")
    assert h["Status"] == "healthy" and h["Log"]
