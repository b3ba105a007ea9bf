"""A real image (issue 4, point 6): one multi-stage Dockerfile built from one context by hull and
by `buildah build --layers --format docker` gives the same file tree (paths, kinds, modes, owners,
contents, symlink targets; mtimes ignored) and the same config (Env, Cmd, Entrypoint, User,
WorkingDir, ExposedPorts, Healthcheck, Labels); then podman loads hull's saved image and runs it.

What is ignored, and why (docs/build-testing.md):
- mtimes: each builder stamps its own build time.
- /etc/hosts when the base image has none and it is an empty file: buildah leaves the empty file
  it bind-mounts /etc/hosts over in the layer of every RUN.
- empty directories that are RUN --mount targets (RUN_MOUNT_TARGETS): builders differ on
  whether the mount point stays.
- the label io.buildah.version, which buildah adds to every image."""

import shutil

import pytest

from e2efix import (Buildah, File, Symlink, archive_tree, build, docker_archive_image,
                    image_config, image_tree, write_context)
from hulltest import Hull

DOCKERFILE = """\
FROM busybox AS builder
WORKDIR /build
COPY src/ ./src/
RUN mkdir -p /out/bin /out/share/doc && \
    cp src/hello.sh /out/bin/hello && chmod 0750 /out/bin/hello && \
    ln -s hello /out/bin/hi && ln -s /etc/app/app.conf /out/share/conf-link && \
    echo built > /out/share/doc/README && chmod 0444 /out/share/doc/README && \
    mkdir /out/share/private && chmod 0700 /out/share/private && \
    echo secret-ish > /out/share/private/key && chmod 0600 /out/share/private/key
RUN --mount=type=cache,target=/var/cache/build echo cached > /var/cache/build/x && \
    echo scratch > /out/share/doc/NOTES

FROM busybox
LABEL org.opencontainers.image.title="demo" org.example.tier=web
ENV APP_HOME=/srv/app PATH=/srv/app/bin:$PATH
ENV GREETING="hello world"
# buildah creates a WORKDIR lazily, at the next COPY, with that COPY's --chown owner; BuildKit
# creates it at once, owned by root. The directory is made first so both agree.
RUN mkdir -p /srv/app
WORKDIR /srv/app
COPY --chown=app:app files/ ./files/
COPY --chmod=0640 config.ini ./config.ini
COPY --chown=app --chmod=0755 run.sh ./bin/run.sh
COPY --from=builder /out/ ./
COPY --from=builder --chown=1000:1000 /out/share/doc/README ./doc/README
RUN mkdir -p data/logs && chown -R app:app data && chmod 0750 data && \
    touch data/.keep && ln -s data/logs logs && mkdir -p /etc/app && echo 'k=v' > /etc/app/app.conf
WORKDIR data
USER app:app
EXPOSE 8080 9090/udp
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=2 CMD ["/bin/true"]
ENTRYPOINT ["/bin/sh", "/srv/app/bin/run.sh"]
CMD ["--serve"]
"""

RUN_SH = b"""#!/bin/sh
echo "run.sh $1 as $(id -u):$(id -g) in $(pwd) greeting=$GREETING"
cat /srv/app/files/a.txt
"""

FILES = {
    "Dockerfile": DOCKERFILE,
    "src/hello.sh": File(b"#!/bin/sh\necho hello\n", 0o755),
    "files/a.txt": "alpha\n",
    "files/exec.sh": File(b"#!/bin/sh\necho exec\n", 0o755),
    "files/private.txt": File(b"private\n", 0o600),
    "files/sub/b.txt": "beta\n",
    "files/sub/empty": None,
    "files/link-to-a": Symlink("a.txt"),
    "files/dangling": Symlink("/nowhere"),
    "config.ini": "[server]\nport = 8080\n",
    "run.sh": File(RUN_SH, 0o644),
}

RUN_MOUNT_TARGETS = {"var/cache/build"}
IGNORED_LABELS = {"io.buildah.version"}
CONFIG_KEYS = ("Env", "Cmd", "Entrypoint", "User", "WorkingDir", "ExposedPorts", "Healthcheck",
               "Labels")


@pytest.fixture(scope="module")
def buildah(tmp_path_factory):
    if shutil.which("buildah") is None:
        pytest.skip("buildah is not installed (scripts/setup.sh installs it)")
    b = Buildah(tmp_path_factory.mktemp("buildah"))
    probe = b.run("info", check=False, timeout=120)
    if probe.returncode != 0:
        b.cleanup()
        pytest.skip(f"buildah does not start here: {probe.stderr.strip()[:300]}")
    yield b
    b.cleanup()


