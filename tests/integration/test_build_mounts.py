"""RUN --mount end to end (issue 4, point 4): cache mounts persist across builds and never reach
the image (sharing=locked serializes two builds; uid/gid/mode apply), tmpfs, bind from the
context and from a stage (rw writes never reach the context), ssh refused with a clear error."""

import subprocess

import pytest

from e2efix import build, image_files, image_tree, new_layers, tar_names, write_context

COUNTER = """\
FROM busybox
RUN --mount=type=cache,target=/var/cache/app \
    n=$(cat /var/cache/app/count 2>/dev/null || echo 0); n=$((n+1)); \
    echo $n > /var/cache/app/count; echo $n > /seen; echo payload > /var/cache/app/big.bin
"""


def test_cache_mount_persists_across_builds_and_is_never_in_the_image(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": COUNTER})
    build(store, ctx, tag="count:1")
    assert image_files(store, "count:1")["seen"] == b"1\n"
    # --no-cache: the RUN runs again and finds what the first build left in the cache mount.
    build(store, ctx, "--no-cache", tag="count:2")
    assert image_files(store, "count:2")["seen"] == b"2\n"
    for ref in ("count:1", "count:2"):
        tree = image_tree(store, ref)
        leaked = [p for p in tree if p.startswith("var/cache/app/")]
        assert leaked == [], f"{ref}: cache mount content in the image: {leaked}"
        for layer in new_layers(store, ref):
            assert not [n for n in tar_names(layer) if n.startswith("var/cache/app/")]


def test_cache_mount_id_is_shared_between_targets(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        "FROM busybox\n"
        "RUN --mount=type=cache,id=shared-pip,target=/a echo from-a > /a/note\n"
        "RUN --mount=type=cache,id=shared-pip,target=/b cat /b/note > /seen\n")})
    build(store, ctx, tag="ids:1")
    assert image_files(store, "ids:1")["seen"] == b"from-a\n"


LOCKED = """\
FROM busybox
RUN --mount=type=cache,id=lk,target=/c,sharing=locked \
    if [ -e /c/busy ]; then echo overlap >> /c/overlaps; fi; \
    echo {name} > /c/busy; sleep 2; \
    [ "$(cat /c/busy)" = {name} ] || echo overlap >> /c/overlaps; rm -f /c/busy
"""


def test_sharing_locked_never_lets_two_builds_in_at_once(store, tmp_path):
    procs = []
    for name in ("one", "two"):
        ctx = write_context(tmp_path / name, {"Dockerfile": LOCKED.format(name=name)})
        procs.append(subprocess.Popen(
            [store.binary, "build", "--progress", "plain", "-t", f"lk:{name}", str(ctx)],
            env=store.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode(errors="replace")
    check = write_context(tmp_path / "check", {"Dockerfile": (
        "FROM busybox\n"
        "RUN --mount=type=cache,id=lk,target=/c,sharing=locked "
        "cat /c/overlaps > /overlaps 2>/dev/null; ls /c > /listing\n")})
    build(store, check, tag="lk:check")
    files = image_files(store, "lk:check")
    assert files.get("overlaps", b"") == b"", "two builds held a locked cache mount at once"
    assert b"busy" not in files["listing"]


def test_cache_mount_uid_gid_mode(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        "FROM busybox\n"
        "RUN --mount=type=cache,target=/c1,uid=1000,gid=1000,mode=0700 "
        "stat -c '%u %g %a' /c1 > /perm1\n"
        "RUN --mount=type=cache,target=/c2 stat -c '%u %g %a' /c2 > /perm2\n"
        "USER app\n"
        "RUN --mount=type=cache,target=/c3,uid=1000,gid=1000 "
        "echo ok > /c3/written && id -u > /tmp/uid\n")})
    build(store, ctx, tag="perm:1")
    files = image_files(store, "perm:1")
    assert files["perm1"] == b"1000 1000 700\n"
    assert files["perm2"] == b"0 0 755\n"
    assert files["tmp/uid"] == b"1000\n"


