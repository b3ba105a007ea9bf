"""hull save / hull load: docker-archive and OCI-archive round trips keep the digests, and archives
made by hand (not by hull) load too."""

import gzip
import json
import subprocess

import pytest

from hulltest import (Hull, docker_archive, oci_archive, oci_archive_manifests, read_tar_members,
                      sha256_bytes, tar_bytes, REF_NAME)


def uncompressed(data: bytes) -> bytes:
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    if data[:4] == b"\x28\xb5\x2f\xfd":
        return subprocess.run(["zstd", "-d", "-c"], input=data, capture_output=True,
                              check=True).stdout
    return data


def fresh(hull, tmp_path, name="other") -> Hull:
    return Hull(hull.binary, tmp_path / name)


def test_save_docker_archive_layout(store, tmp_path):
    out = tmp_path / "bb.tar"
    store.ok("save", "-o", out, "busybox:latest")
    files = read_tar_members(out)
    [entry] = json.loads(files["manifest.json"])
    assert entry["RepoTags"] == ["busybox:latest"]
    config = files[entry["Config"]]
    assert sha256_bytes(config) == store.image_id("busybox:latest")
    diff_ids = json.loads(config)["rootfs"]["diff_ids"]
    assert [sha256_bytes(uncompressed(files[p])) for p in entry["Layers"]] == diff_ids


@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_save_load_round_trip_keeps_ids(store, tmp_path, fmt):
    out = tmp_path / f"bb-{fmt}.tar"
    store.ok("save", "--format", fmt, "-o", out, "busybox:latest")
    other = fresh(store, tmp_path)
    loaded = other.ok("load", "-i", out)
    assert "busybox:latest" in loaded, f"load names what it loaded: {loaded!r}"
    assert other.names() == ["busybox:latest"]
    assert other.image_id("busybox:latest") == store.image_id("busybox:latest")
    assert (other.config("busybox:latest")["rootfs"]["diff_ids"]
            == store.config("busybox:latest")["rootfs"]["diff_ids"])
    if fmt == "oci":
        # The archive carries the manifest itself, so its digest survives.
        assert (other.manifest_desc("busybox:latest")["digest"]
                == store.manifest_desc("busybox:latest")["digest"])
    other.ok("system", "fsck")


def test_save_oci_archive_layout(store, tmp_path):
    out = tmp_path / "bb-oci.tar"
    store.ok("save", "--format", "oci", "-o", out, "busybox:latest")
    files = read_tar_members(out)
    assert json.loads(files["oci-layout"])["imageLayoutVersion"] == "1.0.0"
    [desc] = oci_archive_manifests(out)
    assert desc["digest"] == store.manifest_desc("busybox:latest")["digest"]
    assert REF_NAME in desc.get("annotations", {}), desc
    for name, data in files.items():
        if name.startswith("blobs/sha256/"):
            assert sha256_bytes(data) == "sha256:" + name.rsplit("/", 1)[1]


def test_save_to_stdout_and_load_from_stdin(store, tmp_path):
    out = tmp_path / "stdout.tar"
    with open(out, "wb") as f:
        store.ok("save", "busybox:latest", stdout=f)
    other = fresh(store, tmp_path)
    with open(out, "rb") as f:
        other.ok("load", stdin=f)
    assert other.image_id("busybox:latest") == store.image_id("busybox:latest")


@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_save_several_images(store, busybox_tar, tmp_path, fmt):
    store.ok("import", busybox_tar, "second:v2", "--change", "ENV SECOND=1")
    out = tmp_path / "two.tar"
    store.ok("save", "--format", fmt, "-o", out, "busybox:latest", "second:v2")
    other = fresh(store, tmp_path)
    other.ok("load", "-i", out)
    assert other.names() == ["busybox:latest", "second:v2"]
    for name in other.names():
        assert other.image_id(name) == store.image_id(name)
    other.ok("system", "fsck")


def test_load_hand_made_docker_archive(hull, tmp_path):
    layer = tar_bytes([("hello.txt", b"hello\n"), ("etc/", None), ("etc/motd", b"hi\n")])
    archive = tmp_path / "handmade.tar"
    archive.write_bytes(docker_archive(layer, repo_tag="handmade:v1"))
    hull.ok("load", "-i", archive)
    assert hull.names() == ["handmade:v1"]
    files = read_tar_members(archive)
    [entry] = json.loads(files["manifest.json"])
    assert hull.image_id("handmade:v1") == sha256_bytes(files[entry["Config"]])
    assert hull.config("handmade:v1")["rootfs"]["diff_ids"] == [sha256_bytes(layer)]
    hull.ok("system", "fsck")


def test_load_hand_made_oci_archive(hull, tmp_path):
    layer = tar_bytes([("hello.txt", b"hello\n")])
    data, manifest_digest, config_digest = oci_archive(layer, ref_name="handmade:oci")
    archive = tmp_path / "handmade-oci.tar"
    archive.write_bytes(data)
    hull.ok("load", "-i", archive)
    assert hull.names() == ["handmade:oci"]
    assert hull.manifest_desc("handmade:oci")["digest"] == manifest_digest
    assert hull.image_id("handmade:oci") == config_digest
    hull.ok("system", "fsck")


def test_load_twice_is_harmless(store, tmp_path):
    out = tmp_path / "bb.tar"
    store.ok("save", "-o", out, "busybox:latest")
    image_id = store.image_id("busybox:latest")
    store.ok("load", "-i", out)
    assert store.names() == ["busybox:latest"]
    assert store.image_id("busybox:latest") == image_id
    store.ok("system", "fsck")