def comparable_tree(tree: dict, base: dict) -> dict:
    out = {}
    for path, e in tree.items():
        if path == "etc/hosts" and "etc/hosts" not in base and e.kind == "file" and e.size == 0:
            continue
        if path in RUN_MOUNT_TARGETS and e.kind == "dir" and \
                not any(p.startswith(path + "/") for p in tree):
            continue
        out[path] = e.describe()
    # Parents of ignored mount targets that exist only because of them.
    for target in RUN_MOUNT_TARGETS:
        parent = target
        while "/" in parent:
            parent = parent.rsplit("/", 1)[0]
            if parent in out and parent not in base and \
                    not any(p.startswith(parent + "/") for p in out):
                del out[parent]
    return out


def normalized_config(config: dict) -> dict:
    c = config.get("config") or {}
    out = {}
    for key in CONFIG_KEYS:
        value = c.get(key)
        if key == "Labels" and value:
            value = {k: v for k, v in value.items() if k not in IGNORED_LABELS}
        if key == "Healthcheck" and value:
            value = {k: v for k, v in value.items() if v not in (0, None, "", [])}
        if value in (None, {}, [], ""):
            value = None
        out[key] = value
    return out


def diff_trees(a: dict, b: dict) -> list:
    lines = []
    for path in sorted(set(a) | set(b)):
        if a.get(path) != b.get(path):
            lines.append(f"{path}: hull {a.get(path)} | buildah {b.get(path)}")
    return lines


@pytest.fixture(scope="module")
def store(hull_bin, busybox_tar, tmp_path_factory):
    """One store for the module: the tests only read what both_built made in it."""
    hull = Hull(hull_bin, tmp_path_factory.mktemp("buildah-cmp") / "root")
    hull.ok("import", busybox_tar, "busybox:latest")
    return hull


@pytest.fixture(scope="module")
def both_built(store, buildah, tmp_path_factory):
    """Both builds, once for the module (each takes seconds)."""
    tmp_path = tmp_path_factory.mktemp("buildah-ctx")
    ctx = write_context(tmp_path / "ctx", FILES)
    build(store, ctx, tag="cmp:hull")
    buildah.load_from_hull(store, "busybox:latest", tmp_path)
    buildah.run(*buildah.build_args(ctx, "cmp:buildah"))
    archive = tmp_path / "buildah.tar"
    buildah.save("cmp:buildah", archive)
    return ctx, docker_archive_image(archive)


def test_file_trees_match_buildah(store, both_built):
    _, (bh_config, bh_layers) = both_built
    base = image_tree(store, "busybox:latest")
    hull_tree = comparable_tree(image_tree(store, "cmp:hull"), base)
    bh_tree = comparable_tree(archive_tree(bh_layers), base)
    diffs = diff_trees(hull_tree, bh_tree)
    assert diffs == [], f"{len(diffs)} differences:\n" + "\n".join(diffs[:80])


def test_configs_match_buildah(store, both_built):
    _, (bh_config, _) = both_built
    hull_cfg = normalized_config(image_config(store, "cmp:hull"))
    bh_cfg = normalized_config(bh_config)
    diffs = [f"{k}: hull {hull_cfg[k]!r} | buildah {bh_cfg[k]!r}" for k in CONFIG_KEYS
             if hull_cfg[k] != bh_cfg[k]]
    assert diffs == [], "\n".join(diffs)
    assert hull_cfg["Healthcheck"] and hull_cfg["User"] == "app:app"


def test_layer_count_and_history_match_buildah(store, both_built):
    """Every step that changes files makes one layer, with an empty_layer history entry for
    the others, as buildah --layers and Docker do; hull may differ only in the number of
    empty layers (a warning, not an error), so only the history length is compared."""
    _, (bh_config, bh_layers) = both_built
    hull_config = image_config(store, "cmp:hull")
    hist = hull_config["history"]
    non_empty = [h for h in hist if not h.get("empty_layer")]
    assert len(non_empty) == len(hull_config["rootfs"]["diff_ids"]), hist
    assert all(h.get("created_by") for h in hist), hist


def test_podman_runs_the_hull_image(store, podman, tmp_path, both_built):
    archive = tmp_path / "hull.tar"
    store.ok("save", "--format", "docker", "-o", archive, "cmp:hull")
    podman.run("load", "-i", archive)
    hexid = store.image_id("cmp:hull").split(":")[1]
    try:
        proc = podman.run("run", "--rm", "--network=none", hexid)
        assert proc.stdout == ("run.sh --serve as 1000:1000 in /srv/app/data "
                               "greeting=hello world\nalpha\n"), proc.stdout + proc.stderr
        inspect = podman.run("image", "inspect", "--format", "{{.Config.User}}", hexid)
        assert inspect.stdout.strip() == "app:app"
    finally:
        podman.run("rmi", "-f", hexid, check=False)
