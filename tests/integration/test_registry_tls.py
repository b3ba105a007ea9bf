"""hull against a TLS registry whose certificate comes from a CA made for the test: trusted through
SSL_CERT_FILE it works, without the CA it fails with one clear TLS line, and --tls-verify=false
works without the CA."""

from registryfix import *  # noqa: F401,F403
from registryfix import pulled_digest, pushed_digest, store_listing, assert_store_unchanged


def test_push_and_pull_trusting_the_test_ca(client, tls_registry, registry_ca):
    client.extra["SSL_CERT_FILE"] = str(registry_ca[0])
    ref = f"{tls_registry.host}/tls/busybox:v1"
    digest = client.manifest_desc("busybox:latest")["digest"]
    assert pushed_digest(client.ok("push", "busybox:latest", ref), "v1") == digest
    puller = client.other("puller")
    assert pulled_digest(puller.ok("pull", ref)) == digest
    puller.ok("system", "fsck")


def test_curl_ca_bundle_is_honoured_too(client, tls_registry, registry_ca):
    client.extra["CURL_CA_BUNDLE"] = str(registry_ca[0])
    client.ok("push", "busybox:latest", f"{tls_registry.host}/tls/curl-bundle:v1")


def test_unknown_ca_is_one_clear_tls_line(client, tls_registry):
    before = store_listing(client)
    line = client.fail("push", "busybox:latest", f"{tls_registry.host}/tls/untrusted:v1")
    words = ("certificate", "tls", "ssl", "x509", "verify")
    assert any(w in line.lower() for w in words), line
    assert tls_registry.tags("tls/untrusted") == []
    puller = client.other("puller")
    line = puller.fail("pull", f"{tls_registry.host}/tls/untrusted:v1")
    assert any(w in line.lower() for w in words), line
    assert_store_unchanged(client, before)


def test_tls_verify_false_skips_verification(client, tls_registry):
    ref = f"{tls_registry.host}/tls/noverify:v1"
    client.ok("push", "--tls-verify=false", "busybox:latest", ref)
    assert "v1" in tls_registry.tags("tls/noverify")
    puller = client.other("puller")
    out = puller.ok("pull", "--tls-verify=false", ref)
    assert pulled_digest(out) == client.manifest_desc("busybox:latest")["digest"]


def test_insecure_registry_setting_skips_verification(client, tls_registry):
    client.insecure(tls_registry.host)
    client.ok("push", "busybox:latest", f"{tls_registry.host}/tls/insecure:v1")
