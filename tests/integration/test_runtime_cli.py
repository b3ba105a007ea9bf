"""hull-runtime, the OCI runtime command line, on a busybox bundle: the lifecycle verbs, exit
codes of `run`, exec, the console socket protocol, isolation (mounts, masked paths, fds,
seccomp, symlinked mount destinations) and clean teardown. Needs root."""

import array
import json
import os
import pty
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import pytest

from hulltest import assert_no_crash

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="hull-runtime tests need root")


class RuntimeCli:
    def __init__(self, binary: Path, root: Path, log: Path):
        self.binary = binary
        self.root = root
        self.log = log

    def argv(self, *args):
        return [str(self.binary), "--root", str(self.root), "--log", str(self.log),
                "--log-format", "json", *map(str, args)]

    def run(self, *args, timeout=60, check=None, shell_prefix=None):
        """Runs the runtime with stdout/stderr in files: a created container keeps the runtime's
        stdio (conmon's contract), so pipes would never reach EOF."""
        argv = self.argv(*args)
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            if shell_prefix:
                cmd = ["sh", "-c", shell_prefix + ' exec "$@"', "sh", *argv]
            else:
                cmd = argv
            rc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                timeout=timeout).returncode
            out.seek(0)
            err.seek(0)
            proc = subprocess.CompletedProcess(argv, rc, out.read().decode(errors="replace"),
                                               err.read().decode(errors="replace"))
        assert_no_crash(proc.stdout + proc.stderr, " ".join(argv))
        if check is True and proc.returncode != 0:
            raise AssertionError(f"{' '.join(argv)}: exit {proc.returncode}\n{proc.stderr}")
        if check is False and proc.returncode == 0:
            raise AssertionError(f"{' '.join(argv)}: succeeded, expected failure\n{proc.stdout}")
        return proc

    def ok(self, *args, **kw):
        return self.run(*args, check=True, **kw).stdout

    def state(self, cid):
        return json.loads(self.ok("state", cid))

    def cleanup(self):
        proc = self.run("list", "--format", "json")
        if proc.returncode == 0:
            for s in json.loads(proc.stdout or "[]"):
                self.run("delete", "--force", s["id"])


def mounts_under(path: Path):
    return [line for line in Path("/proc/self/mountinfo").read_text().splitlines()
            if str(path) in line]


@pytest.fixture
def rt(hull_bin, tmp_path):
    runtime = RuntimeCli(Path(hull_bin).parent / "hull-runtime", tmp_path / "state",
                         tmp_path / "runtime.log")
    yield runtime
    runtime.cleanup()
    # Container mounts live in the container's mount namespace: none reach the host's table.
    assert mounts_under(tmp_path) == [], "a mount leaked into the host"


@pytest.fixture
def bundle(busybox_tar, tmp_path, hull_bin):
    b = tmp_path / "bundle"
    (b / "rootfs").mkdir(parents=True)
    with tarfile.open(busybox_tar) as t:
        t.extractall(b / "rootfs")
    subprocess.run([str(Path(hull_bin).parent / "hull-runtime"), "spec", "--bundle", str(b)],
                   check=True)
    return b


def edit_config(bundle: Path, args=None, **process):
    cfg = json.loads((bundle / "config.json").read_text())
    cfg["process"]["terminal"] = False
    if args is not None:
        cfg["process"]["args"] = args
    cfg["process"].update(process)
    (bundle / "config.json").write_text(json.dumps(cfg))
    return cfg


def write_config(bundle: Path, cfg: dict):
    (bundle / "config.json").write_text(json.dumps(cfg))


def cgroup_dirs(cid):
    found = []
    for base in Path("/sys/fs/cgroup").iterdir():
        if (base / "hull" / cid).exists():
            found.append(base / "hull" / cid)
    if (Path("/sys/fs/cgroup") / "hull" / cid).exists():
        found.append(Path("/sys/fs/cgroup") / "hull" / cid)
    return found


def test_spec_and_features(rt, tmp_path):
    d = tmp_path / "specdir"
    d.mkdir()
    rt.ok("spec", "--bundle", d)
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["process"]["args"] == ["sh"]
    assert cfg["root"]["path"] == "rootfs"
    assert any(m["destination"] == "/proc" for m in cfg["mounts"])
    err = rt.run("spec", "--bundle", d, check=False)
    assert "exists" in err.stderr
    feats = json.loads(rt.ok("features"))
    assert feats["linux"]["seccomp"]["enabled"] is True
    assert "CAP_SYS_ADMIN" in feats["linux"]["capabilities"]
    assert "rbind" in feats["mountOptions"]


