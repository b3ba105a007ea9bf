"""The build executor under `hull build` (engine/build.h): RUN steps as containers over an
overlay of the layers' snapshots, their exit status, network and user, the layer each one
commits (only what the step changed), and nothing left behind: no mount, no cgroup, nothing in
the store's tmp/, whether a build succeeds, fails or is cancelled."""

import json
import os
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from e2efix import build, image_files, mounts_under, new_layers, tar_names, tmp_entries, \
    write_context

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="hull build needs root")

CGROUP_ROOT = Path("/sys/fs/cgroup")


def hull_cgroups() -> list:
    out = []
    for top, dirs, _ in os.walk(CGROUP_ROOT):
        for d in dirs:
            rel = os.path.relpath(os.path.join(top, d), CGROUP_ROOT)
            if "hull" in rel:
                out.append(rel)
    return sorted(out)


def container_cgroups() -> list:
    """Cgroups of containers (hull's parent cgroups themselves may stay)."""
    return [c for c in hull_cgroups() if any(len(part) == 64 for part in c.split("/"))]


def store_mounts(store) -> list:
    """Every line of /proc/self/mountinfo that names the store: mount points under it and
    overlays whose layers are its snapshots."""
    with open("/proc/self/mountinfo") as f:
        return [line for line in f if str(store.root) in line]


def runtime_state(store) -> list:
    runtime = store.root / "runtime"
    return sorted(os.listdir(runtime)) if runtime.exists() else []


def dockerfile(tmp_path, text: str, files=None) -> Path:
    return write_context(tmp_path / "ctx", {"Dockerfile": text, **(files or {})})


def test_run_writes_a_layer_of_only_its_changes(store, tmp_path):
    ctx = dockerfile(tmp_path, "FROM busybox\nRUN echo hello > /file && mkdir -p /d && "
                               "echo x > /d/x\nRUN true\n")
    res = build(store, ctx, tag="exec:1")
    layers = new_layers(store, "exec:1")
    # RUN true changes nothing: no layer for it.
    assert len(layers) == 1, res
    assert sorted(tar_names(layers[0])) == ["d", "d/x", "file"]
    files = image_files(store, "exec:1")
    assert files["file"] == b"hello\n"
    assert mounts_under(store.root) == []
    assert tmp_entries(store) == []


def test_failing_run_reports_its_status_and_commits_nothing(store, tmp_path):
    ctx = dockerfile(tmp_path, "FROM busybox\nRUN echo before-exit && exit 3\n")
    names = store.names()
    res = build(store, ctx, tag="exec:fail", expect_ok=False).result
    assert res.rc != 0
    text = res.stdout + res.stderr
    assert "exit code: 3" in text and "before-exit" in text, text
    assert store.names() == names
    assert mounts_under(store.root) == []
    assert tmp_entries(store) == []


def test_network_none_has_only_loopback(store, tmp_path):
    ctx = dockerfile(tmp_path, "FROM busybox\nRUN --network=none ls /sys/class/net > /ifaces\n")
    build(store, ctx, tag="exec:net")
    assert image_files(store, "exec:net")["ifaces"].split() == [b"lo"]


def test_network_default_is_the_hosts(store, tmp_path):
    ctx = dockerfile(tmp_path, "FROM busybox\nRUN ls /sys/class/net > /ifaces\n")
    build(store, ctx, tag="exec:hostnet")
    host = sorted(os.listdir("/sys/class/net"))
    assert sorted(image_files(store, "exec:hostnet")["ifaces"].decode().split()) == host


def test_run_as_user(store, tmp_path):
    ctx = dockerfile(tmp_path, "FROM busybox\nUSER 1234:5678\nRUN id -u > /tmp/u; id -g >> /tmp/u\n"
                               "USER root\nRUN cp /tmp/u /u && stat -c '%u:%g' /tmp/u >> /u\n")
    build(store, ctx, tag="exec:user")
    assert image_files(store, "exec:user")["u"] == b"1234\n5678\n1234:5678\n"


