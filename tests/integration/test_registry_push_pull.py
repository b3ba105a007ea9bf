"""hull push / hull pull against Debian's docker-registry on 127.0.0.1 (plain HTTP), with the
fault proxy in front where a test counts requests: round trips keep the manifest and config digests,
existing blobs are skipped, blobs are mounted across repositories, uploads go in chunks."""

import json
import re

from faultproxy import BLOB, MANIFEST, UPLOAD
from hulltest import gzip_bytes, prune_args, sha256_bytes, tar_bytes
from registryfix import *  # noqa: F401,F403
from registryfix import pulled_digest, pushed_digest, skopeo_inspect_raw, skopeo_push


def busybox_digests(client):
    return (client.manifest_desc("busybox:latest")["digest"],
            client.config_digest("busybox:latest"))


def blob_digests(client, name="busybox:latest"):
    manifest = client.manifest(name)
    return [manifest["config"]["digest"]] + [layer["digest"] for layer in manifest["layers"]]


def test_push_rmi_pull_round_trip(client, http_registry):
    client.insecure(http_registry.host)
    manifest_digest, config_digest = busybox_digests(client)
    ref = f"{http_registry.host}/round/busybox:v1"
    out = client.ok("push", "busybox:latest", ref)
    assert pushed_digest(out, "v1") == manifest_digest
    # The registry holds the very bytes of the stored manifest.
    assert sha256_bytes(skopeo_inspect_raw(http_registry, "round/busybox:v1")) == manifest_digest

    blobs = blob_digests(client)
    client.ok("rmi", "busybox:latest")
    client.ok(*prune_args(client))
    assert not any(client.blob_path(d).exists() for d in blobs + [manifest_digest])
    out = client.ok("pull", ref)
    assert pulled_digest(out) == manifest_digest
    assert f"Status: Downloaded newer image for {ref}" in out, out
    assert client.manifest_desc(ref)["digest"] == manifest_digest
    assert client.config_digest(ref) == config_digest
    client.ok("system", "fsck")

    again = client.ok("pull", ref)
    assert f"Status: Image is up to date for {ref}" in again, again


def test_pull_into_a_fresh_store_and_by_digest(client, http_registry):
    client.insecure(http_registry.host)
    manifest_digest, config_digest = busybox_digests(client)
    client.ok("push", "busybox:latest", f"{http_registry.host}/bydigest/busybox:v1")

    other = client.other("fresh")
    out = other.ok("pull", f"{http_registry.host}/bydigest/busybox@{manifest_digest}")
    assert pulled_digest(out) == manifest_digest
    entry = other.entry_by_digest(manifest_digest)
    assert other.blob(entry["digest"])
    assert json.loads(other.blob(manifest_digest))["config"]["digest"] == config_digest
    other.ok("system", "fsck")


def test_pull_quiet_prints_only_the_reference(client, http_registry):
    client.insecure(http_registry.host)
    ref = f"{http_registry.host}/quiet/busybox:v1"
    client.ok("push", "-q", "busybox:latest", ref)
    out = client.other("quiet").ok("pull", "-q", ref)
    assert out.strip() == ref, out


def test_push_without_dest_uses_the_image_name(client, http_registry):
    client.insecure(http_registry.host)
    ref = f"{http_registry.host}/named/busybox:v2"
    client.ok("tag", "busybox:latest", ref)
    out = client.ok("push", ref)
    assert pushed_digest(out, "v2") == client.manifest_desc(ref)["digest"]
    assert "v2" in http_registry.tags("named/busybox")


def test_loopback_registry_speaks_plain_http_without_settings(client, http_registry):
    # Docker's rule: registries on 127.0.0.0/8 are insecure without being listed.
    ref = f"{http_registry.host}/loopback/busybox:v1"
    client.ok("push", "busybox:latest", ref)
    client.other("loopback").ok("pull", ref)


def test_push_heads_each_blob_before_uploading(client, fault_proxy):
    client.insecure(fault_proxy.host)
    client.ok("push", "busybox:latest", f"{fault_proxy.host}/heads/busybox:v1")
    seen = fault_proxy.requests()
    for digest in blob_digests(client):
        head = [i for i, s in enumerate(seen) if s.method == "HEAD" and s.path.endswith(digest)]
        upload = [i for i, s in enumerate(seen) if s.method in ("PUT", "PATCH", "POST") and
                  digest in s.path]
        assert head, f"no HEAD for {digest}: {[(s.method, s.path) for s in seen]}"
        assert not upload or head[0] < upload[0], f"{digest} uploaded before its HEAD"
    # The manifest goes up last, once every blob it names is there.
    manifest_puts = [i for i, s in enumerate(seen) if s.method == "PUT" and
                     re.search(MANIFEST, s.path)]
    uploads = [i for i, s in enumerate(seen) if s.method in ("PUT", "PATCH", "POST") and
               re.search(UPLOAD, s.path)]
    assert len(manifest_puts) == 1 and uploads and max(uploads) < manifest_puts[0]


def test_second_push_skips_blobs_the_registry_has(client, fault_proxy):
    client.insecure(fault_proxy.host)
    ref = f"{fault_proxy.host}/skip/busybox:v1"
    client.ok("push", "busybox:latest", ref)
    fault_proxy.reset_log()
    out = client.ok("push", "busybox:latest", ref)
    assert "Layer already exists" in out, out
    assert fault_proxy.count("POST", UPLOAD) == 0, "a blob was uploaded again"
    assert fault_proxy.count("PATCH") == 0
    assert fault_proxy.count("HEAD", BLOB) >= len(blob_digests(client))


