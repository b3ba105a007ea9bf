"""podman drives hull's OCI runtime (`podman --runtime .../hull-runtime`): conmon calls create
with --log/--log-format json/--pid-file (and --console-socket for -t), then start, state, kill,
delete and exec --process --detach, as it does with runc. podman runs with storage and config of
its own (tests/integration/peers.py) and the busybox image imported into that storage."""

import os
import shlex
import subprocess

import pytest

from runtimefix import candidate_runtime_path

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="podman runtime tests need root")

IMAGE = "localhost/conform-busybox:latest"


@pytest.fixture(scope="module")
def runtime_path() -> str:
    path = candidate_runtime_path()
    if not os.access(path, os.X_OK):
        pytest.fail(f"runtime under test not found at {path}: build hull, or set HULL_RUNTIME")
    return str(path)


@pytest.fixture(scope="module")
def image(podman, busybox_tar):
    podman.run("import", busybox_tar, IMAGE)
    yield IMAGE
    podman.run("rmi", "-f", IMAGE, check=False)


@pytest.fixture
def pm(podman, image, runtime_path):
    """podman with --runtime set; removes what a test leaves behind."""
    def call(*args, check=True, timeout=120):
        return podman.run("--runtime", runtime_path, *args, check=check, timeout=timeout)
    yield call
    podman.run("--runtime", runtime_path, "rm", "-a", "-f", check=False)


def test_run_rm_echo(pm, image):
    out = pm("run", "--rm", "--network=none", image, "echo", "hi").stdout
    assert out == "hi\n"
    assert pm("ps", "-a", "-q").stdout.strip() == "", "--rm left a container"


def test_run_sees_the_image_and_the_process_spec(pm, image):
    out = pm("run", "--rm", "--network=none", "-e", "FOO=bar", "-w", "/home/app", "-u", "1000",
             image, "sh", "-c", "echo $FOO; pwd; id -u; echo $$").stdout
    assert out.split() == ["bar", "/home/app", "1000", "1"], out


@pytest.mark.parametrize("status", [0, 3, 42])
def test_exit_status_propagates(pm, image, status):
    p = pm("run", "--rm", "--network=none", image, "sh", "-c", f"exit {status}", check=False)
    assert p.returncode == status, p.stderr


def test_command_not_found_is_127(pm, image):
    # podman reads the runtime's json log for "executable file not found" and answers 127.
    p = pm("run", "--rm", "--network=none", image, "nosuchcommand", check=False)
    assert p.returncode == 127, f"exit {p.returncode}\nstderr: {p.stderr}"


def test_detached_exec_stop_rm(pm, image):
    cid = pm("run", "-d", "--network=none", image, "sleep", "300").stdout.strip()
    assert cid, "no container id printed"
    assert pm("inspect", "--format", "{{.State.Status}}", cid).stdout.strip() == "running"
    assert pm("exec", cid, "echo", "inside").stdout == "inside\n"
    p = pm("exec", cid, "sh", "-c", "exit 5", check=False)
    assert p.returncode == 5, p.stderr
    out = pm("exec", cid, "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo").stdout
    assert out.strip() == "sleep 300", "exec joined another pid namespace: " + out
    pm("stop", "-t", "2", cid)
    assert pm("inspect", "--format", "{{.State.Status}}", cid).stdout.strip() == "exited"
    pm("rm", cid)
    assert cid not in pm("ps", "-a", "-q", "--no-trunc").stdout


def test_kill_and_wait(pm, image):
    cid = pm("run", "-d", "--network=none", image, "sleep", "300").stdout.strip()
    pm("kill", "-s", "KILL", cid)
    assert pm("wait", cid).stdout.strip() == "137"
    pm("rm", cid)


def test_run_tty_under_script(podman, pm, image, runtime_path):
    """-t: conmon passes --console-socket; the runtime sends the pty master over it."""
    inner = shlex.join(["podman", "--runtime", runtime_path, "run", "--rm", "-t",
                        "--network=none", image, "sh", "-c", "tty; stty size; echo done"])
    proc = subprocess.run(["script", "-qec", f"stty cols 101 rows 33; {inner}", "/dev/null"],
                          env=podman.env, stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=120)
    out = proc.stdout.decode("utf-8", "replace").replace("\r", "")
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{proc.stderr!r}"
    lines = [line for line in out.split("\n") if line]
    assert "/dev/pts/0" in lines and "done" in lines, out
    assert "33 101" in lines, "the window size did not reach the container: " + out
