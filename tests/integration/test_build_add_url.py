"""ADD of an https URL (docs/copy-add.md): downloaded against a local https server on 127.0.0.1
whose certificate a private CA signs (passed with SSL_CERT_FILE / CURL_CA_BUNDLE), verified with
--checksum, named after the URL path, mode 0600, mtime from Last-Modified, never extracted; the
step's cache key follows the downloaded content."""

import hashlib
import http.server
import io
import os
import shutil
import ssl
import tarfile
import threading

import pytest

from buildfix import build, build_fail, image_files, image_tree, layer_tars, write_context
from registryfix import make_ca_and_server_cert

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="hull build runs as root")

LAST_MODIFIED = 784111777  # Sun, 06 Nov 1994 08:49:37 GMT


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class HttpsServer:
    """A static https server over `root` on 127.0.0.1 (port 0), its certificate signed by `ca`."""

    def __init__(self, root, cert, key):
        self.root = root
        handler = lambda *a, **kw: _Quiet(*a, directory=str(root), **kw)  # noqa: E731
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"https://127.0.0.1:{self.httpd.server_address[1]}/{path.lstrip('/')}"

    def put(self, name, data: bytes):
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (LAST_MODIFIED, LAST_MODIFIED))

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def tls(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    ca, cert, key = make_ca_and_server_cert(tmp_path / "pki")
    server = HttpsServer(tmp_path / "www", cert, key)
    (tmp_path / "www").mkdir(exist_ok=True)
    yield server, {"SSL_CERT_FILE": str(ca), "CURL_CA_BUNDLE": str(ca)}
    server.stop()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_gz(files: dict) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_add_https_with_checksum(store, tmp_path, tls):
    server, env = tls
    weights = os.urandom(4096)
    archive = tar_gz({"inner.txt": b"inside"})
    server.put("files/model.bin", weights)
    server.put("files/data.tar.gz", archive)
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        "FROM busybox\n"
        f"ADD --checksum={sha256(weights)} {server.url('files/model.bin')} /models/\n"
        f"ADD {server.url('files/data.tar.gz?version=2')} /dl/\n"
        f"ADD {server.url('files/model.bin')} /exact-name\n")})
    build(store, ctx, tag="t:1", env=env)
    files = image_files(store, "t:1")
    assert files["models/model.bin"] == weights
    assert files["dl/data.tar.gz"] == archive, "a downloaded archive is never extracted"
    assert "dl/inner.txt" not in files
    assert files["exact-name"] == weights
    tree = image_tree(store, "t:1")
    assert tree["models/model.bin"].mode & 0o7777 == 0o600
    assert (tree["models/model.bin"].uid, tree["models/model.bin"].gid) == (0, 0)
    mtimes = {}
    for data in layer_tars(store, "t:1"):
        with tarfile.open(fileobj=io.BytesIO(data)) as tf:
            for m in tf:
                mtimes[m.name.lstrip("./")] = m.mtime
    assert mtimes.get("models/model.bin") == LAST_MODIFIED, "mtime comes from Last-Modified"


def test_checksum_mismatch_names_both_digests(store, tmp_path, tls):
    server, env = tls
    server.put("w.bin", b"real content")
    wrong = "sha256:" + "0" * 64
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        f"FROM busybox\nADD --checksum={wrong} {server.url('w.bin')} /w.bin\n")})
    res = build_fail(store, ctx, env=env)
    assert wrong in res.stderr
    assert sha256(b"real content") in res.stderr
    assert "checksum mismatch" in res.stderr


def test_untrusted_certificate_is_refused(store, tmp_path, tls):
    server, _ = tls
    server.put("w.bin", b"x")
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        f"FROM busybox\nADD {server.url('w.bin')} /w.bin\n")})
    env = {"SSL_CERT_FILE": "/nonexistent-ca.pem", "CURL_CA_BUNDLE": "/nonexistent-ca.pem"}
    build_fail(store, ctx, env=env)


def test_cache_follows_the_downloaded_content(store, tmp_path, tls):
    server, env = tls
    server.put("app.txt", b"version 1\n")
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        f"FROM busybox\nADD {server.url('app.txt')} /app.txt\nRUN cat /app.txt > /copy.txt\n")})
    first = build(store, ctx, tag="t:1", env=env)
    assert any(s.startswith("ADD") for s in first.ran())
    again = build(store, ctx, tag="t:1", env=env)
    assert not again.ran(), "same content: every step comes from the cache\n" + \
        again.describe_steps()
    server.put("app.txt", b"version 2\n")
    changed = build(store, ctx, tag="t:2", env=env)
    assert any(s.startswith("ADD") for s in changed.ran()), changed.describe_steps()
    assert any(s.startswith("RUN") for s in changed.ran()), changed.describe_steps()
    assert image_files(store, "t:2")["copy.txt"] == b"version 2\n"


def test_git_url_and_copy_of_url_are_refused(store, tmp_path, tls):
    server, env = tls
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        "FROM busybox\nADD https://127.0.0.1:9/repo.git /src\n")})
    res = build_fail(store, ctx, env=env)
    assert "git" in res.stderr and "not supported" in res.stderr
    server.put("w.bin", b"x")
    ctx = write_context(tmp_path / "ctx2", {"Dockerfile": (
        f"FROM busybox\nCOPY {server.url('w.bin')} /w.bin\n")})
    res = build_fail(store, ctx, env=env)
    assert "URL" in res.stderr