def test_lifecycle_create_start_state_kill_delete(rt, bundle, tmp_path):
    edit_config(bundle, ["sleep", "1000"])
    pid_file = tmp_path / "pid"
    rt.ok("create", "--bundle", bundle, "--pid-file", pid_file, "c1")
    st = rt.state("c1")
    assert st["status"] == "created"
    assert st["id"] == "c1"
    assert st["bundle"] == str(bundle)
    assert int(pid_file.read_text()) == st["pid"] > 0
    assert cgroup_dirs("c1"), "no cgroup made for the container"
    rt.ok("start", "c1")
    assert rt.state("c1")["status"] == "running"
    assert rt.run("start", "c1", check=False).returncode == 1
    ids = [s["id"] for s in json.loads(rt.ok("list", "--format", "json"))]
    assert ids == ["c1"]
    # A running container is not deleted without --force.
    err = rt.run("delete", "c1", check=False)
    assert "not stopped" in err.stderr
    rt.ok("exec", "--detach", "c1", "sleep", "1000")
    assert len(json.loads(rt.ok("ps", "--format", "json", "c1"))) == 2
    rt.ok("kill", "--all", "c1", "KILL")
    for _ in range(100):
        if rt.state("c1")["status"] == "stopped":
            break
        time.sleep(0.05)
    assert rt.state("c1")["status"] == "stopped"
    assert rt.state("c1")["pid"] == 0
    rt.ok("delete", "c1")
    assert rt.run("state", "c1", check=False).returncode == 1
    assert not cgroup_dirs("c1")
    # delete --force of what is gone succeeds, as runc's does.
    rt.ok("delete", "--force", "c1")
    assert "does not exist" in rt.run("delete", "c1", check=False).stderr


def test_created_container_dies_on_sigterm_and_delete_removes_created(rt, bundle):
    edit_config(bundle, ["true"])
    rt.ok("create", "--bundle", bundle, "c2")
    rt.ok("kill", "c2", "15")
    for _ in range(100):
        if rt.state("c2")["status"] == "stopped":
            break
        time.sleep(0.05)
    assert rt.state("c2")["status"] == "stopped"
    rt.ok("delete", "c2")
    rt.ok("create", "--bundle", bundle, "c3")
    rt.ok("delete", "c3")
    assert rt.run("state", "c3", check=False).returncode == 1


def test_run_exit_codes(rt, bundle):
    edit_config(bundle, ["sh", "-c", "exit 7"])
    assert rt.run("run", "--bundle", bundle, "r1").returncode == 7
    edit_config(bundle, ["no-such-command"])
    proc = rt.run("run", "--bundle", bundle, "r2")
    assert proc.returncode == 127
    assert 'exec: "no-such-command": executable file not found in $PATH' in proc.stderr
    edit_config(bundle, ["/etc/passwd"])
    proc = rt.run("run", "--bundle", bundle, "r3")
    assert proc.returncode == 126
    assert json.loads(rt.ok("list", "--format", "json")) == []


def test_run_isolation(rt, bundle):
    edit_config(bundle, ["sh", "-c", """
        echo "host=$(hostname) pid=$$"
        touch /rootfile 2>/dev/null && echo root-writable || echo root-readonly
        echo "timer_list=$(wc -c < /proc/timer_list)"
        echo "acpi=$(ls /proc/acpi | wc -l)"
        touch /proc/acpi/x 2>/dev/null && echo acpi-writable || echo acpi-readonly
        echo x > /proc/sys/kernel/hostname 2>/dev/null && echo sys-writable || echo sys-readonly
        echo "fds=$(ls /proc/self/fd | tr '\\n' ' ')"
        [ -c /dev/null ] && [ -c /dev/zero ] && [ -c /dev/urandom ] && echo devices-ok
        [ -L /dev/ptmx ] && [ -L /dev/fd ] && echo links-ok
        grep -q ' /sys/fs/cgroup ' /proc/self/mountinfo && echo cgroup-mounted
        grep -c . /proc/self/mountinfo > /dev/null && echo mountinfo-ok
        """])
    out = rt.ok("run", "--bundle", bundle, "iso")
    assert "host=hull pid=1" in out
    assert "root-readonly" in out
    assert "timer_list=0" in out
    assert "acpi=0" in out
    assert "acpi-readonly" in out
    assert "sys-readonly" in out
    # Only stdio and ls's own directory fd: nothing of the runtime leaks into the container.
    fds = out.split("fds=")[1].split("\n")[0].split()
    assert fds == ["0", "1", "2", "3"], fds
    assert "devices-ok" in out
    assert "links-ok" in out
    assert "cgroup-mounted" in out


