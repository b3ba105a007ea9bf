"""`hull run` in the foreground: exit statuses the Docker way, the command after IMAGE, stdio,
environment/user/working dir from the image and from flags, bind mounts and named volumes, and
--rm leaving nothing behind."""

import json
import os
import signal
import subprocess

import pytest

from container_helpers import assert_nothing_left, box, container_dirs, inspect  # noqa: F401

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="hull run needs root")


@pytest.mark.parametrize("command,status", [
    (["true"], 0),
    (["sh", "-c", "exit 3"], 3),
    (["no-such-command"], 127),
    (["/etc/passwd"], 126),
    # With --init, tini is pid 1 and passes on the status of the shell killed by its signal.
    (["--init", "busybox", "sh", "-c", "kill -9 $$"], 137),
])
def test_exit_status(box, command, status):
    if command[0] != "--init":
        command = ["busybox", *command]
    res = box.run("run", "--rm", *command)
    assert res.rc == status, res.describe()
    assert_nothing_left(box)


def test_not_found_says_why(box):
    res = box.run("run", "--rm", "busybox", "no-such-command")
    assert res.rc == 127
    assert "no-such-command" in res.stderr


def test_command_after_image_keeps_its_flags(box):
    out = box.ok("run", "--rm", "busybox", "sh", "-c", "printf '%s %s' $0 $1", "-e", "--rm")
    assert out == "-e --rm"


def test_stdout_and_stderr_are_the_containers(box):
    res = box.run("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2")
    assert (res.rc, res.stdout, res.stderr) == (0, "out\n", "err\n")


def test_stdin_with_i_and_without(box):
    assert box.ok("run", "--rm", "-i", "busybox", "cat", input=b"fed\n") == "fed\n"
    assert box.ok("run", "--rm", "busybox", "cat", input=b"fed\n") == ""


def test_kept_container_has_logs_and_state(box):
    res = box.run("run", "--name", "kept", "busybox", "sh", "-c", "echo one; echo two >&2; exit 4")
    assert (res.rc, res.stdout, res.stderr) == (4, "one\n", "two\n")
    logs = box.run("logs", "kept")
    assert (logs.stdout, logs.stderr) == ("one\n", "two\n")
    state = inspect(box, "kept")["State"]
    assert (state["Status"], state["ExitCode"], state["Running"]) == ("exited", 4, False)
    assert "Exited (4)" in box.ok("ps", "-a")
    assert box.ok("ps").count("\n") == 1  # header only: nothing runs
    # The log is Docker's json-file format.
    cid = inspect(box, "kept")["Id"]
    lines = (box.root / "containers" / cid / f"{cid}-json.log").read_text().splitlines()
    first = json.loads(lines[0])
    assert set(first) == {"log", "stream", "time"}
    assert first["log"] == "one\n" and first["stream"] == "stdout"
    box.ok("rm", "kept")
    assert_nothing_left(box)


def test_env_user_workdir_from_image(box, busybox_tar):
    box.ok("import", "-c", "ENV FOO=bar", "-c", "USER app", "-c", "WORKDIR /home/app",
           "-c", 'CMD ["sh", "-c", "echo $FOO; id -u; pwd"]', busybox_tar, "configured:v1")
    assert box.ok("run", "--rm", "configured:v1") == "bar\n1000\n/home/app\n"
    out = box.ok("run", "--rm", "-e", "FOO=baz", "-u", "0", "-w", "/tmp", "configured:v1")
    assert out == "baz\n0\n/tmp\n"
    out = box.ok("run", "--rm", "-u", "app:root", "configured:v1", "id")
    assert "uid=1000" in out and "gid=0" in out


def test_hostname_and_default_env(box):
    out = box.ok("run", "--rm", "--hostname", "box1", "busybox", "sh", "-c",
                 "hostname; echo $HOME; echo $PATH")
    assert out.splitlines()[:2] == ["box1", "/root"]
    assert "/usr/bin" in out.splitlines()[2]


def test_bind_mounts_ro_and_rw(box, tmp_path):
    src = tmp_path / "data"
    src.mkdir()
    (src / "in.txt").write_text("hello\n")
    out = box.ok("run", "--rm", "-v", f"{src}:/data", "busybox", "sh", "-c",
                 "cat /data/in.txt; echo written > /data/out.txt")
    assert out == "hello\n"
    assert (src / "out.txt").read_text() == "written\n"
    res = box.run("run", "--rm", "-v", f"{src}:/data:ro", "busybox", "sh", "-c",
                  "echo x > /data/ro.txt")
    assert res.rc != 0, res.describe()
    assert not (src / "ro.txt").exists()
    assert_nothing_left(box)


def test_named_volume_persists(box):
    box.ok("run", "--rm", "-v", "keep:/data", "busybox", "sh", "-c", "echo kept > /data/f")
    assert box.ok("run", "--rm", "-v", "keep:/data", "busybox", "cat", "/data/f") == "kept\n"
    assert (box.root / "volumes" / "keep" / "_data" / "f").read_text() == "kept\n"


def test_rm_removes_everything(box):
    box.ok("run", "--rm", "-v", "/anon", "--tmpfs", "/scratch", "busybox", "true")
    assert container_dirs(box) == []
    assert box.ok("ps", "-aq") == ""
    assert_nothing_left(box)


def test_name_is_generated_and_unique(box):
    box.ok("run", "busybox", "true")
    box.ok("run", "busybox", "true")
    names = box.ok("ps", "-a", "--format", "{{.Names}}").split()
    assert len(names) == 2 and len(set(names)) == 2
    for n in names:
        assert "_" in n


def test_help_says_host_network_is_the_default(box):
    out = box.ok("run", "--help")
    assert "host" in out and "default" in out


def test_container_does_not_inherit_ignored_signals(box):
    # A shell running hull in the background ignores signals; the container must not.
    proc = subprocess.run([box.binary, "run", "--rm", "busybox", "grep", "-E", "SigIgn|SigBlk",
                           "/proc/self/status"], env=box.env(), capture_output=True, timeout=60,
                          preexec_fn=lambda: (signal.signal(signal.SIGQUIT, signal.SIG_IGN),
                                              signal.signal(signal.SIGINT, signal.SIG_IGN)))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n"
