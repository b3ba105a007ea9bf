"""Detached containers and the commands that act on them: run -d, logs (-f, --tail, -t), ps
(states and formats), stop, kill -s, wait, exec, rm (-f), inspect, --rm -d, and -it on a real
pseudo-terminal."""

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import termios

import pytest

from container_helpers import (assert_nothing_left, box, container_dirs, inspect,  # noqa: F401
                               wait_for)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="hull run needs root")

# Runs until SIGTERM, which it answers with "bye" and exit status 0.
SERVICE = 'echo started; trap "echo bye; exit 0" TERM; while true; do sleep 0.1; done'


def logs_contain(hull, ref, text):
    return lambda: text in hull.run("logs", ref).stdout


def test_detached_logs_stop_rm(box):
    cid = box.ok("run", "-d", "--name", "svc", "busybox", "sh", "-c", SERVICE).strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    wait_for("the service to start", logs_contain(box, "svc", "started"))
    ps = box.ok("ps")
    assert "svc" in ps and "Up " in ps and cid[:12] in ps
    state = inspect(box, "svc")["State"]
    assert state["Running"] and state["Pid"] > 0
    assert box.ok("stop", "svc") == "svc\n"
    state = inspect(box, cid[:8])["State"]
    assert (state["Status"], state["ExitCode"]) == ("exited", 0)
    assert box.ok("logs", "svc") == "started\nbye\n"
    assert "Exited (0)" in box.ok("ps", "-a")
    assert box.ok("rm", "svc") == "svc\n"
    assert_nothing_left(box)


def test_stop_kills_what_ignores_the_signal(box):
    box.ok("run", "-d", "--name", "stubborn", "busybox", "sh", "-c",
           'trap "" TERM; echo ready; while true; do sleep 0.1; done')
    wait_for("ready", logs_contain(box, "stubborn", "ready"))
    box.ok("stop", "-t", "1", "stubborn")
    assert inspect(box, "stubborn")["State"]["ExitCode"] == 137


def test_logs_follow_and_tail(box):
    box.ok("run", "-d", "--name", "count", "busybox", "sh", "-c",
           "for i in 1 2 3; do echo $i; done; sleep 1; echo 4")
    assert box.ok("logs", "-f", "count") == "1\n2\n3\n4\n"
    assert box.ok("logs", "--tail", "2", "count") == "3\n4\n"
    assert box.ok("logs", "--tail", "0", "count") == ""
    stamped = box.ok("logs", "-t", "--tail", "1", "count")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z 4\n", stamped), stamped


def test_ps_states_and_formats(box):
    assert box.run("run", "--name", "done", "busybox", "sh", "-c", "exit 2").rc == 2
    box.ok("run", "-d", "--name", "up", "busybox", "sleep", "30")
    assert box.ok("ps", "--format", "{{.Names}}").split() == ["up"]
    assert sorted(box.ok("ps", "-a", "--format", "{{.Names}}").split()) == ["done", "up"]
    rows = [json.loads(line) for line in box.ok("ps", "-a", "--format", "json").splitlines()]
    by_name = {r["Names"]: r for r in rows}
    assert by_name["done"]["State"] == "exited"
    assert by_name["done"]["Status"].startswith("Exited (2)")
    assert by_name["up"]["State"] == "running"
    assert by_name["up"]["Status"].startswith("Up ")
    assert by_name["up"]["Command"] == "sleep 30"
    ids = box.ok("ps", "-aq").split()
    assert len(ids) == 2 and all(re.fullmatch(r"[0-9a-f]{12}", i) for i in ids)
    header = box.ok("ps").splitlines()[0]
    for column in ("CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"):
        assert column in header


def test_kill_with_signal_and_wait(box):
    box.ok("run", "-d", "--name", "kk", "busybox", "sh", "-c",
           'trap "exit 7" USR1; echo armed; while true; do sleep 0.1; done')
    wait_for("the trap", logs_contain(box, "kk", "armed"))
    assert box.ok("kill", "-s", "USR1", "kk") == "kk\n"
    assert box.ok("wait", "kk") == "7\n"
    box.ok("run", "-d", "--name", "k9", "busybox", "sleep", "30")
    box.ok("kill", "k9")
    assert box.ok("wait", "k9") == "137\n"
    line = box.fail("kill", "k9")
    assert "not running" in line


