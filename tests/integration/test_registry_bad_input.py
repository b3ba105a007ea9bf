"""Bad references and bad registry replies: malformed references, a schema 1 manifest, an unknown
media type, an oversized manifest, a manifest that does not match the digest asked for, an HTML
page. Each ends in exit status 1 with one `hull: error:` line, and the store is as it was."""

import json

import pytest

from faultproxy import MANIFEST
from hulltest import sha256_bytes
from registryfix import *  # noqa: F401,F403
from registryfix import assert_store_unchanged, store_listing

# Not here: "" and names that start with "-", which the argument parser refuses as usage errors
# (exit status 2) before hull reads them.
MALFORMED = [
    "Upper:v1",
    "library/Upper:v1",
    "127.0.0.1:5000/Repo:v1",
    "a..b/c:v1",
    "a/b:tag:tag",
    "repo:",
    ":tag",
    "repo@sha256:abc",
    "repo@md5:d41d8cd98f00b204e9800998ecf8427e",
    "a/-dash:v1",
    "a/b/:v1",
    "a" * 300 + ":v1",
    "repo:" + "t" * 200,
    "host:port/x:v1",
    "repo name:v1",
]


# Were a malformed reference taken for a remote name, the request would go to this dead proxy on
# 127.0.0.1 (curl honours these variables) and never leave the machine.
DEAD_PROXY = {k: "http://127.0.0.1:9" for k in ("http_proxy", "https_proxy", "HTTPS_PROXY",
                                                "ALL_PROXY", "all_proxy")}
DEAD_PROXY.update(no_proxy="", NO_PROXY="")


@pytest.mark.parametrize("ref", MALFORMED)
def test_malformed_reference_is_one_line(client, ref):
    before = store_listing(client)
    for args in (["pull", ref], ["push", "busybox:latest", ref]):
        line = client.fail(*args, timeout=60, env=DEAD_PROXY)
        assert "reference" in line.lower() or "invalid" in line.lower(), line
    assert_store_unchanged(client, before)


SCHEMA1 = json.dumps({
    "schemaVersion": 1, "name": "bad/schema1", "tag": "v1", "architecture": "amd64",
    "fsLayers": [{"blobSum": "sha256:" + "a" * 64}],
    "history": [{"v1Compatibility": "{}"}],
    "signatures": [{"header": {"alg": "ES256"}, "signature": "x", "protected": "y"}],
}).encode()


@pytest.fixture
def puller(client, fault_proxy):
    client.insecure(fault_proxy.host)
    return client


def serve_manifest(proxy, body, media_type):
    proxy.reply("", MANIFEST, 200, body=body, headers={
        "Content-Type": media_type, "Docker-Content-Digest": sha256_bytes(body)})


def pull_fails(puller, ref, *words):
    before = store_listing(puller)
    line = puller.fail("pull", ref)
    assert any(w in line.lower() for w in words), line
    assert_store_unchanged(puller, before)
    return line


def test_schema1_manifest_is_refused(puller, fault_proxy):
    serve_manifest(fault_proxy, SCHEMA1,
                   "application/vnd.docker.distribution.manifest.v1+prettyjws")
    pull_fails(puller, f"{fault_proxy.host}/bad/schema1:v1", "schema 1", "schema1", "v1")


def test_unknown_media_type_is_refused(puller, fault_proxy):
    body = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.example.thing+json",
                       "things": []}).encode()
    serve_manifest(fault_proxy, body, "application/vnd.example.thing+json")
    pull_fails(puller, f"{fault_proxy.host}/bad/unknown:v1", "media type", "mediatype",
               "unsupported", "unknown")


def test_oversized_manifest_is_refused(puller, fault_proxy):
    body = json.dumps({"schemaVersion": 2,
                       "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {}, "layers": [], "pad": "x" * (5 << 20)}).encode()
    serve_manifest(fault_proxy, body, "application/vnd.oci.image.manifest.v1+json")
    pull_fails(puller, f"{fault_proxy.host}/bad/huge:v1", "too large", "larger", "size", "limit",
               "big", "exceeds")


def test_manifest_not_matching_the_digest_asked_for(puller, fault_proxy):
    puller.ok("push", "busybox:latest", f"{fault_proxy.host}/bad/mismatch:v1")
    digest = puller.manifest_desc("busybox:latest")["digest"]
    other = json.loads(puller.blob(digest))
    other["annotations"] = {"changed": "yes"}
    body = json.dumps(other).encode()
    fault_proxy.reply("", MANIFEST, 200, body=body, headers={
        "Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    fresh = puller.other("fresh")
    pull_fails(fresh, f"{fault_proxy.host}/bad/mismatch@{digest}", "digest")


def test_manifest_that_is_not_json_is_refused(puller, fault_proxy):
    serve_manifest(fault_proxy, b"{not json", "application/vnd.oci.image.manifest.v1+json")
    pull_fails(puller, f"{fault_proxy.host}/bad/notjson:v1", "json", "manifest", "parse")


def test_html_reply_is_one_line(puller, fault_proxy):
    fault_proxy.reply("", r"^/v2/", 200, body=b"<html><body>captive portal</body></html>",
                      headers={"Content-Type": "text/html"})
    line = pull_fails(puller, f"{fault_proxy.host}/bad/html:v1", "html", "registry",
                      "unexpected", "content type", "manifest")
    assert "captive portal" not in line or len(line) < 300, line
