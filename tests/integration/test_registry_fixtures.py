"""The registry fixtures themselves, proven with skopeo and plain HTTP requests (no hull client):
each registry variant serves what skopeo pushes, auth is enforced, and every fault of the proxy
does what the push/pull tests rely on."""

import http.client
import json

import pytest

from hulltest import sha256_bytes
from registryfix import *  # noqa: F401,F403
from registryfix import (PASSWORD, USER, skopeo_inspect_raw, skopeo_pull, skopeo_push)
from faultproxy import BLOB, MANIFEST


def push_busybox(store, registry, ref):
    skopeo_push(registry, f"oci:{store.root}:busybox:latest", ref)
    manifest = skopeo_inspect_raw(registry, ref)
    assert sha256_bytes(manifest) == store.manifest_desc("busybox:latest")["digest"]
    return json.loads(manifest)


def get(host, path, headers=None, method="GET"):
    conn = http.client.HTTPConnection(host, timeout=30)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        try:
            body = resp.read()
        except http.client.IncompleteRead as e:
            body = e.partial
        return resp.status, dict(resp.getheaders()), body
    finally:
        conn.close()


def test_http_registry_serves_what_skopeo_pushes(store, http_registry_session, tmp_path):
    reg = http_registry_session
    push_busybox(store, reg, "fixtures/http:v1")
    assert "v1" in reg.tags("fixtures/http")
    skopeo_pull(reg, "fixtures/http:v1", f"oci:{tmp_path / 'out'}:x")
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    assert index["manifests"][0]["digest"] == store.manifest_desc("busybox:latest")["digest"]


def test_registry_listens_on_loopback_only(http_registry_session):
    assert http_registry_session.host.startswith("127.0.0.1:")
    assert "127.0.0.1:" in (http_registry_session.dir / "config.yml").read_text()


def test_tls_registry_needs_the_test_ca(store, tls_registry):
    import ssl
    import urllib.request
    status, _, _ = tls_registry.request("GET", "/v2/")
    assert status == 200
    with pytest.raises(Exception) as err:
        urllib.request.urlopen(tls_registry.url + "/v2/", timeout=10,
                               context=ssl.create_default_context())
    assert "CERTIFICATE_VERIFY_FAILED" in str(err.value)
    push_busybox(store, tls_registry, "fixtures/tls:v1")


def test_htpasswd_registry_checks_passwords(store, htpasswd_registry):
    reg = htpasswd_registry
    status, headers, _ = reg.request("GET", "/v2/")
    assert status == 401 and headers["Www-Authenticate"].startswith("Basic ")
    assert reg.request("GET", "/v2/", auth=(USER, "wrong"))[0] == 401
    assert reg.request("GET", "/v2/", auth=(USER, PASSWORD))[0] == 200
    push_busybox(store, reg, "fixtures/basic:v1")


def test_token_registry_accepts_tokens_from_the_token_server(store, token_registry, tokens):
    reg = token_registry
    status, headers, _ = reg.request("GET", "/v2/")
    assert status == 401
    challenge = headers["Www-Authenticate"]
    assert challenge.startswith("Bearer ") and tokens.realm in challenge, challenge
    push_busybox(store, reg, "fixtures/token:v1")
    assert reg.tags("fixtures/token", auth=(USER, PASSWORD)) == ["v1"]
    assert reg.stored_tags("fixtures/token") == ["v1"]
    assert any("repository:fixtures/token:pull,push" in s or
               "repository:fixtures/token:push,pull" in s
               for _, scopes, _ in tokens.requests for s in scopes), tokens.requests


def test_token_server_refuses_wrong_passwords_and_denied_scopes(store, token_registry, tokens):
    import urllib.error
    import urllib.request
    url = f"{tokens.realm}?service={tokens.service}&scope=repository:fixtures/denied:pull"
    with pytest.raises(urllib.error.HTTPError) as err:
        req = urllib.request.Request(url, headers={"Authorization": "Basic aHVsbHRlc3Q6bm8="})
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 401
    tokens.deny("fixtures/denied")
    with pytest.raises(AssertionError):
        skopeo_push(token_registry, f"oci:{store.root}:busybox:latest", "fixtures/denied:v1")
    assert token_registry.stored_tags("fixtures/denied") == []


def test_proxy_passes_through_and_counts(store, http_registry, fault_proxy):
    manifest = push_busybox(store, http_registry, "fixtures/proxy:v1")
    layer = manifest["layers"][0]["digest"]
    path = f"/v2/fixtures/proxy/blobs/{layer}"
    status, _, body = get(fault_proxy.host, path)
    assert status == 200 and sha256_bytes(body) == layer
    assert fault_proxy.count("GET", BLOB) == 1


def test_proxy_drops_once_and_range_resumes(store, http_registry, fault_proxy):
    manifest = push_busybox(store, http_registry, "fixtures/drop:v1")
    layer = manifest["layers"][0]["digest"]
    path = f"/v2/fixtures/drop/blobs/{layer}"
    fault_proxy.drop_after(1000)
    status, headers, first = get(fault_proxy.host, path)
    assert status == 200 and len(first) == 1000 < int(headers["Content-Length"])
    status, _, rest = get(fault_proxy.host, path, {"Range": "bytes=1000-"})
    assert status == 206
    assert sha256_bytes(first + rest) == layer
    assert fault_proxy.requests("GET", BLOB)[1].headers.get("Range") == "bytes=1000-"


def test_proxy_corrupts_replies_and_fails_on_demand(store, http_registry, fault_proxy):
    manifest = push_busybox(store, http_registry, "fixtures/faults:v1")
    layer = manifest["layers"][0]["digest"]
    path = f"/v2/fixtures/faults/blobs/{layer}"
    fault_proxy.corrupt(times=1)
    status, _, body = get(fault_proxy.host, path)
    assert status == 200 and sha256_bytes(body) != layer
    fault_proxy.reply("GET", BLOB, 429, headers={"Retry-After": "1"}, times=1)
    fault_proxy.reply("GET", BLOB, 500, times=1)
    assert get(fault_proxy.host, path)[0] == 429
    assert get(fault_proxy.host, path)[0] == 500
    assert get(fault_proxy.host, path)[0] == 200
    fault_proxy.reply("", MANIFEST, 200, body=b"<html>hi</html>",
                      headers={"Content-Type": "text/html"})
    status, headers, body = get(fault_proxy.host, "/v2/fixtures/faults/manifests/v1")
    assert status == 200 and body.startswith(b"<html>")
    status, headers, _ = get(fault_proxy.host, "/v2/fixtures/faults/manifests/v1", method="HEAD")
    assert status == 200 and headers["Content-Type"] == "text/html"


def test_multiarch_layout_pushes_as_an_index(http_registry_session, tmp_path):
    from registryfix import write_multiarch_layout
    images, index_digest = write_multiarch_layout(tmp_path / "multi")
    skopeo_push(http_registry_session, f"oci:{tmp_path / 'multi'}:multi", "fixtures/multi:v1",
                all_images=True)
    raw = skopeo_inspect_raw(http_registry_session, "fixtures/multi:v1")
    assert sha256_bytes(raw) == index_digest
    listed = {m["platform"]["architecture"]: m["digest"] for m in json.loads(raw)["manifests"]}
    assert listed == {"amd64": images["linux/amd64"][0], "arm64": images["linux/arm64/v8"][0]}
