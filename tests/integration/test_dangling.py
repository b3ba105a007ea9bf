"""Untagged images, as Docker keeps dangling images: archives without names load and keep their
digests, a name moved away leaves the old image as <none>:<none> until `hull system prune`, and
the commands that take an image ID work on them."""

import io
import json
import os
import re
import subprocess
import tarfile

import pytest

from hulltest import (REF_NAME, Hull, docker_archive, image_config, need_tool, oci_archive,
                      oci_archive_manifests, prune_args, read_tar_members, sha256_bytes,
                      tar_bytes)

LOADED_ID = re.compile(r"^Loaded image ID: (sha256:[0-9a-f]{64})$", re.M)


def tool_output(*args, timeout=300) -> str:
    proc = subprocess.run([str(a) for a in args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, (f"{' '.join(map(str, args))}: exit status {proc.returncode}\n"
                                  f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
    return proc.stdout


def untagged(hull) -> list:
    """The manifest digests of the index.json entries without a name."""
    return [m["digest"] for m in hull.index()["manifests"]
            if REF_NAME not in m.get("annotations", {})]


def config_of(hull, manifest_digest) -> str:
    return json.loads(hull.blob(manifest_digest))["config"]["digest"]


def blobs_of(hull, manifest_digest) -> list:
    manifest = json.loads(hull.blob(manifest_digest))
    return [manifest_digest, manifest["config"]["digest"],
            *[layer["digest"] for layer in manifest["layers"]]]


def none_rows(hull) -> list:
    """The IMAGE ID column of the `<none> <none>` rows of `hull images`."""
    rows = [line.split() for line in hull.ok("images").splitlines()[1:]]
    return [r[2] for r in rows if r[:2] == ["<none>", "<none>"]]


def short(image_id) -> str:
    return image_id.split(":")[1][:12]


def loaded_ids(out) -> list:
    return LOADED_ID.findall(out)


def handmade_layer() -> bytes:
    return tar_bytes([("etc/", None), ("etc/dangling", b"no name\n")])


def unnamed_docker_archive(repo_tags) -> tuple:
    """A docker-archive whose one image has RepoTags null, [] or absent (repo_tags="absent").
    Returns (archive bytes, config digest)."""
    layer = handmade_layer()
    diff_id = sha256_bytes(layer)
    config_digest = sha256_bytes(image_config([diff_id]))
    entry = {"Config": config_digest.split(":")[1] + ".json",
             "Layers": [diff_id.split(":")[1] + "/layer.tar"]}
    if repo_tags != "absent":
        entry["RepoTags"] = repo_tags
    return docker_archive(layer, manifest_json=json.dumps([entry]).encode()), config_digest


# --- import and load keep images without a name ---

def test_import_without_a_name_keeps_the_image_untagged(hull, busybox_tar):
    image_id = hull.ok("import", busybox_tar).strip()
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", image_id), image_id
    [digest] = untagged(hull)
    assert config_of(hull, digest) == image_id
    assert none_rows(hull) == [short(image_id)]
    assert none_rows(hull) == [r.split()[2] for r in hull.ok("images", "-a").splitlines()[1:]]
    blobs = blobs_of(hull, digest)
    hull.ok("system", "fsck")
    hull.ok(*prune_args(hull))
    assert untagged(hull) == [], "system prune removes dangling images"
    for d in blobs:
        assert not hull.blob_path(d).exists(), f"{d} survived system prune"
    hull.ok("system", "fsck")


def test_inspect_history_and_rmi_by_id(hull, busybox_tar):
    image_id = hull.ok("import", busybox_tar, "--change", "ENV LOOSE=1").strip()
    [digest] = untagged(hull)
    blobs = blobs_of(hull, digest)
    [img] = json.loads(hull.ok("inspect", short(image_id)))
    assert img["Id"] == image_id
    assert img["RepoTags"] == []
    assert img["ManifestDigest"] == digest
    assert "LOOSE=1" in img["Config"]["Env"]
    history = hull.ok("history", image_id)
    assert short(image_id) in history
    out = hull.ok("rmi", short(image_id))
    assert f"Deleted: {image_id}" in out
    assert "Untagged" not in out
    assert hull.index()["manifests"] == []
    for d in blobs:
        assert not hull.blob_path(d).exists(), f"{d} survived rmi"
    hull.fail("inspect", image_id)
    hull.ok("system", "fsck")


@pytest.mark.parametrize("repo_tags", [None, [], "absent"])
def test_load_docker_archive_without_repo_tags(hull, tmp_path, repo_tags):
    data, config_digest = unnamed_docker_archive(repo_tags)
    archive = tmp_path / "unnamed.tar"
    archive.write_bytes(data)
    out = hull.ok("load", "-i", archive)
    assert loaded_ids(out) == [config_digest], out
    assert "Loaded image:" not in out
    [digest] = untagged(hull)
    assert config_of(hull, digest) == config_digest
    assert none_rows(hull) == [short(config_digest)]
    hull.ok("system", "fsck")
    # Loading it again keeps one entry.
    assert loaded_ids(hull.ok("load", "-i", archive)) == [config_digest]
    assert untagged(hull) == [digest]


def test_load_oci_archive_without_a_name_keeps_the_manifest_digest(hull, tmp_path):
    data, manifest_digest, config_digest = oci_archive(handmade_layer())
    index = json.loads(read_members(data)["index.json"])
    del index["manifests"][0]["annotations"]
    archive = tmp_path / "unnamed-oci.tar"
    archive.write_bytes(replace_member(data, "index.json", json.dumps(index).encode()))
    assert loaded_ids(hull.ok("load", "-i", archive)) == [config_digest]
    assert untagged(hull) == [manifest_digest]
    hull.ok("system", "fsck")


def test_load_skopeo_oci_archive_without_a_name(store, tmp_path):
    need_tool("skopeo")
    archive = tmp_path / "skopeo-unnamed.tar"
    tool_output("skopeo", "copy", "-q", f"oci:{store.root}:busybox:latest",
                f"oci-archive:{archive}")
    [desc] = oci_archive_manifests(archive)
    assert REF_NAME not in desc.get("annotations", {}), f"skopeo named the image: {desc}"
    other = Hull(store.binary, tmp_path / "other")
    out = other.ok("load", "-i", archive)
    assert loaded_ids(out) == [store.image_id("busybox:latest")], out
    assert untagged(other) == [desc["digest"]]
    assert desc["digest"] == store.manifest_desc("busybox:latest")["digest"]
    other.ok("system", "fsck")
    # Naming it afterwards turns it into an ordinary image.
    other.ok("tag", short(store.image_id("busybox:latest")), "named:v1")
    assert untagged(other) == []
    assert other.manifest_desc("named:v1")["digest"] == desc["digest"]


# --- a name moved away leaves the old image dangling ---

def test_retag_leaves_a_dangling_image_until_system_prune(store, busybox_tar):
    old_digest = store.manifest_desc("busybox:latest")["digest"]
    old_id = store.image_id("busybox:latest")
    old_blobs = blobs_of(store, old_digest)
    store.ok("import", busybox_tar, "newer:v1", "--change", "ENV NEWER=1")
    store.ok("tag", "newer:v1", "busybox:latest")
    assert untagged(store) == [old_digest]
    assert none_rows(store) == [short(old_id)]
    assert store.ok("images", "--filter", "dangling=true", "-q").split() == [short(old_id)]
    assert short(old_id) not in store.ok("images", "--filter", "dangling=false", "-q").split()
    store.ok("system", "fsck")
    # Still usable by ID, like any image.
    store.ok("inspect", short(old_id))

    dry = store.ok("system", "prune", "--dry-run")
    assert old_id in dry
    assert untagged(store) == [old_digest], "a dry run removes nothing"
    out = store.ok(*prune_args(store))
    assert f"deleted: {old_id}" in out, out
    assert untagged(store) == []
    assert none_rows(store) == []
    new_layers = store.manifest("busybox:latest")["layers"]
    for d in old_blobs:
        shared = any(layer["digest"] == d for layer in new_layers)
        assert store.blob_path(d).exists() == shared, f"{d}: shared={shared}"
    store.ok("system", "fsck")


def test_load_of_a_newer_image_under_the_same_name(store, tmp_path):
    old_digest = store.manifest_desc("busybox:latest")["digest"]
    archive = tmp_path / "newer.tar"
    archive.write_bytes(docker_archive(handmade_layer(), repo_tag="busybox:latest"))
    store.ok("load", "-i", archive)
    assert store.manifest_desc("busybox:latest")["digest"] != old_digest
    assert untagged(store) == [old_digest]
    store.ok("system", "fsck")


def test_rmi_of_a_name_keeps_no_dangling_image(store):
    store.ok("rmi", "busybox:latest")
    assert store.index()["manifests"] == []


# --- save by ID ---

def test_save_untagged_by_id_round_trips(hull, busybox_tar, tmp_path):
    image_id = hull.ok("import", busybox_tar).strip()
    [digest] = untagged(hull)
    docker_tar = tmp_path / "by-id-docker.tar"
    hull.ok("save", "-o", docker_tar, short(image_id))
    [entry] = json.loads(read_tar_members(docker_tar)["manifest.json"])
    assert entry["RepoTags"] is None, entry
    oci_tar = tmp_path / "by-id-oci.tar"
    hull.ok("save", "--format", "oci", "-o", oci_tar, image_id)
    [desc] = oci_archive_manifests(oci_tar)
    assert REF_NAME not in desc.get("annotations", {})
    for archive, keeps_digest in [(docker_tar, False), (oci_tar, True)]:
        other = Hull(hull.binary, tmp_path / ("from-" + archive.stem))
        assert loaded_ids(other.ok("load", "-i", archive)) == [image_id]
        [loaded] = untagged(other)
        assert config_of(other, loaded) == image_id
        if keeps_digest:
            assert loaded == digest
        other.ok("system", "fsck")


# --- podman saves by image ID without a name ---

@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
def test_hull_loads_podman_save_by_id(hull, podman, busybox_tar, tmp_path, fmt):
    podman.run("import", busybox_tar, "localhost/danglingsrc:latest")
    try:
        image_id = podman.image_id("localhost/danglingsrc:latest")
        archive = tmp_path / f"podman-{fmt}.tar"
        podman.run("save", "--format", fmt, "-o", archive, image_id.split(":")[1])
    finally:
        podman.run("rmi", "-f", "localhost/danglingsrc:latest", check=False)
    members = read_tar_members(archive)
    if fmt == "docker-archive":
        [entry] = json.loads(members["manifest.json"])
        if entry.get("RepoTags"):
            pytest.skip(f"podman named the image: {entry['RepoTags']}")
    else:
        [desc] = oci_archive_manifests(archive)
        if REF_NAME in desc.get("annotations", {}):
            pytest.skip(f"podman named the image: {desc}")
    out = hull.ok("load", "-i", archive)
    assert loaded_ids(out) == [image_id], out
    [digest] = untagged(hull)
    assert config_of(hull, digest) == image_id
    if fmt == "oci-archive":
        assert digest == desc["digest"], "an OCI archive keeps its manifest digest"
    hull.ok("system", "fsck")


# --- peers still read the store ---

def test_skopeo_and_umoci_read_a_store_with_untagged_images(store, busybox_tar, tmp_path):
    need_tool("skopeo")
    store.ok("import", busybox_tar, "--change", "ENV LOOSE=1")
    assert len(untagged(store)) == 1
    out = json.loads(tool_output("skopeo", "inspect", f"oci:{store.root}:busybox:latest"))
    assert out["Digest"] == store.manifest_desc("busybox:latest")["digest"]
    if os.path.exists("/usr/bin/umoci"):
        layout = tmp_path / "copy"
        tool_output("cp", "-a", store.root, layout)
        assert "busybox:latest" in tool_output("umoci", "ls", "--layout", layout)


def test_images_refuses_an_unknown_filter(store):
    line = store.fail("images", "--filter", "label=x")
    assert "dangling" in line
    store.fail("images", "--filter", "dangling=maybe")


# --- helpers over archive bytes ---

def read_members(data: bytes) -> dict:
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        for m in tf.getmembers():
            if m.isfile():
                out[m.name] = tf.extractfile(m).read()
    return out


def replace_member(data: bytes, name: str, content: bytes) -> bytes:
    entries = []
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        for m in tf.getmembers():
            if m.isdir():
                entries.append((m.name + "/", None))
            else:
                entries.append((m.name, content if m.name == name else tf.extractfile(m).read()))
    return tar_bytes(entries)
