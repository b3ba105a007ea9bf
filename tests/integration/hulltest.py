"""Helpers for the integration tests: run the real hull binary, read its store as an OCI image
layout, snapshot the store to prove that a failed command changed nothing, and build image
archives by hand (independently of hull) to feed `hull load`."""

import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
REF_NAME = "org.opencontainers.image.ref.name"

# Signs that a process died in a way no user should ever see.
CRASH_MARKERS = (
    "Traceback",
    "terminate called",
    "AddressSanitizer",
    "LeakSanitizer",
    "UndefinedBehaviorSanitizer",
    "runtime error:",
    "Segmentation fault",
    "core dumped",
    "Assertion",
)


def need_tool(name: str):
    if shutil.which(name) is None:
        pytest.skip(f"{name} is not installed (scripts/setup.sh installs it)")


def sha256_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def assert_no_crash(text: str, what: str):
    for marker in CRASH_MARKERS:
        assert marker not in text, f"{what}: output shows a crash ({marker!r}):\n{text}"


class Result:
    def __init__(self, args, proc):
        self.args = args
        self.rc = proc.returncode
        self.stdout_bytes = proc.stdout or b""
        self.stdout = self.stdout_bytes.decode("utf-8", "replace")
        self.stderr = (proc.stderr or b"").decode("utf-8", "replace")

    def describe(self) -> str:
        out = self.stdout if len(self.stdout) < 4000 else self.stdout[:4000] + "..."
        return (f"hull {' '.join(map(str, self.args))}\n  exit status {self.rc}\n"
                f"  stdout: {out}\n  stderr: {self.stderr}")


class Hull:
    """The hull binary bound to one store root (HULL_ROOT)."""

    def __init__(self, binary, root: Path):
        self.binary = str(binary)
        self.root = Path(root)

    def env(self, extra=None):
        env = dict(os.environ)
        env["HULL_ROOT"] = str(self.root)
        if extra:
            env.update(extra)
        return env

    def run(self, *args, input=None, stdin=None, stdout=None, timeout=300, env=None) -> Result:
        """Runs hull; never raises on a non-zero exit status."""
        args = [str(a) for a in args]
        kw = {}
        if input is None:
            kw["stdin"] = stdin if stdin is not None else subprocess.DEVNULL
        proc = subprocess.run([self.binary, *args], input=input,
                              stdout=stdout if stdout is not None else subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout, env=self.env(env), **kw)
        res = Result(args, proc)
        assert_no_crash(res.stderr, res.describe())
        assert res.rc >= 0, f"killed by signal {-res.rc}:\n{res.describe()}"
        return res

    def ok(self, *args, **kw) -> str:
        """Runs hull, expects success, returns stdout."""
        res = self.run(*args, **kw)
        assert res.rc == 0, res.describe()
        return res.stdout

    def fail(self, *args, **kw) -> str:
        """Runs hull, expects the error contract: exit status 1 and one line 'hull: error: ...'
        on stderr. Returns that line."""
        res = self.run(*args, **kw)
        assert res.rc == 1, "expected exit status 1\n" + res.describe()
        lines = res.stderr.rstrip("\n").split("\n")
        assert len(lines) == 1 and lines[0].startswith("hull: error: "), (
            "expected exactly one line 'hull: error: ...' on stderr\n" + res.describe())
        assert len(lines[0]) > len("hull: error: ") + 3, "empty error message\n" + res.describe()
        return lines[0]

    # --- reading the store as an OCI image layout, without hull ---

    def index(self) -> dict:
        return json.loads((self.root / "index.json").read_text())

    def blob_path(self, digest: str) -> Path:
        algo, hexd = digest.split(":", 1)
        return self.root / "blobs" / algo / hexd

    def blob(self, digest: str) -> bytes:
        data = self.blob_path(digest).read_bytes()
        assert sha256_bytes(data) == digest, f"blob {digest} does not match its name"
        return data

    def names(self) -> list:
        return sorted(m.get("annotations", {}).get(REF_NAME, "") for m in self.index()["manifests"])

    def manifest_desc(self, name: str) -> dict:
        found = [m for m in self.index()["manifests"]
                 if m.get("annotations", {}).get(REF_NAME) == name]
        assert len(found) == 1, f"{name}: {len(found)} entries in index.json: {self.index()}"
        return found[0]

    def manifest(self, name: str) -> dict:
        return json.loads(self.blob(self.manifest_desc(name)["digest"]))

    def config_digest(self, name: str) -> str:
        return self.manifest(name)["config"]["digest"]

    def config(self, name: str) -> dict:
        return json.loads(self.blob(self.config_digest(name)))

    def image_id(self, name: str) -> str:
        """Docker's image ID: the digest of the config."""
        return self.config_digest(name)

    def snapshot(self) -> dict:
        """What a failed command must leave untouched: index.json and the set of blobs, plus any
        staging file left behind in tmp/."""
        state = {"index.json": None, "blobs": [], "tmp": []}
        index = self.root / "index.json"
        if index.exists():
            state["index.json"] = index.read_bytes()
        blobs = self.root / "blobs"
        if blobs.exists():
            state["blobs"] = sorted((str(p.relative_to(blobs)), p.stat().st_size)
                                    for p in blobs.rglob("*") if p.is_file())
        tmp = self.root / "tmp"
        if tmp.exists():
            state["tmp"] = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file())
        return state


