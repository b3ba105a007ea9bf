"""Containers and snapshots in rmi and prune: rmi refuses an image a container uses (unless
forced, and never while it runs), container prune removes exited containers, system prune removes
them too and collects the snapshots (unpacked layers) that no image and no mounted container
needs. As root: containers are real."""

import hashlib
import json
import os
import re
import tarfile
import threading

import pytest

from container_helpers import box, inspect, wait_for  # noqa: F401

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="hull run needs root")

SLEEPER = "trap 'exit 0' TERM; echo up; while true; do sleep 0.1; done"


def chain_ids(hull, name) -> list:
    """The image's chain IDs per the OCI image spec, from its config's diff IDs (independently of
    hull's code)."""
    config = json.loads(hull.blob(hull.manifest(name)["config"]["digest"]))
    chain = []
    for diff_id in config["rootfs"]["diff_ids"]:
        chain.append(diff_id if not chain else
                     "sha256:" + hashlib.sha256(f"{chain[-1]} {diff_id}".encode()).hexdigest())
    return [c.split(":", 1)[1] for c in chain]


def image_id(hull, name) -> str:
    return hull.manifest(name)["config"]["digest"].split(":", 1)[1]


def snapshots(hull) -> set:
    d = hull.root / "snapshots"
    return {p.name for p in d.iterdir() if p.name != "l"} if d.is_dir() else set()


def short_links(hull) -> dict:
    """l/<short> -> the snapshot it points at ('' when dangling)."""
    d = hull.root / "snapshots" / "l"
    out = {}
    for p in d.iterdir():
        target = os.readlink(p)
        out[p.name] = target.split("/")[1] if p.exists() else ""
    return out


@pytest.fixture
def other_tar(busybox_tar, tmp_path):
    """busybox plus one file: an image whose only layer (and chain) differs from busybox's."""
    out = tmp_path / "other.tar"
    extra = tmp_path / "marker"
    extra.write_text("other image\n")
    with tarfile.open(busybox_tar) as src, tarfile.open(out, "w") as dst:
        for member in src.getmembers():
            dst.addfile(member, src.extractfile(member) if member.isfile() else None)
        dst.add(extra, arcname="marker")
    return out


def start_sleeper(hull, name, image="busybox"):
    cid = hull.ok("run", "-d", "--name", name, image, "sh", "-c", SLEEPER).strip()
    wait_for(f"{name} to start", lambda: "up" in hull.run("logs", name).stdout)
    return cid


def test_rmi_refuses_the_image_of_a_stopped_container_unless_forced(box):
    box.ok("run", "--name", "done", "busybox", "true")
    cid = inspect(box, "done")["Id"]
    img = image_id(box, "busybox:latest")
    err = box.fail("rmi", "busybox")
    assert err == (f'hull: error: conflict: unable to remove repository reference "busybox" '
                   f"(must force) - container {cid[:12]} is using its referenced image {img[:12]}")
    err = box.fail("rmi", img[:12])
    assert err == (f"hull: error: conflict: unable to delete {img[:12]} (must be forced) - image "
                   f"is being used by stopped container {cid[:12]}")
    assert box.names() == ["busybox:latest"], "a refused rmi changes nothing"

    # Another name can go: the image keeps the last one.
    box.ok("tag", "busybox", "second:1")
    assert box.ok("rmi", "second:1") == "Untagged: second:1\n"

    out = box.ok("rmi", "-f", "busybox")
    assert out.startswith("Untagged: busybox:latest\n")
    assert box.names() == []
    assert inspect(box, "done")["Id"] == cid, "the container stays"


def test_rmi_never_removes_the_image_of_a_running_container(box):
    cid = start_sleeper(box, "busy")
    img = image_id(box, "busybox:latest")
    forced = (f"hull: error: conflict: unable to delete {img[:12]} (cannot be forced) - image is "
              f"being used by running container {cid[:12]}")
    assert "(must force)" in box.fail("rmi", "busybox")
    assert box.fail("rmi", "-f", "busybox") == forced
    assert box.fail("rmi", "-f", img) == forced
    assert box.names() == ["busybox:latest"]
    box.ok("tag", "busybox", "extra:1")
    assert box.ok("rmi", "busybox") == "Untagged: busybox:latest\n", "not its last name"
    box.ok("stop", "busy")
    assert box.ok("rmi", "-f", "extra:1").startswith("Untagged: extra:1\n")


