"""hull login / logout and authenticated push / pull: htpasswd basic auth (credentials saved in
config.json in Docker's shape, mode 0600, unknown keys kept), a credsStore helper program on PATH,
and bearer tokens from a token server that can deny a scope."""

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from registryfix import *  # noqa: F401,F403
from registryfix import (PASSWORD, USER, assert_store_unchanged, pulled_digest, pushed_digest,
                         store_listing)

CRED_HELPER = """#!/usr/bin/python3
# docker-credential-hulltest: a credential helper for the tests, keeping secrets in a JSON file
# ($HULLTEST_CREDS_FILE) and logging each call to $HULLTEST_CREDS_FILE.log.
import json, os, sys

path = os.environ["HULLTEST_CREDS_FILE"]
op, data = sys.argv[1], sys.stdin.read()
key = lambda url: url.strip().removeprefix("https://").removeprefix("http://").rstrip("/")
creds = json.load(open(path)) if os.path.exists(path) else {}
with open(path + ".log", "a") as log:
    log.write(op + " " + (key(json.loads(data)["ServerURL"]) if op == "store" else key(data))
              + "\\n")
if op == "get":
    if key(data) not in creds:
        print("credentials not found in native keychain")
        sys.exit(1)
    print(json.dumps({"ServerURL": data.strip(), **creds[key(data)]}))
elif op == "store":
    c = json.loads(data)
    creds[key(c["ServerURL"])] = {"Username": c["Username"], "Secret": c["Secret"]}
elif op == "erase":
    creds.pop(key(data), None)
elif op == "list":
    print(json.dumps({k: v["Username"] for k, v in creds.items()}))
if op in ("store", "erase"):
    json.dump(creds, open(path, "w"))
"""


def auth_entry(user=USER, password=PASSWORD):
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def config_path(client) -> Path:
    return client.docker_config / "config.json"


# --- htpasswd ---

def test_pull_without_credentials_is_one_clear_line(client, htpasswd_registry):
    client.insecure(htpasswd_registry.host)
    before = store_listing(client)
    line = client.fail("push", "busybox:latest", f"{htpasswd_registry.host}/auth/busybox:v1")
    assert any(w in line.lower() for w in ("unauthorized", "authentication", "401", "login")), line
    line = client.fail("pull", f"{htpasswd_registry.host}/auth/busybox:v1")
    assert any(w in line.lower() for w in ("unauthorized", "authentication", "401", "login")), line
    assert_store_unchanged(client, before)


def test_login_saves_credentials_in_dockers_shape(client, htpasswd_registry):
    reg = htpasswd_registry
    client.insecure(reg.host)
    config_path(client).write_text(json.dumps({"auths": {}, "psFormat": "table {{.ID}}",
                                               "proxies": {"default": {}}}))
    out = client.ok("login", "-u", USER, "-p", PASSWORD, reg.host)
    assert "Login Succeeded" in out, out
    cfg = client.config_json()
    assert cfg["auths"][reg.host]["auth"] == auth_entry()
    assert cfg["psFormat"] == "table {{.ID}}" and cfg["proxies"] == {"default": {}}, (
        "login dropped keys it does not know")
    assert stat.S_IMODE(config_path(client).stat().st_mode) == 0o600

    ref = f"{reg.host}/auth/busybox:v1"
    digest = client.manifest_desc("busybox:latest")["digest"]
    assert pushed_digest(client.ok("push", "busybox:latest", ref), "v1") == digest
    assert pulled_digest(client.other("puller").ok("pull", ref)) == digest

    client.ok("logout", reg.host)
    cfg = client.config_json()
    assert reg.host not in cfg.get("auths", {}), cfg
    assert cfg["psFormat"] == "table {{.ID}}"
    client.other("after-logout").fail("pull", ref)


def test_login_with_password_stdin(client, htpasswd_registry):
    client.insecure(htpasswd_registry.host)
    client.ok("login", "-u", USER, "--password-stdin", htpasswd_registry.host,
              input=(PASSWORD + "\n").encode())
    assert client.config_json()["auths"][htpasswd_registry.host]["auth"] == auth_entry()


def test_wrong_password_is_refused_and_config_unchanged(client, htpasswd_registry):
    client.insecure(htpasswd_registry.host)
    original = json.dumps({"auths": {"other.example:5000": {"auth": auth_entry("a", "b")}},
                           "detachKeys": "ctrl-e,e"}, indent="\t").encode()
    config_path(client).write_bytes(original)
    line = client.fail("login", "-u", USER, "--password-stdin", htpasswd_registry.host,
                       input=b"wrong\n")
    assert any(w in line.lower() for w in ("unauthorized", "incorrect", "denied", "401",
                                           "authentication")), line
    assert config_path(client).read_bytes() == original


def test_wrong_password_with_no_config_writes_none(client, htpasswd_registry):
    client.insecure(htpasswd_registry.host)
    client.fail("login", "-u", USER, "--password-stdin", htpasswd_registry.host,
                input=b"wrong\n")
    assert not config_path(client).exists()


def test_saved_credentials_in_config_are_used(client, htpasswd_registry):
    reg = htpasswd_registry
    client.insecure(reg.host)
    config_path(client).write_text(json.dumps({"auths": {reg.host: {"auth": auth_entry()}}}))
    client.ok("push", "busybox:latest", f"{reg.host}/auth/saved:v1")
    assert "v1" in reg.tags("auth/saved", auth=(USER, PASSWORD))


