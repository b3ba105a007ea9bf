"""OCI bundles and runtimes for the runtime tests: a busybox rootfs (from
tests/fixtures/make-busybox-rootfs.sh) copied into a bundle per runtime, a config.json made by
`runc spec` and edited per case, and a runtime CLI (runc or hull-runtime) bound to a state root of
its own so two runtimes never see each other's containers.

The runtime under test is `hull-runtime` next to HULL_BIN; HULL_RUNTIME names another binary
(HULL_RUNTIME=/usr/sbin/runc runs every comparison runc against runc, which proves the harness
itself). The reference is Debian's runc."""

import copy
import fcntl
import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

RUNC = "/usr/sbin/runc"

# Cgroup roots of this machine: hybrid (v1 controllers plus cgroup2 at unified/) or pure v2.
CGROUP_ROOT = Path("/sys/fs/cgroup")


def need_root():
    if os.geteuid() != 0:
        pytest.skip("runtime tests need root (namespaces, mounts, cgroups)")


def need_runc():
    if not os.access(RUNC, os.X_OK):
        pytest.skip(f"{RUNC} is not installed (scripts/setup.sh installs runc)")


def candidate_runtime_path() -> Path:
    """The runtime under test: HULL_RUNTIME, else hull-runtime beside the hull binary."""
    explicit = os.environ.get("HULL_RUNTIME")
    if explicit:
        return Path(explicit).resolve()
    source = Path(os.environ.get("HULL_SOURCE_DIR", Path(__file__).resolve().parents[2]))
    hull_bin = Path(os.environ.get("HULL_BIN", source / "build" / "hull"))
    return hull_bin.resolve().parent / "hull-runtime"


def runtime_kind(binary) -> str:
    """'runc' or 'hull': a few answers differ on purpose (documented where they are checked)."""
    return "runc" if "runc" in Path(binary).name else "hull"


def base_spec() -> dict:
    """`runc spec` output with a non-terminal process: the starting point of every case."""
    work = Path(f"/tmp/hull-conform-spec-{uuid.uuid4().hex[:8]}")
    work.mkdir()
    try:
        subprocess.run([RUNC, "spec", "--bundle", str(work)], check=True, capture_output=True,
                       timeout=30)
        spec = json.loads((work / "config.json").read_text())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    spec["process"]["terminal"] = False
    return spec


def unpack_rootfs(tar: Path, dest: Path):
    dest.mkdir(parents=True)
    subprocess.run(["tar", "-xpf", str(tar), "-C", str(dest), "--numeric-owner"], check=True,
                   timeout=60)


class Bundle:
    """A bundle directory: rootfs/ (a private copy of the template) and config.json."""

    def __init__(self, path: Path, rootfs_template: Path, spec: dict):
        self.path = Path(path)
        self.path.mkdir(parents=True)
        subprocess.run(["cp", "-a", str(rootfs_template), str(self.path / "rootfs")], check=True,
                       timeout=60)
        self.spec = copy.deepcopy(spec)

    @property
    def rootfs(self) -> Path:
        return self.path / "rootfs"

    def save(self):
        (self.path / "config.json").write_text(json.dumps(self.spec, indent=1))


class Proc:
    def __init__(self, argv, rc, out, err):
        self.argv, self.rc, self.out, self.err = argv, rc, out, err

    def describe(self) -> str:
        return (f"{' '.join(map(str, self.argv))}\n  exit status {self.rc}\n"
                f"  stdout: {self.out[:4000]}\n  stderr: {self.err[:4000]}")


def inherit_fds(fds) -> dict:
    """subprocess arguments that make the child inherit `fds` as 3, 4, ... and nothing else."""
    if not fds:
        return {}

    def preexec():  # in the child, between fork and exec
        # Park the sources above the targets first, so no dup2 overwrites a source still needed.
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 200) for fd in fds]
        for i, fd in enumerate(high):
            os.dup2(fd, 3 + i)  # inheritable
        os.closerange(3 + len(high), 4096)

    return {"close_fds": False, "preexec_fn": preexec}


