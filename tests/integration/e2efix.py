"""Helpers for the end-to-end `hull build` tests (test_build_cache, _multistage, _mounts,
_secrets, _repro, _buildah, _cancel): write a build context, run `hull build --progress plain`
and read which steps ran and which came from the cache, and read the resulting image straight
from the store (an OCI image layout) as a merged file tree — without asking hull.

Progress lines follow BuildKit's plain format: "#N [stage k/n] INSTRUCTION ..." starts step N,
"#N CACHED" says it came from the cache, "#N DONE 0.1s" ends a step that ran."""

import gzip
import hashlib
import io
import json
import os
import re
import shutil
import stat
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from hulltest import Hull, Result

STEP_START = re.compile(r"^#(\d+) \[([^\]]*)\] (.*)$")
STEP_CACHED = re.compile(r"^#(\d+) CACHED\s*$")
STEP_DONE = re.compile(r"^#(\d+) DONE\b")


@dataclass
class Symlink:
    target: str


@dataclass
class File:
    data: bytes
    mode: int = 0o644


def write_context(root: Path, files: dict) -> Path:
    """Writes files into root (created). Values: str/bytes (mode 0644), File(data, mode), Symlink,
    or None for an empty directory."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for name, value in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if value is None:
            path.mkdir(parents=True, exist_ok=True)
            continue
        if isinstance(value, Symlink):
            if path.is_symlink() or path.exists():
                path.unlink()
            os.symlink(value.target, path)
            continue
        if isinstance(value, str):
            value = File(value.encode())
        elif isinstance(value, bytes):
            value = File(value)
        path.write_bytes(value.data)
        os.chmod(path, value.mode)
    return root


@dataclass
class Step:
    number: int
    label: str  # "stage-1 2/5", "2/5", ...
    text: str   # the instruction as written: "RUN cat /x"
    cached: bool = False
    done: bool = False


@dataclass
class BuildRun:
    result: Result
    steps: list = field(default_factory=list)

    @property
    def image_id(self) -> str:
        ids = re.findall(r"sha256:[0-9a-f]{64}", self.result.stdout)
        assert ids, "no image ID on stdout\n" + self.result.describe()
        return ids[-1]

    def ran(self) -> list:
        """Texts of the steps that ran (not from the cache): those BuildKit shows as steps
        (RUN, COPY, ADD, WORKDIR); FROM and config-only instructions left out."""
        return [s.text for s in self.steps if not s.cached and _is_shown(s.text)]

    def cached(self) -> list:
        return [s.text for s in self.steps if s.cached and _is_shown(s.text)]

    def ran_any(self) -> list:
        """Every step without a CACHED line but FROM, config-only instructions included."""
        return [s.text for s in self.steps if not s.cached and not _is_from(s.text)]

    def describe_steps(self) -> str:
        return "\n".join(f"  #{s.number} [{s.label}] {s.text}: "
                         f"{'CACHED' if s.cached else 'ran'}" for s in self.steps)


def _is_shown(text: str) -> bool:
    return text.split(" ", 1)[0].upper() in ("RUN", "COPY", "ADD", "WORKDIR")


def _is_from(text: str) -> bool:
    return text.upper().startswith("FROM ") or text.startswith("[internal]") or \
        text.lower().startswith("load ")


def parse_progress(text: str) -> list:
    """The steps of a plain progress log, in the order they started. A step number printed
    twice (BuildKit repeats the header when output interleaves) is one step."""
    steps = {}
    for line in text.splitlines():
        m = STEP_START.match(line)
        if m:
            n = int(m.group(1))
            if n not in steps:
                steps[n] = Step(n, m.group(2), m.group(3).strip())
            continue
        m = STEP_CACHED.match(line)
        if m and int(m.group(1)) in steps:
            steps[int(m.group(1))].cached = True
            continue
        m = STEP_DONE.match(line)
        if m and int(m.group(1)) in steps:
            steps[int(m.group(1))].done = True
    return list(steps.values())


def build(hull: Hull, context, *args, tag=None, env=None, expect_ok=True, timeout=300,
          stdin=None, input=None) -> BuildRun:
    """hull build --progress plain [-t tag] ARGS CONTEXT."""
    cmd = ["build", "--progress", "plain"]
    if tag:
        cmd += ["-t", tag]
    cmd += [str(a) for a in args] + [str(context)]
    res = hull.run(*cmd, env=env, timeout=timeout, stdin=stdin, input=input)
    run = BuildRun(res, parse_progress(res.stderr))
    if expect_ok:
        assert res.rc == 0, res.describe()
    return run


# --- the image in the store, read without hull ---

def decompress(data: bytes, media_type: str) -> bytes:
    if media_type.endswith("+gzip") or media_type.endswith(".gzip") or data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    if media_type.endswith("+zstd") or data[:4] == b"\x28\xb5\x2f\xfd":
        return subprocess.run(["zstd", "-q", "-d", "-c"], input=data, capture_output=True,
                              check=True).stdout
    return data


def layer_tars(hull: Hull, ref: str) -> list:
    """The uncompressed layer tars of an image, bottom first, each checked against its diff ID."""
    manifest = hull.manifest(ref)
    config = json.loads(hull.blob(manifest["config"]["digest"]))
    tars = []
    for desc, diff_id in zip(manifest["layers"], config["rootfs"]["diff_ids"]):
        raw = decompress(hull.blob(desc["digest"]), desc["mediaType"])
        assert "sha256:" + hashlib.sha256(raw).hexdigest() == diff_id, \
            f"{ref}: layer {desc['digest']} does not match diff ID {diff_id}"
        tars.append(raw)
    assert len(manifest["layers"]) == len(config["rootfs"]["diff_ids"])
    return tars


@dataclass
class Entry:
    kind: str  # "file", "dir", "symlink", "hardlink", "other"
    mode: int
    uid: int
    gid: int
    digest: str = ""   # sha256 of a file's content
    link: str = ""     # symlink target
    size: int = 0

    def describe(self):
        extra = self.link if self.kind == "symlink" else self.digest[:12]
        return f"{self.kind} {self.mode:04o} {self.uid}:{self.gid} {extra}"


def apply_tar(tree: dict, data: bytes, contents: dict = None):
    """Applies one layer tar (OCI whiteouts included) to tree: path -> Entry. Paths are
    normalized without a leading "./" or "/". With contents, file bytes are kept there too."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        for m in tf:
            name = os.path.normpath("/" + m.name).lstrip("/")
            if not name:
                continue
            base = os.path.basename(name)
            parent = os.path.dirname(name)
            if base == ".wh..wh..opq":
                prefix = parent + "/" if parent else ""
                for p in [p for p in tree if p.startswith(prefix) and p != parent]:
                    del tree[p]
                continue
            if base.startswith(".wh."):
                gone = os.path.join(parent, base[4:])
                for p in [p for p in tree if p == gone or p.startswith(gone + "/")]:
                    del tree[p]
                continue
            if not m.isdir():
                # A non-directory replaces whatever was there, a directory's children included.
                for p in [p for p in tree if p.startswith(name + "/")]:
                    del tree[p]
            mode = stat.S_IMODE(m.mode) | (m.mode & 0o7000)
            if m.isfile():
                content = tf.extractfile(m).read()
                tree[name] = Entry("file", mode, m.uid, m.gid,
                                   hashlib.sha256(content).hexdigest(), size=len(content))
                if contents is not None:
                    contents[name] = content
            elif m.isdir():
                tree[name] = Entry("dir", mode, m.uid, m.gid)
            elif m.issym():
                tree[name] = Entry("symlink", mode, m.uid, m.gid, link=m.linkname)
            elif m.islnk():
                target = os.path.normpath("/" + m.linkname).lstrip("/")
                src = tree.get(target)
                tree[name] = Entry("file", mode, m.uid, m.gid, src.digest if src else "",
                                   size=src.size if src else 0)
                if contents is not None and target in contents:
                    contents[name] = contents[target]
            else:
                tree[name] = Entry("other", mode, m.uid, m.gid)


