"""200 containers in a row leave nothing behind: `hull run --rm IMG true`, mixed with bind
mounts, tmpfs mounts, containers kept and removed after with `hull rm`, and detached ones. Before
and after, the same snapshot of everything a container touches on the host:

- mounts of the host mount namespace under the store root (overlay rootfs, volumes, binds)
- cgroup directories whose path contains "hull", under every v1 controller and the v2 tree
- fds of this process, and hull processes still running on this store
- entries of /tmp whose name contains "hull"
- the store's containers/ and runtime/ trees and its volumes/ (anonymous volumes of --rm)

Set HULL_SKIP_SLOW=1 to skip it."""

import os
import uuid
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="hull run needs root"),
    pytest.mark.skipif(os.environ.get("HULL_SKIP_SLOW") == "1", reason="HULL_SKIP_SLOW=1"),
]

CGROUP_ROOT = Path("/sys/fs/cgroup")
RUNS = 200


def mounts_under(root: Path) -> list:
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            point = fields[4].replace("\\040", " ")
            if point == str(root) or point.startswith(str(root) + "/"):
                out.append((point, line.split(" - ", 1)[1].split()[0]))
    return sorted(out)


def hull_cgroups() -> list:
    """Every cgroup directory with 'hull' in its path (hull's own parent and every container's
    below it), in every hierarchy, relative to the cgroup root."""
    out = []
    if not CGROUP_ROOT.is_dir():
        return out
    for top, dirs, _ in os.walk(CGROUP_ROOT):
        for d in dirs:
            rel = os.path.relpath(os.path.join(top, d), CGROUP_ROOT)
            if "hull" in rel:
                out.append(rel)
    return sorted(out)


def hull_processes(hull) -> list:
    """Processes running a hull binary (any name) with this store's HULL_ROOT."""
    mine = f"HULL_ROOT={hull.root}".encode()
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == os.getpid():
            continue
        try:
            environ = Path(f"/proc/{p}/environ").read_bytes().split(b"\0")
            cmd = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if mine in environ:
            out.append((int(p), cmd.decode("utf-8", "replace")))
    return out


def tree(path: Path) -> list:
    if not path.exists():
        return []
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def snapshot(hull) -> dict:
    return {
        "mounts": mounts_under(hull.root),
        "cgroups": hull_cgroups(),
        "fds": sorted(os.listdir("/proc/self/fd")),
        "processes": hull_processes(hull),
        "tmp": sorted(e for e in os.listdir("/tmp") if "hull" in e),
        "containers": tree(hull.root / "containers"),
        "runtime": tree(hull.root / "runtime"),
        "volumes": tree(hull.root / "volumes"),
    }


def one_round(store, i: int, bind_src: Path):
    """Container number i: mostly `run --rm true`, every kind of mount and lifecycle mixed in."""
    if i % 50 == 25:  # detached, waited for, removed
        name = f"leak-d-{i}-{uuid.uuid4().hex[:6]}"
        store.ok("run", "-d", "--name", name, "--tmpfs", "/scratch", "-v", f"{bind_src}:/b",
                 "busybox:latest", "sh", "-c", "echo x > /scratch/f; cat /b/file")
        assert store.ok("wait", name).strip() == "0"
        store.ok("rm", name)
    elif i % 20 == 10:  # kept after exit, removed with rm
        name = f"leak-k-{i}-{uuid.uuid4().hex[:6]}"
        store.ok("run", "--name", name, "busybox:latest", "true")
        store.ok("rm", name)
    elif i % 10 == 3:
        store.ok("run", "--rm", "-v", f"{bind_src}:/b:ro", "busybox:latest", "cat", "/b/file")
    elif i % 10 == 6:
        store.ok("run", "--rm", "--tmpfs", "/scratch", "busybox:latest", "touch", "/scratch/f")
    elif i % 10 == 8:
        store.ok("run", "--rm", "-v", "/anon", "busybox:latest", "touch", "/anon/f")
    else:
        store.ok("run", "--rm", "busybox:latest", "true")


def test_two_hundred_containers_leave_nothing_behind(store, tmp_path):
    bind_src = tmp_path / "bind-src"
    bind_src.mkdir()
    (bind_src / "file").write_text("x\n")
    # One container first: what the store makes once (lock files, the runtime root) is not a leak.
    store.ok("run", "--rm", "busybox:latest", "true")
    before = snapshot(store)
    for i in range(RUNS):
        one_round(store, i, bind_src)
    after = snapshot(store)
    for key in before:
        assert after[key] == before[key], (
            f"{key} changed after {RUNS} containers:\n"
            f"  new: {sorted(set(map(str, after[key])) - set(map(str, before[key])))[:20]}\n"
            f"  gone: {sorted(set(map(str, before[key])) - set(map(str, after[key])))[:20]}")
    assert store.ok("ps", "-a", "-q").strip() == ""