class OciRuntime:
    """One runtime CLI with a state root (--root) of its own."""

    def __init__(self, binary, root: Path):
        self.binary = str(binary)
        self.root = Path(root)
        self.kind = runtime_kind(binary)
        self.ids = set()

    def argv(self, *args):
        return [self.binary, "--root", str(self.root), *map(str, args)]

    def call(self, *args, timeout=60, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
             stderr=subprocess.PIPE, extra_fds=()) -> Proc:
        """extra_fds: open fds the runtime inherits as 3, 4, ... (as a shell or conmon leaves
        them)."""
        argv = self.argv(*args)
        try:
            proc = subprocess.run(argv, stdin=stdin, stdout=stdout, stderr=stderr,
                                  timeout=timeout, **inherit_fds(extra_fds))
        except subprocess.TimeoutExpired as e:
            raise AssertionError(f"{' '.join(argv)}: no exit within {timeout} s") from e
        dec = lambda b: (b or b"").decode("utf-8", "replace")  # noqa: E731
        return Proc(argv, proc.returncode, dec(proc.stdout), dec(proc.stderr))

    def run(self, bundle: Bundle, cid: str, *flags, timeout=60, extra_fds=()) -> Proc:
        """`run` in the foreground: the container's stdout/stderr are ours, its status ours."""
        bundle.save()
        self.ids.add(cid)
        return self.call("run", *flags, "--bundle", bundle.path, cid, timeout=timeout,
                         extra_fds=extra_fds)

    def popen_run(self, bundle: Bundle, cid: str, out_path: Path) -> subprocess.Popen:
        bundle.save()
        self.ids.add(cid)
        out = open(out_path, "wb")
        try:
            return subprocess.Popen(self.argv("run", "--bundle", bundle.path, cid),
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        finally:
            out.close()

    def create(self, bundle: Bundle, cid: str, out_path: Path, *flags) -> Proc:
        """`create`: the container holds the stdio it is given, so it goes to a file, never a pipe
        this process would wait on."""
        bundle.save()
        self.ids.add(cid)
        with open(out_path, "wb") as out:
            return self.call("create", *flags, "--bundle", bundle.path, cid, stdout=out,
                             stderr=out)

    def state(self, cid: str) -> dict:
        p = self.call("state", cid)
        assert p.rc == 0, p.describe()
        return json.loads(p.out)

    def wait_status(self, cid: str, wanted: str, seconds=20) -> dict:
        """Polls `state` until status is `wanted` (bounded: a broken runtime fails, not hangs)."""
        deadline = time.monotonic() + seconds
        while True:
            p = self.call("state", cid)  # may not exist yet while `run` is still creating it
            st = json.loads(p.out) if p.rc == 0 else {"status": "absent", "error": p.err}
            if st.get("status") == wanted or time.monotonic() > deadline:
                return st
            time.sleep(0.05)

    def delete(self, cid: str, force=False) -> Proc:
        return self.call("delete", *(["--force"] if force else []), cid)

    def cleanup(self):
        """Force-deletes every container this object made, then removes the state root."""
        for cid in sorted(self.ids):
            if (self.root / cid).exists():
                self.call("delete", "--force", cid, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


def cgroup_dirs_named(name: str) -> list:
    """Every cgroup directory called `name` under any hierarchy (v1 controllers, unified, v2)."""
    found = []
    if not CGROUP_ROOT.is_dir():
        return found
    for top, dirs, _ in os.walk(CGROUP_ROOT):
        if name in dirs:
            found.append(os.path.join(top, name))
    return found


def host_pids() -> set:
    return {int(p) for p in os.listdir("/proc") if p.isdigit()}


def processes_mentioning(text: str) -> list:
    """Host processes whose command line contains `text` (e.g. a container id)."""
    out = []
    for pid in host_pids():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if text.encode() in cmdline and pid != os.getpid():
            out.append((pid, cmdline.decode("utf-8", "replace")))
    return out


@pytest.fixture(scope="session")
def rootfs_template(busybox_tar, tmp_path_factory) -> Path:
    """The busybox rootfs unpacked once, plus a file that is not executable (for exit 126)."""
    root = tmp_path_factory.mktemp("rootfs-template") / "rootfs"
    unpack_rootfs(busybox_tar, root)
    notexec = root / "bin" / "notexec"
    notexec.write_text("#!/bin/sh\necho should not run\n")
    notexec.chmod(0o644)
    return root


@pytest.fixture(scope="session")
def runc_spec():
    need_root()
    need_runc()
    return base_spec()


@pytest.fixture
def runtimes(tmp_path):
    """(reference runc, runtime under test), each with its own state root; force-deleted after."""
    need_root()
    need_runc()
    candidate = candidate_runtime_path()
    if not os.access(candidate, os.X_OK):
        pytest.fail(f"runtime under test not found at {candidate}: build hull (the build makes "
                    f"hull-runtime), or set HULL_RUNTIME")
    ref = OciRuntime(RUNC, tmp_path / "state-runc")
    cand = OciRuntime(candidate, tmp_path / "state-candidate")
    yield ref, cand
    cand.cleanup()
    ref.cleanup()