def image_tree(hull: Hull, ref: str, contents: dict = None) -> dict:
    """The merged file tree of an image in hull's store: path -> Entry."""
    tree = {}
    for data in layer_tars(hull, ref):
        apply_tar(tree, data, contents)
    return tree


def image_files(hull: Hull, ref: str) -> dict:
    """path -> bytes for every regular file of the image."""
    contents = {}
    tree = image_tree(hull, ref, contents)
    return {p: contents[p] for p, e in tree.items() if e.kind == "file" and p in contents}


def image_config(hull: Hull, ref: str) -> dict:
    return json.loads(hull.blob(hull.manifest(ref)["config"]["digest"]))


def new_layers(hull: Hull, ref: str, base_ref: str = "busybox:latest") -> list:
    """The layer tars an image has on top of its base."""
    base = len(hull.manifest(base_ref)["layers"])
    tars = layer_tars(hull, ref)
    return tars[base:]


def tar_names(data: bytes) -> list:
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        return [os.path.normpath("/" + m.name).lstrip("/") for m in tf]


# --- leftovers ---

def mounts_under(path) -> list:
    """Mount points at or under path (from /proc/self/mountinfo)."""
    path = str(Path(path).resolve())
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            target = line.split()[4].replace("\\040", " ")
            if target == path or target.startswith(path + "/"):
                found.append(target)
    return found