def test_push_to_second_repo_mounts_blobs(client, fault_proxy):
    client.insecure(fault_proxy.host)
    client.ok("push", "busybox:latest", f"{fault_proxy.host}/first/busybox:v1")
    fault_proxy.reset_log()
    client.ok("push", "busybox:latest", f"{fault_proxy.host}/second/busybox:v1")
    mounts = [s for s in fault_proxy.requests("POST", UPLOAD) if "mount=" in s.path]
    assert mounts, [(s.method, s.path) for s in fault_proxy.requests()]
    assert all(re.search(r"from=first(%2F|/)busybox", s.path) for s in mounts), [
        s.path for s in mounts]
    layer = client.manifest("busybox:latest")["layers"][0]["digest"]
    assert any(layer.split(":")[1] in s.path for s in mounts), "the layer was not mounted"
    uploads = [s for s in fault_proxy.requests() if s.method in ("PUT", "PATCH") and
               re.search(UPLOAD, s.path)]
    assert not any(layer.split(":")[1] in s.path for s in uploads), "a mounted blob was uploaded"
    assert all(s.body_size < 10000 for s in uploads), "layer data was uploaded, not mounted"
    status, _, _ = fault_proxy_registry_head(fault_proxy, f"/v2/second/busybox/blobs/{layer}")
    assert status == 200


def fault_proxy_registry_head(proxy, path):
    import http.client
    conn = http.client.HTTPConnection(proxy.upstream, timeout=10)
    try:
        conn.request("HEAD", path)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def test_chunked_upload(client, fault_proxy):
    client.insecure(fault_proxy.host)
    chunk = 64 * 1024
    layer = client.manifest("busybox:latest")["layers"][0]
    assert layer["size"] > 3 * chunk, "the busybox layer is too small to need chunks"
    ref = f"{fault_proxy.host}/chunked/busybox:v1"
    client.ok("push", "busybox:latest", ref, env={"HULL_PUSH_CHUNK_SIZE": str(chunk)})
    patches = fault_proxy.requests("PATCH", UPLOAD)
    assert len(patches) >= layer["size"] // chunk, f"{len(patches)} PATCH requests"
    assert all(p.body_size <= chunk for p in patches)
    ranges = [p.headers.get("Content-Range") for p in patches if p.headers.get("Content-Range")]
    if ranges:  # Content-Range is optional for the first chunk's style of upload; check order
        starts = [int(re.match(r"(\d+)-(\d+)", r).group(1)) for r in ranges]
        assert starts == sorted(starts)
    other = client.other("chunked")
    out = other.ok("pull", ref)
    assert pulled_digest(out) == client.manifest_desc("busybox:latest")["digest"]
    other.ok("system", "fsck")


def test_pull_of_missing_repo_or_tag_is_not_found(client, http_registry):
    client.insecure(http_registry.host)
    before = client.snapshot()
    line = client.fail("pull", f"{http_registry.host}/no/such-repo:v1")
    assert "not found" in line.lower() or "unknown" in line.lower(), line
    client.ok("push", "busybox:latest", f"{http_registry.host}/has/busybox:v1")
    before = client.snapshot()
    line = client.fail("pull", f"{http_registry.host}/has/busybox:nosuchtag")
    assert "not found" in line.lower() or "unknown" in line.lower(), line
    assert client.snapshot() == before


def test_push_of_missing_image_fails_and_sends_nothing(client, fault_proxy):
    client.insecure(fault_proxy.host)
    line = client.fail("push", "no-such-image:v1", f"{fault_proxy.host}/x/y:v1")
    assert "no-such-image" in line, line
    assert fault_proxy.count("PUT") == fault_proxy.count("POST") == 0


def test_layer_not_matching_its_diff_id_is_pulled_but_never_unpacked(client, http_registry,
                                                                       tmp_path):
    """A pull checks blob digests only; the config's diff IDs name the snapshots, so the first
    unpack checks them and refuses a layer whose uncompressed content is something else."""
    layout = tmp_path / "layout"
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes) -> dict:
        digest = sha256_bytes(data)
        (blobs / digest.split(":")[1]).write_bytes(data)
        return {"digest": digest, "size": len(data)}

    layer = put(gzip_bytes(tar_bytes([("etc/real.txt", b"real\n")])))
    claimed = sha256_bytes(tar_bytes([("etc/claimed.txt", b"claimed\n")]))
    config = put(json.dumps({"architecture": "amd64", "os": "linux",
                             "config": {"Cmd": ["/bin/sh"]},
                             "rootfs": {"type": "layers", "diff_ids": [claimed]}}).encode())
    manifest = put(json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}],
    }).encode())
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", **manifest}]}))
    skopeo_push(http_registry, f"oci:{layout}", "lying/image:v1")

    client.insecure(http_registry.host)
    ref = f"{http_registry.host}/lying/image:v1"
    client.ok("pull", ref)
    assert client.blob_path(layer["digest"]).exists()
    res = client.run("run", "--rm", ref, "/bin/true")
    assert res.rc == 125, res.describe()  # run's own failure, as Docker's
    assert "the image config says " + claimed in res.stderr, res.describe()
    assert not (client.root / "snapshots" / claimed.split(":")[1]).exists()