def test_exec(rt, bundle, tmp_path):
    edit_config(bundle, ["sleep", "1000"])
    rt.ok("run", "--detach", "--bundle", bundle, "e1")
    assert rt.state("e1")["status"] == "running"
    out = rt.ok("exec", "e1", "sh", "-c", "echo pid=$$ ppid=$PPID; cat /proc/1/comm")
    assert "sleep" in out
    assert rt.run("exec", "e1", "sh", "-c", "exit 4").returncode == 4
    assert rt.run("exec", "e1", "sh", "-c", "kill -9 $$").returncode == 137
    proc = rt.run("exec", "e1", "nope")
    assert proc.returncode == 127
    assert "executable file not found" in proc.stderr
    ident = rt.ok("exec", "--user", "1000:1000", "e1", "id")
    assert "uid=1000(app) gid=1000(app)" in ident
    assert "FOO=bar" in rt.ok("exec", "-e", "FOO=bar", "--cwd", "/tmp", "e1", "sh", "-c",
                              "env; pwd")
    assert "/tmp" in rt.ok("exec", "--cwd", "/tmp", "e1", "pwd")
    process = tmp_path / "process.json"
    process.write_text(json.dumps({"args": ["sh", "-c", "echo from-process-json; sleep 60"],
                                   "cwd": "/", "env": ["PATH=/bin"],
                                   "user": {"uid": 0, "gid": 0}}))
    pid_file = tmp_path / "exec.pid"
    rt.ok("exec", "--process", process, "--detach", "--pid-file", pid_file, "e1")
    assert int(pid_file.read_text()) > 0
    assert int(pid_file.read_text()) in json.loads(rt.ok("ps", "--format", "json", "e1"))
    rt.ok("delete", "--force", "e1")
    assert not cgroup_dirs("e1")


def receive_console(sock_path: Path, result: dict):
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(sock_path))
    server.listen(1)
    server.settimeout(30)
    try:
        conn, _ = server.accept()
        fds = array.array("i")
        msg, anc, _, _ = conn.recvmsg(1024, socket.CMSG_LEN(fds.itemsize))
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(data[:fds.itemsize])
        result["name"] = msg.decode(errors="replace")
        result["fd"] = fds[0] if fds else None
        conn.close()
    finally:
        server.close()


def read_pty(fd, until: bytes, timeout=20):
    data = b""
    deadline = time.monotonic() + timeout
    os.set_blocking(fd, False)
    while until not in data and time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
        except BlockingIOError:
            time.sleep(0.02)
        except OSError:
            break
    return data


def test_console_socket(rt, bundle, tmp_path):
    cfg = edit_config(bundle, ["sh", "-c", "[ -t 0 ] && echo is-a-tty; "
                                           "[ -c /dev/console ] && echo console-ok; "
                                           "stty size; sleep 1000"])
    cfg["process"]["terminal"] = True
    cfg["process"]["consoleSize"] = {"height": 30, "width": 100}
    write_config(bundle, cfg)
    sock_path = tmp_path / "console.sock"
    result = {}
    t = threading.Thread(target=receive_console, args=(sock_path, result))
    t.start()
    while not sock_path.exists():
        time.sleep(0.01)
    rt.ok("create", "--bundle", bundle, "--console-socket", sock_path, "tty1")
    t.join()
    assert result.get("fd") is not None, "no pty master received"
    assert result["name"].startswith("/dev/pts/")
    try:
        rt.ok("start", "tty1")
        out = read_pty(result["fd"], b"30 100")
        assert b"is-a-tty" in out
        assert b"console-ok" in out
        assert b"30 100" in out
    finally:
        os.close(result["fd"])
    rt.ok("delete", "--force", "tty1")


