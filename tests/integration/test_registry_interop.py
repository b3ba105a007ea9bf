"""hull and skopeo through one registry, both ways: skopeo pulls what hull pushed and hull pulls
what skopeo pushed (OCI and Docker schema 2 manifests) with the digests kept, and a multi-platform
index assembled with skopeo resolves to linux/amd64 by default and to another platform with
--platform."""

import json

import pytest

from hulltest import sha256_bytes
from registryfix import *  # noqa: F401,F403
from registryfix import (need_skopeo, pulled_digest, pushed_digest, run_tool, skopeo_inspect_raw,
                         skopeo_pull, skopeo_push, store_listing, write_multiarch_layout,
                         assert_store_unchanged)


def test_skopeo_pulls_what_hull_pushed(client, http_registry_session, tmp_path):
    reg = http_registry_session
    client.insecure(reg.host)
    out = client.ok("push", "busybox:latest", f"{reg.host}/interop/hull-pushed:v1")
    manifest_digest = client.manifest_desc("busybox:latest")["digest"]
    assert pushed_digest(out, "v1") == manifest_digest
    skopeo_pull(reg, "interop/hull-pushed:v1", f"oci:{tmp_path / 'sk'}:got")
    [entry] = json.loads((tmp_path / "sk" / "index.json").read_text())["manifests"]
    assert entry["digest"] == manifest_digest
    manifest = json.loads((tmp_path / "sk" / "blobs" / "sha256" /
                           manifest_digest.split(":")[1]).read_bytes())
    assert manifest["config"]["digest"] == client.config_digest("busybox:latest")
    for layer in manifest["layers"]:
        blob = tmp_path / "sk" / "blobs" / "sha256" / layer["digest"].split(":")[1]
        assert sha256_bytes(blob.read_bytes()) == layer["digest"]


@pytest.mark.parametrize("fmt", ["oci", "v2s2"])
def test_hull_pulls_what_skopeo_pushed(client, http_registry_session, tmp_path, fmt):
    reg = http_registry_session
    client.insecure(reg.host)
    saved = tmp_path / "saved.tar"
    client.ok("save", "--format", "oci", "-o", saved, "busybox:latest")
    repo = f"interop/skopeo-{fmt}"
    need_skopeo()
    run_tool("skopeo", "copy", "-q", "--format", fmt, *reg.skopeo_flags("dest-"),
             f"oci-archive:{saved}:busybox:latest", f"docker://{reg.host}/{repo}:v1")
    raw = skopeo_inspect_raw(reg, f"{repo}:v1")
    expected_type = {"oci": "application/vnd.oci.image.manifest.v1+json",
                     "v2s2": "application/vnd.docker.distribution.manifest.v2+json"}[fmt]
    assert json.loads(raw)["mediaType"] == expected_type

    puller = client.other("puller")
    ref = f"{reg.host}/{repo}:v1"
    out = puller.ok("pull", ref)
    assert pulled_digest(out) == sha256_bytes(raw)
    assert puller.manifest_desc(ref)["digest"] == sha256_bytes(raw)
    # The image ID is the config digest, whichever manifest format carried it (skopeo rewrites
    # the config when it converts to Docker's format, so compare with what the registry holds).
    assert puller.image_id(ref) == json.loads(raw)["config"]["digest"]
    assert (puller.config(ref)["rootfs"]["diff_ids"] ==
            client.config("busybox:latest")["rootfs"]["diff_ids"])
    puller.ok("system", "fsck")


@pytest.fixture(scope="module")
def multiarch(http_registry_session, tmp_path_factory):
    """A two-platform index (linux/amd64, linux/arm64/v8) pushed with skopeo copy --all."""
    layout = tmp_path_factory.mktemp("multiarch")
    images, index_digest = write_multiarch_layout(layout)
    skopeo_push(http_registry_session, f"oci:{layout}:multi", "interop/multi:v1", all_images=True)
    return f"{http_registry_session.host}/interop/multi:v1", images, index_digest


def test_index_resolves_to_linux_amd64_by_default(client, http_registry_session, multiarch):
    ref, images, index_digest = multiarch
    client.insecure(http_registry_session.host)
    puller = client.other("amd64")
    out = puller.ok("pull", ref)
    manifest_digest, config_digest = images["linux/amd64"]
    # Docker prints the digest of what the tag names: the index.
    assert pulled_digest(out) in (index_digest, manifest_digest), out
    assert puller.config_digest(ref) == config_digest
    assert puller.config(ref)["architecture"] == "amd64"


def test_index_resolves_to_the_platform_asked_for(client, http_registry_session, multiarch):
    ref, images, _ = multiarch
    client.insecure(http_registry_session.host)
    puller = client.other("arm64")
    puller.ok("pull", "--platform", "linux/arm64/v8", ref)
    assert puller.config_digest(ref) == images["linux/arm64/v8"][1]
    assert puller.config(ref)["architecture"] == "arm64"
    # Docker's rule: arm64 without a variant means v8.
    other = client.other("arm64-novariant")
    other.ok("pull", "--platform", "linux/arm64", ref)
    assert other.config_digest(ref) == images["linux/arm64/v8"][1]


def test_index_without_the_platform_is_one_clear_line(client, http_registry_session, multiarch):
    ref, _, _ = multiarch
    client.insecure(http_registry_session.host)
    puller = client.other("s390x")
    before = store_listing(puller)
    line = puller.fail("pull", "--platform", "linux/s390x", ref)
    assert "s390x" in line, line
    assert_store_unchanged(puller, before)