def test_mount_targets_do_not_reach_the_layer(store, tmp_path):
    """/etc/hosts and resolv.conf are mounted for RUN; a missing target is made for the run and
    removed after it, and an existing one is never copied up."""
    ctx = dockerfile(tmp_path, "FROM busybox\nRUN cat /etc/hosts > /dev/null && "
                               "echo ok > /ok\n")
    build(store, ctx, tag="exec:etc")
    layers = new_layers(store, "exec:etc")
    assert [tar_names(layer) for layer in layers] == [["ok"]]


def test_cancel_leaves_no_mount(store, tmp_path):
    ctx = dockerfile(tmp_path, "FROM busybox\nRUN echo started && sleep 60\n")
    proc = subprocess.Popen(
        [store.binary, "build", "--progress", "plain", "-t", "exec:cancel", str(ctx)],
        env=store.env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    seen = b""
    deadline = time.monotonic() + 60
    while b"started" not in seen and time.monotonic() < deadline:
        chunk = proc.stdout.read1(4096)
        if not chunk:
            break
        seen += chunk
    assert b"started" in seen, seen.decode(errors="replace")
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "exec:cancel:latest" not in store.names()
    assert mounts_under(store.root) == []
    assert store_mounts(store) == []
    assert tmp_entries(store) == []
    assert runtime_state(store) == []


def test_builds_in_a_row_leave_nothing(store, tmp_path):
    cgroups_before = set(container_cgroups())
    for i in range(20):
        ctx = dockerfile(tmp_path / str(i), f"FROM busybox\nRUN echo {i} > /n\n")
        build(store, ctx, "--no-cache", tag=f"exec:row{i}")
        assert store_mounts(store) == [], f"build {i} left a mount"
        assert runtime_state(store) == [], f"build {i} left runtime state"
    assert tmp_entries(store) == []
    # Other tests of the machine may start containers meanwhile: only a cgroup that stays is
    # a leak.
    for _ in range(50):
        left = set(container_cgroups()) - cgroups_before
        if not left:
            break
        time.sleep(0.1)
    assert not left, f"cgroups left: {sorted(left)}"


def test_outputs(store, tmp_path):
    ctx = dockerfile(tmp_path, "FROM busybox\nRUN echo out > /out\n")
    oci, docker, local = tmp_path / "img.tar", tmp_path / "img-docker.tar", tmp_path / "rootfs"
    build(store, ctx, "-o", f"type=oci,dest={oci}", "-o", f"type=docker,dest={docker}",
          "-o", f"type=local,dest={local}", tag="exec:out")
    assert (local / "out").read_bytes() == b"out\n"
    assert (local / "bin" / "busybox").exists()
    with tarfile.open(oci) as tf:
        assert "index.json" in tf.getnames() and "oci-layout" in tf.getnames()
    with tarfile.open(docker) as tf:
        manifest = json.loads(tf.extractfile("manifest.json").read())
    assert manifest[0]["RepoTags"] == ["exec:out"]
    assert "exec:out" in store.names()


def test_bad_output_builds_nothing(store, tmp_path):
    ctx = dockerfile(tmp_path, "FROM busybox\nRUN echo x > /x\n")
    names = store.names()
    res = build(store, ctx, "-o", "type=tar,dest=x", tag="exec:bad", expect_ok=False).result
    assert res.rc != 0 and 'unknown type "tar"' in res.stderr, res.describe()
    assert store.names() == names


def test_removals_are_whiteouts(store, tmp_path):
    ctx = dockerfile(tmp_path, "FROM busybox\nRUN rm /etc/group && rm -rf /home && mkdir /home && "
                               "touch /home/x\n")
    build(store, ctx, tag="exec:wh")
    [layer] = new_layers(store, "exec:wh")
    assert sorted(tar_names(layer)) == ["etc", "etc/.wh.group", "home", "home/.wh..wh..opq",
                                        "home/x"]
    files = image_files(store, "exec:wh")
    assert "etc/group" not in files and "home/x" in files