def test_tmpfs_mount(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        "FROM busybox\n"
        "RUN --mount=type=tmpfs,target=/scratch "
        "echo x > /scratch/f && grep ' /scratch ' /proc/mounts | cut -d' ' -f3 > /fstype\n")})
    build(store, ctx, tag="tmpfs:1")
    tree = image_tree(store, "tmpfs:1")
    assert image_files(store, "tmpfs:1")["fstype"] == b"tmpfs\n"
    assert "scratch/f" not in tree


def test_bind_from_context_readonly_by_default(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {
        "Dockerfile": (
            "FROM busybox\n"
            "RUN --mount=type=bind,source=data,target=/data cat /data/in.txt > /from-ctx\n"
            "RUN --mount=type=bind,source=data,target=/data "
            "(echo x > /data/probe) 2>/dev/null && echo writable > /ro || echo readonly > /ro\n"
            "RUN --mount=type=bind,target=/whole cat /whole/data/in.txt > /whole-ctx\n"),
        "data/in.txt": "context data\n",
    })
    build(store, ctx, tag="bind:1")
    files = image_files(store, "bind:1")
    assert files["from-ctx"] == b"context data\n"
    assert files["whole-ctx"] == b"context data\n"
    assert files["ro"] == b"readonly\n"
    assert not (ctx / "data" / "probe").exists()
    assert "data/in.txt" not in image_tree(store, "bind:1")


def test_bind_rw_writes_never_reach_the_context_or_the_image(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {
        "Dockerfile": (
            "FROM busybox\n"
            "RUN --mount=type=bind,source=data,target=/data,rw "
            "echo changed > /data/in.txt && echo new > /data/new.txt && cat /data/in.txt > /saw\n"),
        "data/in.txt": "original\n",
    })
    build(store, ctx, tag="bindrw:1")
    assert (ctx / "data" / "in.txt").read_text() == "original\n"
    assert not (ctx / "data" / "new.txt").exists()
    files = image_files(store, "bindrw:1")
    assert files["saw"] == b"changed\n"
    tree = image_tree(store, "bindrw:1")
    assert "data/new.txt" not in tree and "data/in.txt" not in tree


def test_bind_from_stage_and_image(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        "FROM busybox AS src\n"
        "RUN mkdir /out && echo staged > /out/s.txt\n"
        "FROM busybox\n"
        "RUN --mount=type=bind,from=src,source=/out,target=/m cat /m/s.txt > /from-stage\n"
        "RUN --mount=type=bind,from=busybox,source=/etc,target=/bb cat /bb/hostname > /from-image\n"
        "RUN --mount=type=bind,from=src,source=/out,target=/m,rw "
        "echo scribble > /m/s.txt && cat /m/s.txt > /rw-saw\n"
        "RUN --mount=type=bind,from=src,source=/out,target=/m cat /m/s.txt > /after-rw\n")})
    build(store, ctx, tag="bindstage:1")
    files = image_files(store, "bindstage:1")
    assert files["from-stage"] == b"staged\n"
    assert files["from-image"] == b"hull-busybox\n"
    assert files["rw-saw"] == b"scribble\n"
    # rw writes are discarded after the step: the stage's result is unchanged.
    assert files["after-rw"] == b"staged\n"
    assert "m/s.txt" not in image_tree(store, "bindstage:1")


def test_ssh_mount_is_refused_with_a_clear_error(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        "FROM busybox\nRUN --mount=type=ssh ls /\n")})
    before = store.snapshot()
    res = store.run("build", "--progress", "plain", "-t", "ssh:1", ctx)
    assert res.rc == 1, res.describe()
    assert "ssh" in res.stderr and "not supported" in res.stderr, res.describe()
    assert "Dockerfile:2" in res.stderr, res.describe()
    assert store.snapshot()["index.json"] == before["index.json"]


@pytest.mark.parametrize("bad", [
    "type=bind,source=../outside,target=/x",
    "type=bind,source=escape/secret.txt,target=/x",
    "type=cache",
    "type=nosuch,target=/x",
])
def test_bad_mounts_fail_cleanly(store, tmp_path, bad):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("host file\n")
    ctx = write_context(tmp_path / "ctx",
                        {"Dockerfile": f"FROM busybox\nRUN --mount={bad} cat /x\n"})
    (ctx / "escape").symlink_to(outside)
    res = store.run("build", "--progress", "plain", ctx)
    assert res.rc == 1, res.describe()
    assert "host file" not in res.stderr + res.stdout
