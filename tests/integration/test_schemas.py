"""What hull writes validates against the OCI image-spec JSON schemas (v1.1.1, copied into
schemas/oci-image beside this file; see its SOURCE). The schemas name each other by URL
(https://opencontainers.org/schema/...); every reference is resolved to the local file of the
same name, so nothing is fetched."""

import json
import os
from pathlib import Path
from urllib.parse import urlparse

import pytest

from hulltest import oci_archive, oci_archive_manifests, read_tar_members, tar_bytes

jsonschema = pytest.importorskip("jsonschema", reason="python3-jsonschema is not installed")

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas" / "oci-image"


def load_schema(name: str) -> dict:
    return json.loads((SCHEMA_DIR / name).read_text())


def validator(name: str):
    schema = load_schema(name)
    local = lambda uri: load_schema(os.path.basename(urlparse(uri).path))  # noqa: E731
    resolver = jsonschema.RefResolver.from_schema(schema, handlers={"https": local, "http": local})
    return jsonschema.Draft4Validator(schema, resolver=resolver)


def check(name: str, doc: dict, what: str):
    errors = sorted(validator(name).iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, f"{what} fails {name}:\n" + "\n".join(
        f"  {list(e.path)}: {e.message}" for e in errors[:10])


def check_layout_tree(index: dict, blob, what: str):
    """Validates index.json, then every manifest and config it leads to."""
    check("image-index-schema.json", index, f"{what} index.json")
    for desc in index["manifests"]:
        manifest = json.loads(blob(desc["digest"]))
        check("image-manifest-schema.json", manifest, f"{what} manifest {desc['digest']}")
        config = json.loads(blob(manifest["config"]["digest"]))
        check("config-schema.json", config, f"{what} config {manifest['config']['digest']}")


def test_schemas_reject_what_is_wrong():
    # The validator itself must be able to fail, or every test below proves nothing.
    bad_manifest = {"schemaVersion": 2, "config": {"mediaType": "x", "digest": "nope", "size": 1},
                    "layers": []}
    assert list(validator("image-manifest-schema.json").iter_errors(bad_manifest))
    assert list(validator("config-schema.json").iter_errors({"architecture": 5}))


def test_hand_made_archive_passes(tmp_path):
    data, _, _ = oci_archive(tar_bytes([("a", b"a")]))
    archive = tmp_path / "ok.tar"
    archive.write_bytes(data)
    files = read_tar_members(archive)
    index = json.loads(files["index.json"])
    check_layout_tree(index, lambda d: files["blobs/sha256/" + d.split(":")[1]], "hand-made")


def test_store_validates(store, busybox_tar):
    store.ok("import", busybox_tar, "changed:v1", "--change", "ENV A=1", "--change", "EXPOSE 80",
             "--change", 'CMD ["/bin/sh"]', "--change", "LABEL a=b", "--change", "VOLUME /v")
    store.ok("tag", "busybox", "registry.example:5000/x/y:v2")
    check("image-layout-schema.json", json.loads((store.root / "oci-layout").read_text()),
          "oci-layout")
    check_layout_tree(store.index(), store.blob, "store")


@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_loaded_images_validate(store, tmp_path, fmt):
    # A docker archive carries no manifest: the one hull makes on load must be valid too.
    out = tmp_path / "a.tar"
    store.ok("save", "--format", fmt, "-o", out, "busybox:latest")
    store.ok("rmi", "busybox:latest")
    store.ok("load", "-i", out)
    check_layout_tree(store.index(), store.blob, f"store after loading a {fmt} archive")


def test_saved_oci_archive_validates(store, tmp_path):
    out = tmp_path / "a.tar"
    store.ok("save", "--format", "oci", "-o", out, "busybox:latest")
    files = read_tar_members(out)
    check("image-layout-schema.json", json.loads(files["oci-layout"]), "archive oci-layout")
    assert oci_archive_manifests(out)
    check_layout_tree(json.loads(files["index.json"]),
                      lambda d: files["blobs/sha256/" + d.split(":")[1]], "saved archive")
