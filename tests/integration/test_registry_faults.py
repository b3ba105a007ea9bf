"""hull pull / push through the fault-injecting proxy: a dropped connection is resumed, transient
server errors and rate limits are retried, and corrupt or nonsensical replies end in one clear
error line with the store exactly as it was (`hull images`, index.json and every blob file)."""

import pytest

from faultproxy import BLOB, MANIFEST
from registryfix import *  # noqa: F401,F403
from registryfix import assert_store_unchanged, pulled_digest, store_listing


@pytest.fixture
def pushed(client, fault_proxy):
    """busybox pushed through the proxy to <proxy>/faults/busybox:v1, and an empty store to pull
    it into. Returns (puller, ref, manifest digest, layer digest)."""
    client.insecure(fault_proxy.host)
    ref = f"{fault_proxy.host}/faults/busybox:v1"
    client.ok("push", "busybox:latest", ref)
    fault_proxy.reset_log()
    layer = client.manifest("busybox:latest")["layers"][0]
    return (client.other("puller"), ref, client.manifest_desc("busybox:latest")["digest"],
            layer)


def blob_gets(proxy, digest):
    return [s for s in proxy.requests("GET", BLOB) if s.path.endswith(digest)]


def test_dropped_blob_download_is_resumed(pushed, fault_proxy):
    puller, ref, manifest_digest, layer = pushed
    cut = layer["size"] // 3
    fault_proxy.drop_after(cut, pattern=layer["digest"] + "$", times=1)
    out = puller.ok("pull", ref)
    assert pulled_digest(out) == manifest_digest
    gets = blob_gets(fault_proxy, layer["digest"])
    assert len(gets) >= 2, "the download was not tried again"
    # Resuming with Range is what the client should do; a full retry is accepted too, but a
    # Range it sends must start where the bytes stopped.
    for g in gets[1:]:
        if "Range" in g.headers:
            assert g.headers["Range"] == f"bytes={cut}-", g.headers
    puller.ok("system", "fsck")


def test_corrupt_layer_is_refused_and_nothing_is_stored(pushed, fault_proxy):
    puller, ref, _, layer = pushed
    fault_proxy.corrupt(pattern=layer["digest"] + "$")
    before = store_listing(puller)
    line = puller.fail("pull", ref)
    # The gzip check may notice the flipped byte before the digest does.
    assert any(w in line.lower() for w in ("digest", "corrupt", "checksum")), line
    assert_store_unchanged(puller, before)


def test_corrupt_config_is_a_digest_mismatch_and_nothing_is_stored(client, pushed, fault_proxy):
    puller, ref, _, _ = pushed
    config = client.config_digest("busybox:latest")
    fault_proxy.corrupt(pattern=config + "$")
    before = store_listing(puller)
    line = puller.fail("pull", ref)
    assert "digest" in line.lower(), line
    assert_store_unchanged(puller, before)


def test_server_error_then_success_is_retried(pushed, fault_proxy):
    puller, ref, manifest_digest, layer = pushed
    fault_proxy.reply("GET", MANIFEST, 500, body=b"oops", times=1)
    fault_proxy.reply("GET", layer["digest"] + "$", 503, times=1)
    out = puller.ok("pull", ref)
    assert pulled_digest(out) == manifest_digest
    assert len(blob_gets(fault_proxy, layer["digest"])) >= 2


def test_rate_limit_with_retry_after_is_honoured(pushed, fault_proxy):
    puller, ref, manifest_digest, layer = pushed
    fault_proxy.reply("GET", layer["digest"] + "$", 429, headers={"Retry-After": "1"},
                      body=b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}',
                      times=1)
    out = puller.ok("pull", ref)
    assert pulled_digest(out) == manifest_digest
    statuses = [g.status for g in blob_gets(fault_proxy, layer["digest"])]
    assert statuses[0] == 429 and statuses[-1] == 200, statuses


def test_persistent_server_error_gives_up_with_a_clear_line(pushed, fault_proxy):
    puller, ref, _, layer = pushed
    fault_proxy.reply("GET", layer["digest"] + "$", 500, body=b"broken")
    before = store_listing(puller)
    line = puller.fail("pull", ref, timeout=120)
    assert "500" in line or "server error" in line.lower(), line
    assert len(blob_gets(fault_proxy, layer["digest"])) >= 2, "no retry before giving up"
    assert_store_unchanged(puller, before)


def test_push_retries_a_failed_manifest_upload(client, fault_proxy):
    client.insecure(fault_proxy.host)
    fault_proxy.reply("PUT", MANIFEST, 502, times=1)
    client.ok("push", "busybox:latest", f"{fault_proxy.host}/retry/busybox:v1")
    assert [s.status for s in fault_proxy.requests("PUT", MANIFEST)] == [502, 201]


def test_html_manifest_reply_is_one_clear_line(pushed, fault_proxy):
    puller, ref, _, _ = pushed
    fault_proxy.reply("", MANIFEST, 200, body=b"<!DOCTYPE html><html><body>login</body></html>",
                      headers={"Content-Type": "text/html; charset=utf-8"})
    before = store_listing(puller)
    line = puller.fail("pull", ref)
    assert "<html" not in line.lower() and "<!doctype" not in line.lower(), line
    assert_store_unchanged(puller, before)


def test_401_without_challenge_is_one_clear_line(pushed, fault_proxy):
    puller, ref, _, _ = pushed
    fault_proxy.reply("", r"^/v2/", 401, body=b'{"errors":[{"code":"UNAUTHORIZED",'
                      b'"message":"authentication required"}]}',
                      headers={"Content-Type": "application/json"})
    before = store_listing(puller)
    line = puller.fail("pull", ref)
    assert "unauthorized" in line.lower() or "authentication" in line.lower() or "401" in line, line
    assert_store_unchanged(puller, before)


def test_blob_redirect_to_another_host_is_followed(pushed, fault_proxy):
    # Registries hand blob downloads to storage elsewhere with a 307; here the redirect points
    # past the proxy, straight at the registry (another port: another origin).
    puller, ref, manifest_digest, layer = pushed
    target = f"http://{fault_proxy.upstream}/v2/faults/busybox/blobs/{layer['digest']}"
    fault_proxy.reply("GET", layer["digest"] + "$", 307, headers={"Location": target})
    out = puller.ok("pull", ref)
    assert pulled_digest(out) == manifest_digest
    assert [g.status for g in blob_gets(fault_proxy, layer["digest"])] == [307]
    puller.ok("system", "fsck")