def prune_args(hull: Hull) -> list:
    """`hull system prune` with Docker's --force when the command has one, so it never asks."""
    res = hull.run("system", "prune", "--help")
    return ["system", "prune", "-f"] if "--force" in res.stdout else ["system", "prune"]


# --- hand-made inputs ---

def tar_bytes(entries) -> bytes:
    """entries: list of (name, bytes or None for a directory)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1700000000
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tf.addfile(info)
            else:
                info.size = len(data)
                info.mode = 0o644
                tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def image_config(diff_ids, cmd=("/bin/sh",)) -> bytes:
    cfg = {
        "created": "2023-11-14T22:13:20Z",
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/bin"], "Cmd": list(cmd)},
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
        "history": [{"created": "2023-11-14T22:13:20Z", "created_by": "hand-made test layer"}],
    }
    return json.dumps(cfg, sort_keys=True).encode()


def docker_archive(layer_tar: bytes, repo_tag="handmade:v1", manifest_json=None) -> bytes:
    """A `docker save` archive (manifest.json + <config hex>.json + <layer>/layer.tar)."""
    diff_id = sha256_bytes(layer_tar)
    config = image_config([diff_id])
    config_hex = sha256_bytes(config).split(":")[1]
    layer_dir = diff_id.split(":")[1]
    if manifest_json is None:
        manifest_json = json.dumps([{"Config": f"{config_hex}.json", "RepoTags": [repo_tag],
                                     "Layers": [f"{layer_dir}/layer.tar"]}]).encode()
    return tar_bytes([
        (f"{config_hex}.json", config),
        (f"{layer_dir}/", None),
        (f"{layer_dir}/layer.tar", layer_tar),
        ("manifest.json", manifest_json),
    ])


def oci_archive(layer_tar: bytes, ref_name="handmade:v1", corrupt_layer=False):
    """An OCI image layout as a tar (what `skopeo copy ... oci-archive:` writes). Returns
    (archive bytes, manifest digest, config digest). With corrupt_layer, one byte of the layer blob
    differs from what its name says."""
    layer = gzip_bytes(layer_tar)
    layer_digest = sha256_bytes(layer)
    config = image_config([sha256_bytes(layer_tar)])
    config_digest = sha256_bytes(config)
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer_digest, "size": len(layer)}],
    }, sort_keys=True).encode()
    manifest_digest = sha256_bytes(manifest)
    index = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": manifest_digest, "size": len(manifest),
                       "annotations": {REF_NAME: ref_name}}],
    }).encode()
    if corrupt_layer:
        mid = len(layer) // 2
        layer = layer[:mid] + bytes([layer[mid] ^ 0xFF]) + layer[mid + 1:]
    blob = lambda d: "blobs/sha256/" + d.split(":")[1]  # noqa: E731
    data = tar_bytes([
        ("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
        ("index.json", index),
        ("blobs/", None),
        ("blobs/sha256/", None),
        (blob(config_digest), config),
        (blob(layer_digest), layer),
        (blob(manifest_digest), manifest),
    ])
    return data, manifest_digest, config_digest


def read_tar_members(path) -> dict:
    """All regular files of a tar archive, by normalized name."""
    out = {}
    with tarfile.open(path) as tf:
        for m in tf.getmembers():
            if m.isfile():
                out[os.path.normpath(m.name)] = tf.extractfile(m).read()
    return out


def oci_archive_manifests(path) -> list:
    """The manifest descriptors of an OCI archive's index.json."""
    files = read_tar_members(path)
    assert "index.json" in files, f"{path}: no index.json in the archive: {sorted(files)[:20]}"
    return json.loads(files["index.json"])["manifests"]