def test_container_prune_removes_exited_containers_only(box):
    box.ok("run", "--name", "one", "busybox", "true")
    box.run("run", "--name", "two", "busybox", "sh", "-c", "exit 3")
    exited = {inspect(box, n)["Id"] for n in ("one", "two")}
    running = start_sleeper(box, "stays")

    assert box.ok("container", "prune", input=b"n\n").startswith("WARNING!")
    assert len(box.ok("ps", "-aq").split()) == 3, "answering no keeps everything"

    out = box.ok("container", "prune", "-f")
    m = re.fullmatch(r"Deleted Containers:\n([0-9a-f\n]+)\nTotal reclaimed space: \S+\n", out)
    assert m, out
    assert set(m.group(1).split()) == exited
    assert box.ok("ps", "-aq", "--no-trunc").split() == [running]
    for cid in exited:
        assert not (box.root / "containers" / cid).exists()
    assert box.ok("container", "prune", "-f") == "Total reclaimed space: 0B\n"


def test_system_prune_removes_containers_and_unneeded_snapshots(box, other_tar):
    box.ok("import", other_tar, "other:1")
    busybox, other = chain_ids(box, "busybox:latest"), chain_ids(box, "other:1")
    assert not set(busybox) & set(other)
    box.ok("run", "--name", "bb", "busybox", "true")
    box.ok("run", "--name", "oo", "other:1", "cat", "/marker")
    assert snapshots(box) == set(busybox) | set(other), "hull run names snapshots by chain ID"
    ids = {inspect(box, n)["Id"] for n in ("bb", "oo")}
    box.ok("rmi", "-f", "other:1")
    assert snapshots(box) == set(busybox) | set(other), "rmi leaves snapshots to prune"

    df = box.ok("system", "df")
    assert re.search(r"^Containers\s+2\s+0\s", df, re.M), df
    assert re.search(r"^Snapshots\s+2\s+1\s", df, re.M), df

    dry = box.ok("system", "prune", "--dry-run")
    assert "Would delete containers:" in dry and snapshots(box) == set(busybox) | set(other)

    out = box.ok("system", "prune", "-f")
    assert out.startswith("Deleted Containers:\n")
    assert set(out.split("\n\n")[0].split("\n")[1:]) == ids
    assert f"Deleted snapshots:\n{other[0]}\n" in out
    assert box.ok("ps", "-aq") == ""
    assert snapshots(box) == set(busybox), "busybox is still there: its snapshots stay"
    links = short_links(box)
    assert sorted(links.values()) == sorted(busybox), "no dangling short link is left"
    box.ok("system", "fsck")
    # The kept snapshots still serve a new container.
    assert box.ok("run", "--rm", "busybox", "echo", "hi") == "hi\n"

    box.ok("rmi", "busybox")
    box.ok("system", "prune", "-f")
    assert snapshots(box) == set()
    assert short_links(box) == {}


def test_system_prune_keeps_what_a_running_container_uses(box, other_tar):
    box.ok("import", other_tar, "other:1")
    other = chain_ids(box, "other:1")
    old_id = image_id(box, "other:1")
    start_sleeper(box, "live", "other:1")
    # Moving the name away leaves the image dangling; as Docker does, prune keeps a dangling image
    # that a container uses, and with it the container's snapshots.
    box.ok("tag", "busybox", "other:1")
    out = box.ok("system", "prune", "-f")
    assert "Deleted Images:" not in out and "Deleted snapshots:" not in out, out
    assert set(other) <= snapshots(box)
    assert box.ok("exec", "live", "cat", "/marker") == "other image\n"
    df = box.ok("system", "df")
    assert re.search(r"^Containers\s+1\s+1\s", df, re.M), df

    box.ok("stop", "live")
    out = box.ok("system", "prune", "-f")
    assert f"Deleted Images:\ndeleted: sha256:{old_id}\n" in out, out
    assert f"Deleted snapshots:\n{other[0]}\n" in out, out
    assert not set(other) & snapshots(box)
    assert snapshots(box) == set(), "busybox never ran: it has no snapshots"


def test_prune_racing_runs_never_breaks_them(box, other_tar):
    """Runs unpack and mount under the shared store lock, prune collects under the exclusive one:
    however they interleave, every run finds its layers."""
    box.ok("import", other_tar, "other:1")
    results = []

    def runs():
        for _ in range(4):
            res = box.run("run", "--rm", "other:1", "cat", "/marker")
            results.append((res.rc, res.stdout, res.stderr))

    thread = threading.Thread(target=runs)
    thread.start()
    while thread.is_alive():
        box.ok("system", "prune", "-f")
    thread.join()
    assert results == [(0, "other image\n", "")] * 4
    assert set(chain_ids(box, "other:1")) <= snapshots(box)
