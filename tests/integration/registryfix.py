"""Registries for the push/pull tests: Debian's docker-registry (distribution 2.8) started by hand
on 127.0.0.1 with a config and storage of its own, in four variants: plain HTTP, TLS with a CA made
here by the openssl CLI, htpasswd basic auth (bcrypt, from apache2-utils) and bearer tokens from
tokenserver.py. Each registry is stopped by its PID at teardown; nothing listens on any other
address. Also a fault-injecting proxy (faultproxy.py) in front of the plain registry, and helpers
that push and inspect with skopeo, so the fixtures are proven independently of hull.

Import the fixtures into a test file with `from registryfix import *  # noqa: F401,F403`."""

import base64
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from faultproxy import FaultProxy
from hulltest import Hull, REF_NAME, sha256_bytes, tar_bytes, gzip_bytes

REGISTRY_BIN = "/usr/bin/docker-registry"
USER, PASSWORD = "hulltest", "s3cret-pass"

CONFIG = """\
version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
  redirect:
    disable: true
http:
  addr: 127.0.0.1:{port}
  secret: hull-test-secret
  headers:
    X-Content-Type-Options: [nosniff]
    X-Hull-Test-Registry: [{marker}]
{tls}health:
  storagedriver:
    enabled: false
{auth}"""


