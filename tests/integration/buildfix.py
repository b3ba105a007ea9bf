"""Small, stable helpers for `hull build` tests: write a context, build, and read the result
(merged file tree, file contents, config) straight from the store without asking hull. The
progress parsing and tree reading live in e2efix; this module names the few calls a test needs.

    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\\n", "app/x": "1"})
    run = build(store, ctx, tag="t:1")            # hull build --progress plain -t t:1 CTX
    image_files(store, "t:1")["app/x"] == b"1"
    image_config(store, "t:1")["config"]["Env"]
    root = image_rootfs(store, "t:1", tmp_path / "rootfs")   # the merged tree on disk
"""

import os
import shutil
import io
import stat
import tarfile
from pathlib import Path

# Re-exported: tests import them from here.
from e2efix import (BuildRun, Entry, File, Symlink, build, image_config,  # noqa: F401
                    image_files, image_tree, layer_tars, parse_progress, write_context)
from hulltest import Hull

__all__ = ["BuildRun", "Entry", "File", "Symlink", "build", "build_fail", "container_config",
           "env_map", "image_config", "image_files", "image_rootfs", "image_tree", "layer_tars",
           "parse_progress", "write_context"]


def build_fail(hull: Hull, context, *args, **kw):
    """hull build that must fail; returns the Result (progress and error on stderr)."""
    run = build(hull, context, *args, expect_ok=False, **kw)
    assert run.result.rc != 0, "the build should have failed\n" + run.result.describe()
    return run.result


def container_config(hull: Hull, ref: str) -> dict:
    """The image config's "config" part (Env, Cmd, Entrypoint, ...), {} when absent."""
    return image_config(hull, ref).get("config") or {}


def env_map(hull: Hull, ref: str) -> dict:
    """The image's Env as a dict."""
    return dict(e.split("=", 1) for e in container_config(hull, ref).get("Env") or [])


def _remove(path: Path):
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def _extract_layer(data: bytes, dest: Path):
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        for m in tf:
            name = os.path.normpath("/" + m.name).lstrip("/")
            if not name or name.split("/")[0] == "..":
                continue
            parent, base = os.path.split(name)
            if base == ".wh..wh..opq":
                for child in (dest / parent).iterdir():
                    _remove(child)
                continue
            if base.startswith(".wh."):
                _remove(dest / parent / base[4:])
                continue
            target = dest / name
            if target.is_symlink() or (target.exists() and not (m.isdir() and target.is_dir())):
                _remove(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            if m.isdir():
                target.mkdir(exist_ok=True)
            elif m.issym():
                os.symlink(m.linkname, target)
                continue
            elif m.islnk():
                os.link(dest / os.path.normpath("/" + m.linkname).lstrip("/"), target)
                continue
            elif m.isfile():
                target.write_bytes(tf.extractfile(m).read())
            else:
                continue  # devices and fifos: not needed by tests
            os.chmod(target, stat.S_IMODE(m.mode))


def image_rootfs(hull: Hull, ref: str, dest) -> Path:
    """Extracts the image's merged file tree (whiteouts applied) into dest (created)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for data in layer_tars(hull, ref):
        _extract_layer(data, dest)
    return dest
