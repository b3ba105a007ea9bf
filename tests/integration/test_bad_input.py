"""Bad input is never a crash: each case exits 1 with one line 'hull: error: ...' on stderr, and the
store is exactly as it was (index.json, the set of blobs, no staging files left in tmp/)."""

import gzip
import json
import os

import pytest

from hulltest import docker_archive, oci_archive, tar_bytes


def assert_refused(store, *args, **kw):
    before = store.snapshot()
    line = store.fail(*args, **kw)
    assert store.snapshot() == before, "a failed command changed the store"
    return line


@pytest.fixture
def bad_file(tmp_path):
    def make(name, data: bytes):
        p = tmp_path / name
        p.write_bytes(data)
        return p
    return make


def busybox_prefix(busybox_tar, fraction=0.5) -> bytes:
    data = busybox_tar.read_bytes()
    return data[: int(len(data) * fraction)]


# --- import ---

def test_import_garbage(store, bad_file):
    f = bad_file("garbage.tar", os.urandom(8192))
    assert_refused(store, "import", f, "bad:v1")


def test_import_empty_file(store, bad_file):
    assert_refused(store, "import", bad_file("empty.tar", b""), "bad:v1")


def test_import_empty_stdin(store):
    assert_refused(store, "import", "-", "bad:v1", input=b"")


def test_import_missing_file(store, tmp_path):
    line = assert_refused(store, "import", tmp_path / "no-such.tar", "bad:v1")
    assert "no-such.tar" in line


def test_import_truncated_tar(store, busybox_tar, bad_file):
    # Cut in the middle of bin/busybox's data.
    f = bad_file("truncated.tar", busybox_prefix(busybox_tar))
    assert_refused(store, "import", f, "bad:v1")


def test_import_truncated_tar_from_stdin(store, busybox_tar):
    assert_refused(store, "import", "-", "bad:v1", input=busybox_prefix(busybox_tar, 0.7))