# Resolved here, not in the forked child: a child of a threaded process may only make simple calls.
_prctl = ctypes.CDLL(None, use_errno=True).prctl
PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """Runs in the registry's child process: SIGTERM it if the test process dies without its
    teardown (killed by a timeout), so no registry outlives the tests."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    os.setsid()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_tool(*args, timeout=300, check=True, env=None, input=None):
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout,
                          env=env, input=input, stdin=None if input is not None else
                          subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))}: exit status {proc.returncode}\n"
                             f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
    return proc


def make_ca_and_server_cert(directory: Path):
    """A CA and a server certificate it signs for IP:127.0.0.1 and DNS:localhost. Returns
    (ca.crt, server.crt, server.key)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    ca_key, ca_crt = d / "ca.key", d / "ca.crt"
    key, csr, crt, ext = d / "server.key", d / "server.csr", d / "server.crt", d / "server.ext"
    run_tool("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key,
             "-out", ca_crt, "-days", "2", "-subj", "/CN=hull test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run_tool("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
             "-subj", "/CN=127.0.0.1")
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                   "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                   "extendedKeyUsage=serverAuth\n")
    run_tool("openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key,
             "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext)
    return ca_crt, crt, key


class Registry:
    """One docker-registry process. kind: "http", "tls", "htpasswd" or "token"."""

    def __init__(self, directory: Path, kind="http", ca=None, token_server=None):
        self.dir = Path(directory)
        self.kind = kind
        self.ca = ca  # (ca.crt, server.crt, server.key) for "tls"
        self.token_server = token_server
        self.proc = None
        self.port = None
        self.marker = os.urandom(8).hex()  # every answer of this registry carries it
        self.log = self.dir / "registry.log"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def scheme(self) -> str:
        return "https" if self.kind == "tls" else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    @property
    def storage(self) -> Path:
        return self.dir / "storage"

    def _config(self) -> str:
        tls = auth = ""
        if self.kind == "tls":
            _, crt, key = self.ca
            tls = f"  tls:\n    certificate: {crt}\n    key: {key}\n"
        elif self.kind == "htpasswd":
            htpasswd = self.dir / "htpasswd"
            line = run_tool("htpasswd", "-Bbn", USER, PASSWORD).stdout.strip()
            htpasswd.write_text(line + "\n")
            auth = f"auth:\n  htpasswd:\n    realm: hull-test\n    path: {htpasswd}\n"
        elif self.kind == "token":
            ts = self.token_server
            auth = (f"auth:\n  token:\n    realm: {ts.realm}\n    service: {ts.service}\n"
                    f"    issuer: hull-test-token-issuer\n    rootcertbundle: {ts.cert_path}\n")
        return CONFIG.format(storage=self.storage, port=self.port, tls=tls, auth=auth,
                             marker=self.marker)

    def start(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        for _ in range(5):  # a port picked free may be taken before the registry binds it
            self.port = free_port()
            cfg = self.dir / "config.yml"
            cfg.write_text(self._config())
            log = open(self.log, "ab")
            self.proc = subprocess.Popen([REGISTRY_BIN, "serve", str(cfg)],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         preexec_fn=_die_with_parent)
            log.close()
            if self._wait_ready():
                return self
            self.stop()
        raise AssertionError(f"docker-registry did not start:\n{self.log.read_text()[-3000:]}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                status, headers, _ = self.request("GET", "/v2/")
                # Another test's registry may answer on a port that was free a moment ago.
                if status in (200, 401) and headers.get("X-Hull-Test-Registry") == self.marker:
                    return True
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.05)
        return False

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.proc = None

    def wipe(self):
        """Empties the storage (the registry keeps running; distribution reads it on demand)."""
        shutil.rmtree(self.storage, ignore_errors=True)

    def ssl_context(self):
        if self.kind != "tls":
            return None
        return ssl.create_default_context(cafile=str(self.ca[0]))

    def request(self, method, path, headers=None, data=None, auth=None):
        """A plain HTTP request to the registry, with basic credentials (user, password) if
        given. Returns (status, headers, body)."""
        headers = dict(headers or {})
        if auth:
            headers["Authorization"] = "Basic " + base64.b64encode(
                f"{auth[0]}:{auth[1]}".encode()).decode()
        req = urllib.request.Request(self.url + path, method=method, headers=headers, data=data)
        try:
            with urllib.request.urlopen(req, timeout=10, context=self.ssl_context()) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def tags(self, repo, auth=None) -> list:
        """The repository's tags as the registry lists them ([] when it has none). With auth, a
        token registry is asked with a bearer token for repository:REPO:pull."""
        headers = {}
        if auth and self.kind == "token":
            headers["Authorization"] = "Bearer " + self.bearer_token(repo, auth)
            auth = None
        status, _, body = self.request("GET", f"/v2/{repo}/tags/list", headers, auth=auth)
        if status == 404:
            return []
        assert status == 200, f"GET /v2/{repo}/tags/list: HTTP {status}: {body[:300]!r}"
        return json.loads(body).get("tags") or []

    def stored_tags(self, repo) -> list:
        """The repository's tags as distribution keeps them on disk, past any auth."""
        tags = self.storage / "docker/registry/v2/repositories" / repo / "_manifests/tags"
        return sorted(p.name for p in tags.iterdir()) if tags.is_dir() else []

    def bearer_token(self, repo, auth) -> str:
        ts = self.token_server
        query = urllib.parse.urlencode({"service": ts.service, "scope": f"repository:{repo}:pull"})
        basic = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        req = urllib.request.Request(f"{ts.realm}?{query}",
                                     headers={"Authorization": "Basic " + basic})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())["token"]

    def skopeo_flags(self, prefix="") -> list:
        """skopeo's TLS and credential flags for this registry; prefix is "", "src-" or
        "dest-" (inspect takes none, copy one per side)."""
        flags = ([f"--{prefix}cert-dir", str(self.cert_dir())] if self.kind == "tls"
                 else [f"--{prefix}tls-verify=false"])
        if self.kind in ("htpasswd", "token"):
            flags += [f"--{prefix}creds", f"{USER}:{PASSWORD}"]
        return flags

    def cert_dir(self) -> Path:
        """A directory in containers-certs.d's shape (ca.crt) for skopeo's --*-cert-dir."""
        d = self.dir / "certs.d"
        if not d.exists():
            d.mkdir()
            shutil.copy(self.ca[0], d / "ca.crt")
        return d


def skopeo_push(registry: Registry, src: str, dest_ref: str, all_images=False):
    """skopeo copy SRC docker://REGISTRY/DEST_REF (oci:, oci-archive: or docker-archive: SRC)."""
    need_skopeo()
    run_tool("skopeo", "copy", "-q", *(["--all"] if all_images else []),
             *registry.skopeo_flags("dest-"), src, f"docker://{registry.host}/{dest_ref}")


def skopeo_pull(registry: Registry, ref: str, dest: str, all_images=False):
    """skopeo copy docker://REGISTRY/REF DEST."""
    need_skopeo()
    run_tool("skopeo", "copy", "-q", *(["--all"] if all_images else []),
             *registry.skopeo_flags("src-"), f"docker://{registry.host}/{ref}", dest)


def skopeo_inspect_raw(registry: Registry, ref: str) -> bytes:
    """The manifest bytes the registry serves for ref, as skopeo reads them."""
    need_skopeo()
    proc = subprocess.run(["skopeo", "inspect", "--raw", *registry.skopeo_flags(),
                           f"docker://{registry.host}/{ref}"],
                          capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise AssertionError(f"skopeo inspect --raw {ref}: {proc.stderr.decode()}")
    return proc.stdout


def need_skopeo():
    if shutil.which("skopeo") is None:
        pytest.skip("skopeo is not installed (scripts/setup.sh installs it)")


def need_registry():
    if not os.access(REGISTRY_BIN, os.X_OK):
        pytest.skip("docker-registry is not installed (scripts/setup.sh installs it)")


def need_hull_registry_client(hull_bin):
    """Skips when this hull has no push/pull yet, so the fixtures' own tests still run."""
    proc = subprocess.run([str(hull_bin), "--help"], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=30)
    commands = {line.split()[0] for line in proc.stdout.splitlines() if line.startswith("  ")
                and line.strip()}
    if not {"push", "pull", "login", "logout"} <= commands:
        pytest.skip("this hull has no push, pull, login and logout commands")


def start_registry(directory, kind="http", **kw):
    need_registry()
    return Registry(directory, kind, **kw).start()


class ClientHull(Hull):
    """hull with a DOCKER_CONFIG of its own (never the host's ~/.docker) and environment settings
    for the registries under test (HULL_INSECURE_REGISTRIES, SSL_CERT_FILE)."""

    def __init__(self, binary, root: Path, docker_config: Path, extra=None):
        super().__init__(binary, root)
        self.docker_config = Path(docker_config)
        self.extra = {"DOCKER_CONFIG": str(docker_config), **(extra or {})}

    def env(self, extra=None):
        return super().env({**self.extra, **(extra or {})})

    def insecure(self, *hosts):
        """Lets hull speak plain HTTP (or unverified TLS) to these host:port registries."""
        self.extra["HULL_INSECURE_REGISTRIES"] = ",".join(hosts)
        return self

    def other(self, name) -> "ClientHull":
        """Another store with the same DOCKER_CONFIG and settings."""
        return ClientHull(self.binary, self.root.parent / name, self.docker_config, self.extra)

    def config_json(self):
        path = self.docker_config / "config.json"
        return json.loads(path.read_text()) if path.exists() else None

    def manifest_digests(self) -> set:
        return {m["digest"] for m in self.index()["manifests"]} if (
            self.root / "index.json").exists() else set()

    def entry_by_digest(self, digest) -> dict:
        found = [m for m in self.index()["manifests"] if m["digest"] == digest]
        assert found, f"no image with manifest {digest} in {self.index()}"
        return found[0]


def pushed_digest(output: str, tag: str) -> str:
    """The manifest digest from push's last line "<tag>: digest: sha256:... size: N"."""
    m = re.search(rf"^{re.escape(tag)}: digest: (sha256:[0-9a-f]{{64}}) size: (\d+)$", output,
                  re.M)
    assert m, f"push did not print '{tag}: digest: sha256:... size: N':\n{output}"
    return m.group(1)


def pulled_digest(output: str) -> str:
    m = re.search(r"^Digest: (sha256:[0-9a-f]{64})$", output, re.M)
    assert m, f"pull did not print 'Digest: sha256:...':\n{output}"
    return m.group(1)


def assert_store_unchanged(client: Hull, before, what="the failed command"):
    after = store_listing(client)
    if after == before:
        return
    old, new = before[1], after[1]
    added = sorted(set(new["blobs"]) - set(old["blobs"]))
    removed = sorted(set(old["blobs"]) - set(new["blobs"]))
    raise AssertionError(
        f"{what} changed the store:\n  images before: {before[0]!r}\n  images after: {after[0]!r}"
        f"\n  index.json changed: {old['index.json'] != new['index.json']}"
        f"\n  blobs added: {added}\n  blobs removed: {removed}"
        f"\n  tmp before/after: {old['tmp']} / {new['tmp']}")


def store_listing(client: Hull):
    """What a failed pull must leave as it was: `hull images`, index.json and the blob files."""
    images = client.run("images", "--no-trunc", "--digests", "--format",
                        "{{.Repository}} {{.Tag}} {{.Digest}} {{.ID}} {{.Size}}").stdout
    return images, client.snapshot()


# --- a multi-platform image, written as an OCI layout for skopeo copy --all ---

def write_multiarch_layout(directory: Path, ref_name="multi", platforms=(("linux", "amd64", None),
                                                                        ("linux", "arm64", "v8"))):
    """An OCI layout whose entry ref_name is an image index of one single-layer image per
    platform; each layer holds /platform.txt naming its platform. Returns {platform string:
    (manifest digest, config digest)} and the index digest."""
    d = Path(directory)
    blobs = d / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def put(data: bytes) -> dict:
        digest = sha256_bytes(data)
        (blobs / digest.split(":")[1]).write_bytes(data)
        return {"digest": digest, "size": len(data)}

    entries, out = [], {}
    for os_name, arch, variant in platforms:
        plat = "/".join(p for p in (os_name, arch, variant) if p)
        layer_tar = tar_bytes([("platform.txt", plat.encode() + b"\n")])
        layer = put(gzip_bytes(layer_tar))
        config = {"architecture": arch, "os": os_name, "config": {"Cmd": ["/bin/sh"]},
                  "created": "2023-11-14T22:13:20Z",
                  "rootfs": {"type": "layers", "diff_ids": [sha256_bytes(layer_tar)]}}
        if variant:
            config["variant"] = variant
        cfg = put(json.dumps(config, sort_keys=True).encode())
        manifest = put(json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **cfg},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}],
        }, sort_keys=True).encode())
        platform = {"architecture": arch, "os": os_name, **({"variant": variant} if variant
                                                             else {})}
        entries.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", **manifest,
                        "platform": platform})
        out[plat] = (manifest["digest"], cfg["digest"])
    index = put(json.dumps({"schemaVersion": 2,
                            "mediaType": "application/vnd.oci.image.index.v1+json",
                            "manifests": entries}, sort_keys=True).encode())
    (d / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (d / "index.json").write_text(json.dumps({
        "schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
                                           **index, "annotations": {REF_NAME: ref_name}}]}))
    return out, index["digest"]