def tmp_entries(hull: Hull) -> list:
    tmp = hull.root / "tmp"
    return sorted(os.listdir(tmp)) if tmp.exists() else []


# --- buildah, with storage of its own ---

BUILDAH_CONF = """\
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
"""


class Buildah:
    """buildah with its storage (vfs), run state and containers.conf under one directory, so
    the host's storage is never touched. Used by test_build_buildah and bench/build."""

    def __init__(self, directory, driver="vfs"):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "containers.conf").write_text(BUILDAH_CONF)
        (self.dir / "tmp").mkdir(exist_ok=True)
        self.env = dict(os.environ)
        self.env["CONTAINERS_CONF"] = str(self.dir / "containers.conf")
        self.env["TMPDIR"] = str(self.dir / "tmp")
        self.base = ["buildah", "--root", str(self.dir / "root"), "--runroot",
                     str(self.dir / "run"), "--storage-driver", driver]

    def cmd(self, *args) -> list:
        return self.base + [str(a) for a in args]

    def run(self, *args, check=True, timeout=600):
        proc = subprocess.run(self.cmd(*args), env=self.env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"buildah {' '.join(map(str, args))}: exit status "
                                 f"{proc.returncode}\nstdout: {proc.stdout[-3000:]}\n"
                                 f"stderr: {proc.stderr[-3000:]}")
        return proc

    def load_from_hull(self, hull: Hull, ref: str, work: Path):
        """Copies an image from hull's store into buildah's (as localhost/NAME)."""
        archive = Path(work) / "for-buildah.tar"
        hull.ok("save", "--format", "docker", "-o", archive, ref)
        self.run("pull", f"docker-archive:{archive}")
        archive.unlink()

    def build_args(self, context, tag, *extra) -> list:
        return ["build", "--layers", "--format", "docker", "--pull-never", "-t", tag,
                *map(str, extra), str(context)]

    def save(self, ref: str, path: Path):
        self.run("push", ref, f"docker-archive:{path}")

    def cleanup(self):
        self.run("rm", "--all", check=False)
        self.run("rmi", "--all", "--force", check=False)
        for target in sorted(mounts_under(self.dir), key=len, reverse=True):
            subprocess.run(["umount", "-l", target], check=False, capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def docker_archive_image(path: Path) -> tuple:
    """(config, [layer tars]) of the first image of a docker-archive."""
    with tarfile.open(path) as tf:
        manifest = json.loads(tf.extractfile("manifest.json").read())[0]
        config = json.loads(tf.extractfile(manifest["Config"]).read())
        layers = [decompress(tf.extractfile(name).read(), "") for name in manifest["Layers"]]
    return config, layers


def archive_tree(layers: list) -> dict:
    tree = {}
    for data in layers:
        apply_tar(tree, data)
    return tree