def test_import_truncated_gzip(store, busybox_tar_gz, bad_file):
    data = busybox_tar_gz.read_bytes()
    f = bad_file("truncated.tar.gz", data[: len(data) * 2 // 3])
    assert_refused(store, "import", f, "bad:v1")


def test_import_gzip_of_garbage(store, bad_file):
    f = bad_file("garbage.tar.gz", gzip.compress(os.urandom(8192), mtime=0))
    assert_refused(store, "import", f, "bad:v1")


def test_import_corrupt_zstd(store, busybox_tar_zst, bad_file):
    data = bytearray(busybox_tar_zst.read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 64):
        data[i] ^= 0x5A
    assert_refused(store, "import", bad_file("corrupt.tar.zst", bytes(data)), "bad:v1")


@pytest.mark.parametrize("evil", ["../escape.txt", "etc/../../escape.txt", "./../../escape.txt"])
def test_import_hostile_tar(store, bad_file, evil):
    f = bad_file("hostile.tar", tar_bytes([("etc/", None), ("etc/ok", b"ok\n"), (evil, b"x\n")]))
    line = assert_refused(store, "import", f, "bad:v1")
    assert "escape.txt" in line, "the error names the entry"


@pytest.mark.parametrize("change", ["RUN echo hi", "FROM busybox", "NOSUCH x", "ENV"])
def test_import_bad_change(store, busybox_tar, change):
    assert_refused(store, "import", busybox_tar, "bad:v1", "--change", change)


@pytest.mark.parametrize("name", ["Upper:v1", "bad name", "bad:tag:too", "bad//name", ":v1", "a" * 300])
def test_import_bad_name(store, busybox_tar, name):
    assert_refused(store, "import", busybox_tar, name)


# --- load ---

def test_load_garbage(store, bad_file):
    assert_refused(store, "load", "-i", bad_file("garbage-archive.tar", os.urandom(16384)))


def test_load_empty_file(store, bad_file):
    assert_refused(store, "load", "-i", bad_file("empty-archive.tar", b""))


def test_load_missing_file(store, tmp_path):
    assert_refused(store, "load", "-i", tmp_path / "no-such-archive.tar")


def test_load_tar_that_is_no_image_archive(store, bad_file):
    f = bad_file("plain.tar", tar_bytes([("hello.txt", b"hi\n")]))
    assert_refused(store, "load", "-i", f)


def test_load_bad_manifest_json(store, bad_file):
    layer = tar_bytes([("hello.txt", b"hi\n")])
    f = bad_file("badjson.tar", docker_archive(layer, manifest_json=b'[{"Config": "x.json",'))
    assert_refused(store, "load", "-i", f)


def test_load_manifest_json_of_wrong_shape(store, bad_file):
    layer = tar_bytes([("hello.txt", b"hi\n")])
    f = bad_file("wrongshape.tar",
                 docker_archive(layer, manifest_json=json.dumps({"Config": 5}).encode()))
    assert_refused(store, "load", "-i", f)


def test_load_manifest_json_names_a_missing_layer(store, bad_file):
    layer = tar_bytes([("hello.txt", b"hi\n")])
    manifest = bytes(json.dumps([{"Config": "nope.json", "RepoTags": ["bad:v1"],
                                  "Layers": ["missing/layer.tar"]}]), "utf-8")
    f = bad_file("missinglayer.tar", docker_archive(layer, manifest_json=manifest))
    assert_refused(store, "load", "-i", f)


def test_load_docker_archive_with_hostile_layer(store, bad_file):
    layer = tar_bytes([("ok.txt", b"ok\n"), ("../escape.txt", b"x\n")])
    assert_refused(store, "load", "-i", bad_file("hostile-archive.tar", docker_archive(layer)))


def test_load_oci_archive_blob_not_matching_digest(store, bad_file):
    data, _, _ = oci_archive(tar_bytes([("hello.txt", b"hi\n")]), corrupt_layer=True)
    assert_refused(store, "load", "-i", bad_file("mismatch.tar", data))


def test_load_truncated_archive(store, tmp_path):
    good = tmp_path / "good.tar"
    store.ok("save", "-o", good, "busybox:latest")
    data = good.read_bytes()
    truncated = tmp_path / "truncated-archive.tar"
    truncated.write_bytes(data[: len(data) // 2])
    assert_refused(store, "load", "-i", truncated)


# --- names that do not exist or cannot exist ---

@pytest.mark.parametrize("args", [
    ["inspect", "nosuch:v1"],
    ["inspect", "busybox:latest", "nosuch:v1"],
    ["history", "nosuch:v1"],
    ["rmi", "nosuch:v1"],
    ["rmi", "deadbeef0000"],
    ["tag", "nosuch:v1", "new:v1"],
])
def test_unknown_image(store, args):
    line = assert_refused(store, *args)
    assert "nosuch" in line or "deadbeef" in line, "the error names what was not found"


def test_save_unknown_image(store, tmp_path):
    out = tmp_path / "out.tar"
    line = assert_refused(store, "save", "-o", out, "nosuch:v1")
    assert "nosuch" in line
    assert not out.exists(), "no partial archive is left behind"


def test_save_into_missing_directory(store, tmp_path):
    assert_refused(store, "save", "-o", tmp_path / "no" / "such" / "dir" / "x.tar", "busybox")


@pytest.mark.parametrize("name", ["Busybox:v1", "UPPER", "bad name:v1", "x:bad/tag"])
def test_tag_bad_name(store, name):
    assert_refused(store, "tag", "busybox:latest", name)


# --- Dockerfiles ---

@pytest.mark.parametrize("text,line_no", [
    ("FROM busybox\nBOGUS instruction\n", 2),
    ("FROM busybox\nRUN echo ok\nCOPY\n", 3),
    ("# comment\nFROM\n", 2),
])
def test_dockerfile_syntax_error(store, tmp_path, text, line_no):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(text)
    line = assert_refused(store, "dockerfile", "parse", "-f", dockerfile)
    assert f"Dockerfile:{line_no}" in line, "the error gives file:line"