@pytest.fixture
def cred_helper(client, tmp_path):
    """docker-credential-hulltest on PATH, keeping secrets in a file of its own."""
    bindir = tmp_path / "helper-bin"
    bindir.mkdir()
    helper = bindir / "docker-credential-hulltest"
    helper.write_text(CRED_HELPER)
    helper.chmod(0o755)
    creds = tmp_path / "helper-creds.json"
    client.extra["PATH"] = f"{bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}"
    client.extra["HULLTEST_CREDS_FILE"] = str(creds)
    return creds


def helper_calls(creds: Path) -> list:
    log = Path(str(creds) + ".log")
    return log.read_text().splitlines() if log.exists() else []


def test_creds_store_helper_is_used_for_pull_login_and_logout(client, htpasswd_registry,
                                                              cred_helper):
    reg = htpasswd_registry
    client.insecure(reg.host)
    config_path(client).write_text(json.dumps({"credsStore": "hulltest"}))
    cred_helper.write_text(json.dumps({reg.host: {"Username": USER, "Secret": PASSWORD}}))
    client.ok("push", "busybox:latest", f"{reg.host}/helper/busybox:v1")
    assert f"get {reg.host}" in helper_calls(cred_helper)

    cred_helper.unlink()
    client.ok("login", "-u", USER, "-p", PASSWORD, reg.host)
    assert f"store {reg.host}" in helper_calls(cred_helper)
    cfg = client.config_json()
    assert cfg["credsStore"] == "hulltest"
    assert "auth" not in cfg.get("auths", {}).get(reg.host, {}), (
        "the secret went into config.json although a credsStore is set")
    assert json.loads(cred_helper.read_text())[reg.host]["Secret"] == PASSWORD

    client.ok("logout", reg.host)
    assert f"erase {reg.host}" in helper_calls(cred_helper)
    assert reg.host not in json.loads(cred_helper.read_text())


def test_cred_helpers_entry_wins_for_its_registry(client, htpasswd_registry, cred_helper):
    reg = htpasswd_registry
    client.insecure(reg.host)
    config_path(client).write_text(json.dumps({
        "auths": {reg.host: {"auth": auth_entry(USER, "stale")}},
        "credHelpers": {reg.host: "hulltest"}}))
    cred_helper.write_text(json.dumps({reg.host: {"Username": USER, "Secret": PASSWORD}}))
    client.ok("push", "busybox:latest", f"{reg.host}/helper/credhelpers:v1")
    assert f"get {reg.host}" in helper_calls(cred_helper)


# --- bearer tokens ---

def test_token_login_push_and_pull(client, token_registry, tokens):
    reg = token_registry
    client.insecure(reg.host)
    out = client.ok("login", "-u", USER, "-p", PASSWORD, reg.host)
    assert "Login Succeeded" in out, out
    ref = f"{reg.host}/tok/busybox:v1"
    digest = client.manifest_desc("busybox:latest")["digest"]
    assert pushed_digest(client.ok("push", "busybox:latest", ref), "v1") == digest
    asked = [s for user, scopes, _ in tokens.requests if user == USER for s in scopes]
    assert any(s.startswith("repository:tok/busybox:") and "push" in s for s in asked), asked
    assert pulled_digest(client.other("puller").ok("pull", ref)) == digest


def test_token_push_to_a_second_repo(client, token_registry, tokens):
    # A cross-repository mount needs pull access to the source repository as well: whatever the
    # client asks for, the push must succeed and the manifest arrive intact.
    reg = token_registry
    client.insecure(reg.host)
    client.ok("login", "-u", USER, "--password-stdin", reg.host, input=PASSWORD.encode())
    client.ok("push", "busybox:latest", f"{reg.host}/tok/mount-src:v1")
    out = client.ok("push", "busybox:latest", f"{reg.host}/tok/mount-dst:v1")
    assert pushed_digest(out, "v1") == client.manifest_desc("busybox:latest")["digest"]
    assert "v1" in reg.tags("tok/mount-dst", auth=(USER, PASSWORD))


def test_token_login_with_wrong_password_is_refused(client, token_registry):
    client.insecure(token_registry.host)
    line = client.fail("login", "-u", USER, "--password-stdin", token_registry.host,
                       input=b"wrong\n")
    assert any(w in line.lower() for w in ("unauthorized", "incorrect", "denied", "401",
                                           "authentication")), line
    assert client.config_json() is None


def test_denied_scope_is_one_clear_line(client, token_registry, tokens):
    reg = token_registry
    client.insecure(reg.host)
    client.ok("login", "-u", USER, "-p", PASSWORD, reg.host)
    tokens.deny("tok/forbidden")
    line = client.fail("push", "busybox:latest", f"{reg.host}/tok/forbidden:v1")
    assert any(w in line.lower() for w in ("denied", "unauthorized", "insufficient", "403",
                                           "401", "forbidden")), line
    assert reg.stored_tags("tok/forbidden") == []

    client.ok("push", "busybox:latest", f"{reg.host}/tok/pullonly:v1")
    tokens.deny("tok/pullonly", "pull")
    puller = client.other("puller")
    before = store_listing(puller)
    line = puller.fail("pull", f"{reg.host}/tok/pullonly:v1")
    assert any(w in line.lower() for w in ("denied", "unauthorized", "insufficient", "403",
                                           "401", "forbidden")), line
    assert_store_unchanged(puller, before)


def test_anonymous_pull_from_token_registry_is_refused(client, token_registry):
    client.insecure(token_registry.host)
    before = store_listing(client)
    client.fail("pull", f"{token_registry.host}/tok/busybox:v1")
    assert_store_unchanged(client, before)
