"""Real peers read what hull writes, and hull reads what they write: podman, skopeo and umoci,
never mocks. Each test skips with a reason when its tool is missing or cannot start here."""

import json
import os
import subprocess
import tarfile

import pytest

from hulltest import Hull, REF_NAME, need_tool, oci_archive_manifests

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="consumer tests need root")


def tool(*args, timeout=300):
    proc = subprocess.run([str(a) for a in args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, (f"{' '.join(map(str, args))}: exit status {proc.returncode}\n"
                                  f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
    return proc.stdout


def fresh(hull, tmp_path, name="loaded") -> Hull:
    return Hull(hull.binary, tmp_path / name)


def name_with_id(hull, image_id):
    names = [n for n in hull.names() if hull.image_id(n) == image_id]
    assert names, f"no image with ID {image_id} in {hull.names()}"
    return names[0]


# --- podman reads hull ---

@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_podman_runs_a_saved_image(store, podman, tmp_path, fmt):
    archive = tmp_path / f"busybox-{fmt}.tar"
    store.ok("save", "--format", fmt, "-o", archive, "busybox:latest")
    podman.run("load", "-i", archive)
    image_id = store.image_id("busybox:latest")
    hexid = image_id.split(":")[1]
    try:
        assert podman.image_id(hexid) == image_id, "podman sees the same image ID"
        podman.run("run", "--rm", "--network=none", hexid, "/bin/true")
        out = podman.run("run", "--rm", "--network=none", hexid,
                         "/bin/sh", "-c", "grep ^app: /etc/passwd; ls /bin/busybox").stdout
        assert "app:x:1000:1000" in out and "/bin/busybox" in out, out
    finally:
        podman.run("rmi", "-f", image_id.split(":")[1], check=False)


def test_podman_runs_the_config_hull_wrote(store, busybox_tar, podman, tmp_path):
    store.ok("import", busybox_tar, "withcmd:v1", "--change", "ENV GREETING=hello",
             "--change", "WORKDIR /etc", "--change", 'CMD ["/bin/sh", "-c", "echo $GREETING; pwd"]')
    archive = tmp_path / "withcmd.tar"
    store.ok("save", "-o", archive, "withcmd:v1")
    podman.run("load", "-i", archive)
    image_id = store.image_id("withcmd:v1")
    try:
        out = podman.run("run", "--rm", "--network=none", image_id.split(":")[1]).stdout
        assert out.split() == ["hello", "/etc"], out
    finally:
        podman.run("rmi", "-f", image_id.split(":")[1], check=False)


# --- hull reads podman ---

@pytest.fixture
def podman_image(podman, busybox_tar):
    podman.run("import", busybox_tar, "localhost/pmbusybox:latest")
    image_id = podman.image_id("localhost/pmbusybox:latest")
    layers = json.loads(podman.run("image", "inspect", "--format", "{{json .RootFS.Layers}}",
                                   "localhost/pmbusybox:latest").stdout)
    yield image_id, layers
    podman.run("rmi", "-f", "localhost/pmbusybox:latest", check=False)


def test_hull_loads_podman_docker_archive(hull, podman, podman_image, tmp_path):
    image_id, layers = podman_image
    archive = tmp_path / "podman-docker.tar"
    podman.run("save", "--format", "docker-archive", "-o", archive, "localhost/pmbusybox:latest")
    hull.ok("load", "-i", archive)
    assert hull.names() == ["localhost/pmbusybox:latest"]
    assert hull.image_id("localhost/pmbusybox:latest") == image_id
    assert hull.config("localhost/pmbusybox:latest")["rootfs"]["diff_ids"] == layers
    hull.ok("system", "fsck")


def test_hull_loads_podman_oci_archive(hull, podman, podman_image, tmp_path):
    image_id, _ = podman_image
    archive = tmp_path / "podman-oci.tar"
    podman.run("save", "--format", "oci-archive", "-o", archive, "localhost/pmbusybox:latest")
    [desc] = oci_archive_manifests(archive)
    hull.ok("load", "-i", archive)
    name = name_with_id(hull, image_id)
    assert hull.manifest_desc(name)["digest"] == desc["digest"]
    hull.ok("system", "fsck")


# --- skopeo and umoci read hull ---

def test_skopeo_inspects_the_store_root(store):
    need_tool("skopeo")
    out = json.loads(tool("skopeo", "inspect", f"oci:{store.root}:busybox:latest"))
    assert out["Digest"] == store.manifest_desc("busybox:latest")["digest"]
    assert out["Layers"] == [l["digest"] for l in store.manifest("busybox:latest")["layers"]]
    config = json.loads(tool("skopeo", "inspect", "--config", f"oci:{store.root}:busybox:latest"))
    assert config["rootfs"] == store.config("busybox:latest")["rootfs"]


def test_skopeo_inspects_a_saved_oci_archive(store, tmp_path):
    need_tool("skopeo")
    archive = tmp_path / "bb-oci.tar"
    store.ok("save", "--format", "oci", "-o", archive, "busybox:latest")
    out = json.loads(tool("skopeo", "inspect", f"oci-archive:{archive}"))
    assert out["Digest"] == store.manifest_desc("busybox:latest")["digest"]
    assert out["Os"] == "linux" and out["Architecture"] == "amd64"


def test_skopeo_reads_a_saved_docker_archive(store, tmp_path):
    need_tool("skopeo")
    archive = tmp_path / "bb-docker.tar"
    store.ok("save", "--format", "docker", "-o", archive, "busybox:latest")
    config = json.loads(tool("skopeo", "inspect", "--config", f"docker-archive:{archive}"))
    assert config["rootfs"]["diff_ids"] == store.config("busybox:latest")["rootfs"]["diff_ids"]


def test_umoci_unpacks_a_saved_oci_archive(store, tmp_path):
    need_tool("umoci")
    archive = tmp_path / "bb-oci.tar"
    store.ok("save", "--format", "oci", "-o", archive, "busybox:latest")
    layout = tmp_path / "layout"
    layout.mkdir()
    with tarfile.open(archive) as tf:
        tf.extractall(layout)
    [desc] = oci_archive_manifests(archive)
    ref = desc.get("annotations", {}).get(REF_NAME)
    assert ref, f"umoci needs a {REF_NAME} annotation to find the image: {desc}"
    bundle = tmp_path / "bundle"
    tool("umoci", "unpack", "--image", f"{layout}:{ref}", bundle)
    busybox = bundle / "rootfs" / "bin" / "busybox"
    assert busybox.is_file() and os.access(busybox, os.X_OK)
    assert os.readlink(bundle / "rootfs" / "bin" / "sh") == "busybox"
    assert (bundle / "rootfs" / "tmp").stat().st_mode & 0o7777 == 0o1777
    assert json.loads((bundle / "config.json").read_text())["ociVersion"]


def test_umoci_unpacks_the_store_root(store, tmp_path):
    need_tool("umoci")
    bundle = tmp_path / "bundle"
    # umoci takes a lock in the layout it reads; give it a copy so the store stays as it is.
    layout = tmp_path / "copy"
    tool("cp", "-a", store.root, layout)
    tool("umoci", "unpack", "--image", f"{layout}:busybox:latest", bundle)
    assert (bundle / "rootfs" / "bin" / "busybox").is_file()


# --- hull reads skopeo ---

def test_hull_loads_skopeo_oci_archive(store, tmp_path):
    need_tool("skopeo")
    archive = tmp_path / "skopeo-oci.tar"
    tool("skopeo", "copy", "-q", f"oci:{store.root}:busybox:latest",
         f"oci-archive:{archive}:copied:v1")
    [desc] = oci_archive_manifests(archive)
    other = fresh(store, tmp_path)
    other.ok("load", "-i", archive)
    assert other.names() == ["copied:v1"]
    assert other.manifest_desc("copied:v1")["digest"] == desc["digest"]
    assert other.image_id("copied:v1") == store.image_id("busybox:latest")
    other.ok("system", "fsck")


def test_hull_loads_skopeo_docker_archive(store, tmp_path):
    need_tool("skopeo")
    archive = tmp_path / "skopeo-docker.tar"
    tool("skopeo", "copy", "-q", f"oci:{store.root}:busybox:latest",
         f"docker-archive:{archive}:copied:v2")
    other = fresh(store, tmp_path)
    other.ok("load", "-i", archive)
    assert other.names() == ["copied:v2"]
    assert other.image_id("copied:v2") == store.image_id("busybox:latest")
    other.ok("system", "fsck")