# --- fixtures ---

@pytest.fixture(scope="session")
def registry_ca(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (scripts/setup.sh installs it)")
    return make_ca_and_server_cert(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="session")
def http_registry_session(tmp_path_factory):
    reg = start_registry(tmp_path_factory.mktemp("registry-http"))
    yield reg
    reg.stop()


@pytest.fixture
def http_registry(tmp_path):
    """A plain-HTTP registry with empty storage, for tests whose outcome depends on what the
    registry already holds."""
    reg = start_registry(tmp_path / "registry")
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def tls_registry(tmp_path_factory, registry_ca):
    reg = start_registry(tmp_path_factory.mktemp("registry-tls"), "tls", ca=registry_ca)
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def htpasswd_registry(tmp_path_factory):
    if shutil.which("htpasswd") is None:
        pytest.skip("htpasswd is not installed (package apache2-utils; scripts/setup.sh)")
    reg = start_registry(tmp_path_factory.mktemp("registry-htpasswd"), "htpasswd")
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def token_server(tmp_path_factory):
    from tokenserver import TokenServer
    ts = TokenServer(tmp_path_factory.mktemp("tokens"), "hull-test-registry",
                     {USER: PASSWORD}).start()
    yield ts
    ts.stop()


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory, token_server):
    reg = start_registry(tmp_path_factory.mktemp("registry-token"), "token",
                         token_server=token_server)
    yield reg
    reg.stop()


@pytest.fixture
def tokens(token_server):
    """The token server with every scope granted again after the test."""
    yield token_server
    token_server.allow_all()


@pytest.fixture
def fault_proxy(http_registry):
    """A fault-injecting proxy in front of a fresh plain-HTTP registry."""
    proxy = FaultProxy(http_registry.host).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def docker_config(tmp_path) -> Path:
    """An empty DOCKER_CONFIG directory."""
    d = tmp_path / "docker-config"
    d.mkdir()
    return d


@pytest.fixture
def client(hull_bin, tmp_path, busybox_tar) -> ClientHull:
    """hull with busybox:latest imported, a DOCKER_CONFIG of its own, and a push command."""
    need_hull_registry_client(hull_bin)
    c = ClientHull(hull_bin, tmp_path / "root", tmp_path / "docker-config")
    c.docker_config.mkdir()
    c.ok("import", busybox_tar, "busybox:latest")
    return c