def test_bad_bundle_is_a_clear_error(rt, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = rt.run("create", "--bundle", empty, "bad1", check=False)
    assert proc.returncode == 1
    assert "config.json" in proc.stderr
    line = json.loads(rt.log.read_text().strip().splitlines()[-1])
    assert line["level"] == "error"
    assert "config.json" in line["msg"]
    assert "time" in line
    (empty / "config.json").write_text('{"ociVersion": "1.0.2", "process": {"args": "sh"}}')
    proc = rt.run("create", "--bundle", empty, "bad2", check=False)
    assert "process.args" in proc.stderr
    (empty / "config.json").write_text('{"ociVersion": "1.0.2", "process": {"args": ["sh"]}}')
    proc = rt.run("create", "--bundle", empty, "bad3", check=False)
    assert "rootfs" in proc.stderr
    assert rt.run("create", "--bundle", empty, "../x", check=False).returncode == 1
    assert json.loads(rt.ok("list", "--format", "json")) == []
    assert "not supported" in rt.run("--systemd-cgroup", "list", check=False).stderr


def test_cwd_missing_and_rlimit_above_hard(rt, bundle):
    edit_config(bundle, ["true"], cwd="/does/not/exist")
    proc = rt.run("run", "--bundle", bundle, "cwd1", check=False)
    assert 'chdir to cwd ("/does/not/exist") set in config.json failed' in proc.stderr
    # A failed create leaves nothing behind.
    assert json.loads(rt.ok("list", "--format", "json")) == []
    assert not cgroup_dirs("cwd1")
    hard = subprocess.run(["sh", "-c", "ulimit -Hn"], capture_output=True, text=True).stdout.strip()
    if hard == "unlimited":
        pytest.skip("no hard nofile limit to exceed")
    edit_config(bundle, ["true"], cwd="/",
                rlimits=[{"type": "RLIMIT_NOFILE", "hard": int(hard) * 4, "soft": int(hard) * 4}])
    proc = rt.run("run", "--bundle", bundle, "rl1", check=False)
    if proc.returncode == 0:
        pytest.skip("this machine may raise rlimits (CAP_SYS_RESOURCE)")
    assert "RLIMIT_NOFILE" in proc.stderr


def test_symlinked_mount_destination_stays_in_rootfs(rt, bundle, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    # An image whose /etc/evil points at the host directory through "..".
    (bundle / "rootfs/etc/evil").symlink_to("../../../../../../../../.." + str(outside))
    source = tmp_path / "src"
    source.mkdir()
    (source / "marker").write_text("m")
    cfg = edit_config(bundle, ["sh", "-c", "cat /etc/evil/marker; touch /etc/evil/new || true"])
    cfg["mounts"].append({"destination": "/etc/evil", "type": "bind", "source": str(source),
                          "options": ["rbind", "ro"]})
    write_config(bundle, cfg)
    out = rt.ok("run", "--bundle", bundle, "sym1")
    assert out.strip().startswith("m")
    assert list(outside.iterdir()) == [], "a mount destination left the rootfs"
    assert not (source / "new").exists(), "a read-only bind mount was writable"


def test_preserve_fds(rt, bundle, tmp_path):
    edit_config(bundle, ["sh", "-c", "cat <&3"])
    extra = tmp_path / "extra"
    extra.write_text("through-fd-3")
    out = rt.run("run", "--preserve-fds", "1", "--bundle", bundle, "pf1",
                 shell_prefix=f"exec 3<{extra};")
    assert out.returncode == 0, out.stderr
    assert "through-fd-3" in out.stdout


def test_seccomp_and_capabilities(rt, bundle):
    cfg = edit_config(bundle, ["sh", "-c", "mkdir /tmp/x && echo mkdir-ok; "
                                           "grep CapEff /proc/self/status"])
    cfg["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                      "errnoRet": 13}],
    }
    caps = ["CAP_KILL"]
    cfg["process"]["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps}
    write_config(bundle, cfg)
    proc = rt.run("run", "--bundle", bundle, "sc1")
    assert "mkdir-ok" not in proc.stdout
    assert "Permission denied" in proc.stderr
    assert "CapEff:\t0000000000000020" in proc.stdout
    cfg["process"]["noNewPrivileges"] = False
    write_config(bundle, cfg)
    proc = rt.run("run", "--bundle", bundle, "sc2")
    assert "Permission denied" in proc.stderr, proc.stderr


def test_terminal_in_the_foreground_and_refused_when_detached(rt, bundle):
    cfg = edit_config(bundle, ["sh", "-c", "[ -t 0 ] && echo fg-tty; exit 2"])
    cfg["process"]["terminal"] = True
    write_config(bundle, cfg)
    err = rt.run("create", "--bundle", bundle, "tty2", check=False)
    assert "--console-socket" in err.stderr
    assert rt.run("run", "-d", "--bundle", bundle, "tty3", check=False).returncode == 1
    master, slave = pty.openpty()
    proc = subprocess.Popen(rt.argv("run", "--bundle", bundle, "tty4"), stdin=slave,
                            stdout=slave, stderr=slave)
    os.close(slave)
    try:
        out = read_pty(master, b"fg-tty")
        assert proc.wait(timeout=30) == 2
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert b"fg-tty" in out


def test_hooks_run_at_their_moments(rt, bundle, tmp_path):
    out = tmp_path / "hookout"
    out.mkdir()
    script = tmp_path / "hook.sh"
    script.write_text(f"#!/bin/sh\n{{ echo \"$1\"; cat; echo; }} >> {out}/host.log\n")
    script.chmod(0o755)
    cfg = edit_config(bundle, ["sh", "-c", "cat /hookout/start"])
    cfg["mounts"].append({"destination": "/hookout", "type": "bind", "source": str(out),
                          "options": ["rbind"]})
    host = lambda kind: {"path": str(script), "args": ["hook.sh", kind]}
    cfg["hooks"] = {
        "prestart": [host("prestart")],
        "createRuntime": [host("createRuntime")],
        "createContainer": [host("createContainer")],
        "startContainer": [{"path": "/bin/sh",
                            "args": ["sh", "-c", "cat > /hookout/start"]}],
        "poststart": [host("poststart")],
        "poststop": [host("poststop")],
    }
    write_config(bundle, cfg)
    proc = rt.run("run", "--bundle", bundle, "h1")
    assert proc.returncode == 0, proc.stderr
    assert '"id":"h1"' in proc.stdout  # startContainer saw the state on stdin
    log = (out / "host.log").read_text()
    kinds = [line for line in log.splitlines() if not line.startswith("{") and line]
    assert kinds == ["prestart", "createRuntime", "createContainer", "poststart", "poststop"]
    states = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert all(s["id"] == "h1" and s["bundle"] == str(bundle) for s in states)
    assert states[0]["pid"] > 0
    # A failing createRuntime hook fails create and leaves nothing behind.
    cfg["hooks"] = {"createRuntime": [{"path": "/bin/false"}]}
    write_config(bundle, cfg)
    proc = rt.run("create", "--bundle", bundle, "h2", check=False)
    assert "createRuntime hook" in proc.stderr
    assert json.loads(rt.ok("list", "--format", "json")) == []


def test_process_settings(rt, bundle):
    cfg = edit_config(bundle, ["sh", "-c", "id; umask; cat /proc/self/oom_score_adj; "
                                           "cat /proc/sys/net/ipv4/ip_forward; "
                                           "ls -l /dev/myfull; grep NoNewPrivs /proc/self/status"],
                      user={"uid": 1000, "gid": 1000, "umask": 0o77, "additionalGids": [5, 10]},
                      oomScoreAdj=500, noNewPrivileges=True)
    cfg["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    cfg["linux"]["devices"] = [{"path": "/dev/myfull", "type": "c", "major": 1, "minor": 7,
                                "fileMode": 0o600, "uid": 1000, "gid": 1000}]
    write_config(bundle, cfg)
    out = rt.ok("run", "--bundle", bundle, "ps1")
    assert "uid=1000(app) gid=1000(app) groups=5,10" in out
    assert "0077" in out
    assert "\n500\n" in out
    assert "\n1\n" in out
    assert "crw-------" in out and "app" in out
    assert "NoNewPrivs:\t1" in out


def test_join_namespace_by_path(rt, bundle, tmp_path):
    edit_config(bundle, ["sleep", "1000"])
    rt.ok("run", "--detach", "--bundle", bundle, "ns1")
    pid = rt.state("ns1")["pid"]
    second = tmp_path / "second"
    second.mkdir()
    (second / "rootfs").symlink_to(bundle / "rootfs")
    cfg = json.loads((bundle / "config.json").read_text())
    cfg["process"]["args"] = ["readlink", "/proc/self/ns/net"]
    cfg["root"]["readonly"] = True
    for ns in cfg["linux"]["namespaces"]:
        if ns["type"] == "network":
            ns["path"] = f"/proc/{pid}/ns/net"
    (second / "config.json").write_text(json.dumps(cfg))
    out = rt.ok("run", "--bundle", second, "ns2")
    assert out.strip() == os.readlink(f"/proc/{pid}/ns/net")
    rt.ok("delete", "--force", "ns1")
