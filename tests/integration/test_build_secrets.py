"""Build secrets end to end (issue 4, point 4): --secret id=...,src=FILE and id=...,env=VAR reach
RUN --mount=type=secret (as a file, at a custom target, or as an environment variable) and are
never in any blob of the result: every blob of the saved image (layers decompressed), the store's
blobs and cache records, and every other file under the store root are searched for the bytes."""

import gzip
import hashlib
import io
import os
import secrets
import subprocess
import tarfile

import pytest

from e2efix import build, image_files, write_context

DOCKERFILE = """\
FROM busybox AS builder
RUN --mount=type=secret,id=tok cat /run/secrets/tok > /dev/null && \
    sha256sum /run/secrets/tok | cut -d' ' -f1 > /tok.sha && \\
    stat -c '%a %u' /run/secrets/tok > /tok.mode
RUN --mount=type=secret,id=tok,target=/etc/app/token.conf \
    sha256sum /etc/app/token.conf | cut -d' ' -f1 > /target.sha
RUN --mount=type=secret,id=envtok,env=API_TOKEN \
    printf %s "$API_TOKEN" | sha256sum | cut -d' ' -f1 > /env.sha
RUN --mount=type=secret,id=absent test ! -e /run/secrets/absent && echo skipped > /absent
FROM busybox
COPY --from=builder /tok.sha /tok.mode /target.sha /env.sha /absent /out/
RUN --mount=type=secret,id=tok cp /run/secrets/tok /tmp/copied && rm /tmp/copied
"""


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).hexdigest().encode() + b"\n"


def maybe_decompress(data: bytes) -> bytes:
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError):
            return data
    if data[:4] == b"\x28\xb5\x2f\xfd":
        proc = subprocess.run(["zstd", "-q", "-d", "-c"], input=data, capture_output=True)
        return proc.stdout if proc.returncode == 0 else data
    return data


def find_in_archive(data: bytes, needles, where: str) -> list:
    """Every file of a tar (nested layer tars too), decompressed, searched for the needles."""
    found = []
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        for m in tf:
            if not m.isfile():
                continue
            content = maybe_decompress(tf.extractfile(m).read())
            name = f"{where}:{m.name}"
            found += [f"{name} holds secret {i}" for i, n in enumerate(needles) if n in content]
            if content[257:262] == b"ustar":
                found += find_in_archive(content, needles, name)
    return found


def find_in_tree(root, needles) -> list:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        for f in filenames:
            path = os.path.join(dirpath, f)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as fh:
                content = maybe_decompress(fh.read())
            found += [f"{path} holds secret {i}" for i, n in enumerate(needles) if n in content]
    return found


@pytest.fixture
def secret_values():
    # Long random values: no accidental match anywhere.
    return (b"file-secret-" + secrets.token_hex(24).encode(),
            b"env-secret-" + secrets.token_hex(24).encode())


def test_secrets_are_usable_and_never_in_the_image_or_store(store, tmp_path, secret_values):
    file_secret, env_secret = secret_values
    needles = [file_secret, env_secret]
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": DOCKERFILE})
    src = tmp_path / "token.txt"
    src.write_bytes(file_secret)
    run = build(store, ctx, "--secret", f"id=tok,src={src}", "--secret", "id=envtok,env=MY_TOKEN",
                tag="sec:1", env={"MY_TOKEN": env_secret.decode()})
    files = image_files(store, "sec:1")
    assert files["out/tok.sha"] == sha(file_secret)
    assert files["out/target.sha"] == sha(file_secret)
    assert files["out/env.sha"] == sha(env_secret)
    assert files["out/tok.mode"] == b"400 0\n"
    assert files["out/absent"] == b"skipped\n"
    assert not any(n in (run.result.stdout + run.result.stderr).encode() for n in needles)

    # Every blob of the saved image, both formats, layers decompressed.
    for fmt in ("docker", "oci"):
        out = tmp_path / f"sec-{fmt}.tar"
        store.ok("save", "--format", fmt, "-o", out, "sec:1")
        found = find_in_archive(out.read_bytes(), needles, out.name)
        assert found == [], found
    # Every file under the store root: blobs (decompressed), cache records, snapshots, tmp/.
    assert (store.root / "cache").exists(), "no build cache in the store"
    leaked = find_in_tree(store.root, needles)
    assert leaked == [], leaked


def test_secret_in_history_or_config_never_appears(store, tmp_path, secret_values):
    file_secret, _ = secret_values
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        "FROM busybox\nRUN --mount=type=secret,id=tok,env=TOK test -n \"$TOK\"\n")})
    src = tmp_path / "tok"
    src.write_bytes(file_secret)
    build(store, ctx, "--secret", f"id=tok,src={src}", tag="sec:h")
    config = store.blob(store.config_digest("sec:h"))
    assert file_secret not in config
    assert b"TOK=" not in config, "the secret's env variable ended up in the config"
    history = store.ok("history", "--no-trunc", "sec:h")
    assert file_secret.decode() not in history


def test_required_secret_missing_is_an_error(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        "FROM busybox\nRUN --mount=type=secret,id=needed,required=true cat /run/secrets/needed\n")})
    before = store.snapshot()
    res = store.run("build", "--progress", "plain", "-t", "req:1", ctx)
    assert res.rc == 1, res.describe()
    assert "needed" in res.stderr, res.describe()
    assert store.snapshot()["index.json"] == before["index.json"]


def test_secret_changes_do_not_invalidate_the_cache(store, tmp_path):
    """Like BuildKit: a secret's value is not part of the cache key (keys never hold secrets)."""
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        "FROM busybox\n"
        "RUN --mount=type=secret,id=tok test -s /run/secrets/tok && echo ok > /ok\n")})
    src = tmp_path / "tok"
    src.write_text("one")
    build(store, ctx, "--secret", f"id=tok,src={src}", tag="sc:1")
    src.write_text("two")
    again = build(store, ctx, "--secret", f"id=tok,src={src}", tag="sc:2")
    assert again.ran() == [], again.describe_steps()
    assert image_files(store, "sc:2")["ok"] == b"ok\n"
