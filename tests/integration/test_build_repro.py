"""Reproducible builds (issue 4, point 5): the same context built in two fresh store roots with
SOURCE_DATE_EPOCH (environment or --source-date-epoch) gives the same manifest digest, with gzip
and with zstd; every timestamp in the layers and the config is clamped; without it the config's
created time is the build's."""

import io
import os
import tarfile
import time
from datetime import datetime, timezone

import pytest

from e2efix import Symlink, File, build, new_layers, write_context
from hulltest import Hull

EPOCH = 1700000000

DOCKERFILE = """\
FROM busybox AS builder
WORKDIR /src
COPY . .
RUN mkdir -p /out/a/b && cat main.py > /out/a/b/main.py && echo built > /out/built.txt && \
    ln -s a/b/main.py /out/link && chmod 0750 /out/a && touch /out/empty
FROM busybox
ENV APP=/app
WORKDIR /app
COPY --from=builder /out/ ./
COPY --chmod=0600 conf.ini /etc/app.ini
RUN echo done > /app/done && chown 1000:1000 /app/done
LABEL org.example.v=1
CMD ["/bin/sh", "-c", "cat /app/done"]
"""

FILES = {
    "Dockerfile": DOCKERFILE,
    "main.py": "print('hello')\n",
    "conf.ini": "[a]\nb = 1\n",
    "pkg/__init__.py": "",
    "pkg/mod.py": "X = 1\n" * 100,
    "pkg/tool.sh": File(b"#!/bin/sh\necho tool\n", 0o755),
    "pkg/link": Symlink("mod.py"),
}


@pytest.fixture(scope="module")
def base_archive(hull_bin, busybox_tar, tmp_path_factory):
    """busybox imported once and saved: every fresh store loads the same base image (an import
    stamps its own time in the base's history)."""
    work = tmp_path_factory.mktemp("repro-base")
    h = Hull(hull_bin, work / "root")
    h.ok("import", busybox_tar, "busybox:latest")
    h.ok("save", "--format", "oci", "-o", work / "busybox-oci.tar", "busybox:latest")
    return work / "busybox-oci.tar"


def fresh_store(hull_bin, base_archive, path) -> Hull:
    h = Hull(hull_bin, path)
    h.ok("load", "-i", base_archive)
    assert "busybox:latest" in h.names()
    return h


def two_builds(hull_bin, base_archive, tmp_path, args=(), env=None, pause=0.0):
    """The same files written twice at different times, in two directories, built into two
    fresh store roots; returns the two stores."""
    stores = []
    for i in range(2):
        ctx = write_context(tmp_path / f"ctx{i}", FILES)
        stamp = time.time() + 1000 * i
        for p in ctx.rglob("*"):
            os.utime(p, (stamp, stamp), follow_symlinks=False)
        h = fresh_store(hull_bin, base_archive, tmp_path / f"root{i}")
        build(h, ctx, *args, tag="repro:1", env=env)
        stores.append(h)
        if pause:
            time.sleep(pause)
    return stores


def assert_clamped(h: Hull, epoch: int):
    config = h.config("repro:1")
    created = datetime.fromisoformat(config["created"].replace("Z", "+00:00"))
    assert created == datetime.fromtimestamp(epoch, timezone.utc), config["created"]
    base_len = len(h.config("busybox:latest")["history"])
    for entry in config["history"][base_len:]:
        when = datetime.fromisoformat(entry["created"].replace("Z", "+00:00"))
        assert when.timestamp() <= epoch, entry
    for layer in new_layers(h, "repro:1"):
        with tarfile.open(fileobj=io.BytesIO(layer)) as tf:
            names = []
            for m in tf:
                assert m.mtime <= epoch, f"{m.name}: mtime {m.mtime} > {epoch}"
                names.append(m.name)
            assert names == sorted(names, key=lambda n: n.rstrip("/").split("/")) or \
                names == sorted(names), f"tar entries not sorted: {names}"


@pytest.mark.parametrize("how", ["env", "flag"])
def test_same_manifest_digest_in_two_fresh_stores(hull_bin, base_archive, tmp_path, how):
    if how == "env":
        stores = two_builds(hull_bin, base_archive, tmp_path,
                            env={"SOURCE_DATE_EPOCH": str(EPOCH)}, pause=1.1)
    else:
        stores = two_builds(hull_bin, base_archive, tmp_path,
                            args=("--source-date-epoch", str(EPOCH)), pause=1.1)
    a, b = (h.manifest_desc("repro:1")["digest"] for h in stores)
    assert a == b, (f"manifests differ:\n{stores[0].manifest('repro:1')}\n"
                    f"{stores[1].manifest('repro:1')}\nconfigs:\n{stores[0].config('repro:1')}\n"
                    f"{stores[1].config('repro:1')}")
    assert_clamped(stores[0], EPOCH)


def test_zstd_is_reproducible_too(hull_bin, base_archive, tmp_path):
    stores = two_builds(hull_bin, base_archive, tmp_path,
                        args=("--compression", "zstd", "--source-date-epoch", str(EPOCH)))
    a, b = (h.manifest_desc("repro:1")["digest"] for h in stores)
    assert a == b
    layers = stores[0].manifest("repro:1")["layers"]
    new = layers[len(stores[0].manifest("busybox:latest")["layers"]):]
    assert new and all(d["mediaType"].endswith("+zstd") for d in new), new


def test_flag_wins_over_the_environment(hull_bin, base_archive, tmp_path):
    h = fresh_store(hull_bin, base_archive, tmp_path / "root")
    ctx = write_context(tmp_path / "ctx", FILES)
    build(h, ctx, "--source-date-epoch", str(EPOCH), tag="repro:1",
          env={"SOURCE_DATE_EPOCH": str(EPOCH + 500)})
    assert_clamped(h, EPOCH)


def test_without_epoch_the_created_time_is_now(hull_bin, base_archive, tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    stores = two_builds(hull_bin, base_archive, tmp_path, pause=1.1)
    created = [h.config("repro:1")["created"] for h in stores]
    assert created[0] != created[1], created
    for c in created:
        when = datetime.fromisoformat(c.replace("Z", "+00:00"))
        assert when.year >= 2024, c