def test_exec_in_running_container(box):
    box.ok("run", "-d", "--name", "host", "busybox", "sleep", "30")
    assert box.ok("exec", "host", "echo", "hi") == "hi\n"
    assert box.ok("exec", "-e", "X=1", "host", "sh", "-c", "echo $X") == "1\n"
    assert box.ok("exec", "-w", "/tmp", "host", "pwd") == "/tmp\n"
    assert box.ok("exec", "-u", "app", "host", "id", "-u") == "1000\n"
    assert box.run("exec", "host", "sh", "-c", "exit 5").rc == 5
    assert box.ok("exec", "-i", "host", "cat", input=b"piped\n") == "piped\n"
    # The process shares the container's pid namespace: init is pid 1 there.
    assert "sleep" in box.ok("exec", "host", "cat", "/proc/1/cmdline")


def test_rm_running_needs_force(box):
    box.ok("run", "-d", "--name", "busy", "busybox", "sleep", "30")
    line = box.fail("rm", "busy")
    assert "running" in line and "busy" in line
    box.ok("rm", "-f", "busy")
    assert_nothing_left(box)


def test_name_in_use_then_free(box):
    box.ok("run", "-d", "--name", "one", "busybox", "sleep", "30")
    res = box.run("run", "--name", "one", "busybox", "true")
    assert res.rc == 125 and "already in use" in res.stderr
    box.ok("rm", "-f", "one")
    box.ok("run", "--rm", "--name", "one", "busybox", "true")


def test_rm_detached_cleans_up_after_exit(box):
    cid = box.ok("run", "-d", "--rm", "-v", "/anon", "busybox", "true").strip()
    wait_for("the container to be removed", lambda: cid not in container_dirs(box))
    assert_nothing_left(box)
    volumes = box.root / "volumes"
    assert not volumes.exists() or [p.name for p in volumes.iterdir() if len(p.name) == 64] == []


def test_inspect_shows_config_and_host_config(box):
    box.ok("run", "-d", "--name", "conf", "-e", "A=1", "--label", "team=ml", "--memory", "64m",
           "--stop-signal", "SIGINT", "busybox", "sleep", "30")
    j = inspect(box, "conf")
    assert j["Name"] == "/conf"
    assert "A=1" in j["Config"]["Env"]
    assert j["Config"]["Labels"]["team"] == "ml"
    assert j["Config"]["Cmd"] == ["sleep", "30"]
    assert j["Config"]["StopSignal"] == "SIGINT"
    assert j["HostConfig"]["Memory"] == 64 * 1024 * 1024
    assert j["Path"] == "sleep" and j["Args"] == ["30"]
    # A container wins over an image in plain `inspect`.
    assert json.loads(box.ok("inspect", "conf"))[0]["Id"] == j["Id"]
    assert json.loads(box.ok("container", "inspect", "conf"))[0]["Id"] == j["Id"]


def run_on_pty(hull, args, rows=40, cols=100, input_bytes=b""):
    """Runs hull with a pseudo-terminal of the given size as its stdio; returns what it wrote."""
    master, slave = pty.openpty()
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    proc = subprocess.Popen([hull.binary, *args], stdin=slave, stdout=slave, stderr=slave,
                            env=hull.env(), start_new_session=True)
    os.close(slave)
    if input_bytes:
        os.write(master, input_bytes)
    out = b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 30)
            if not ready:
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: every holder of the slave side has closed it
                break
            if not chunk:
                break
            out += chunk
    finally:
        proc.wait(timeout=30)
        os.close(master)
    return proc.returncode, out.decode("utf-8", "replace")


def test_interactive_tty(box):
    rc, out = run_on_pty(box, ["run", "--rm", "-it", "busybox", "sh", "-c", "tty; stty size"])
    assert rc == 0, out
    assert "/dev/pts/0" in out
    assert "40 100" in out


def test_tty_exit_status_and_input(box):
    rc, out = run_on_pty(box, ["run", "--rm", "-it", "busybox", "sh", "-c",
                               "read line; echo got:$line; exit 3"], input_bytes=b"abc\r")
    assert rc == 3, out
    assert "got:abc" in out


def test_exec_with_tty(box):
    box.ok("run", "-d", "--name", "ptyhost", "busybox", "sleep", "30")
    rc, out = run_on_pty(box, ["exec", "-it", "ptyhost", "sh", "-c", "tty; stty size; exit 4"],
                         rows=30, cols=90)
    assert rc == 4, out
    assert "/dev/pts/" in out and "30 90" in out


def test_detached_tty_is_logged(box):
    box.ok("run", "-d", "-t", "--name", "dtty", "busybox", "sh", "-c", "tty; echo done")
    assert box.ok("wait", "dtty") == "0\n"
    out = box.ok("logs", "dtty")
    assert "/dev/pts/0" in out and "done" in out
