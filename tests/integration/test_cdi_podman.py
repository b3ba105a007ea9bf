"""The CDI spec `hull gpu cdi generate` writes is one that podman (4.3 on Debian 12, whose CDI
package knows spec versions up to 0.5.0) reads and applies: podman runs busybox with
--device nvidia.com/gpu=0 from a spec generated for the fake driver root.

podman 4.3 has no flag or setting for the CDI spec directories, so podman runs in a mount
namespace of its own where the test's directory is bind-mounted on /run/cdi; the host's spec
directories are never written. Needs root (device nodes, mounts, podman)."""

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from gpufix import fake_driver_root  # noqa: F401

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="CDI podman tests need root")

IMAGE = "localhost/cdi-busybox:latest"
CDI_MOUNTPOINT = Path("/run/cdi")


@pytest.fixture(scope="module")
def image(podman, busybox_tar):
    podman.run("import", busybox_tar, IMAGE)
    yield IMAGE
    podman.run("rmi", "-f", IMAGE, check=False)


@pytest.fixture
def cdi_mountpoint():
    """/run/cdi to bind-mount over inside podman's namespace; made (and removed) only when the
    host has none."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    made = not CDI_MOUNTPOINT.exists()
    if made:
        CDI_MOUNTPOINT.mkdir(mode=0o755)
    yield CDI_MOUNTPOINT
    if made:
        try:
            CDI_MOUNTPOINT.rmdir()
        except OSError:
            pass


def podman_with_cdi(podman, spec_dir: Path, *args, timeout=180):
    script = 'mount --bind "$1" "$2" && shift 2 && exec podman "$@"'
    cmd = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh",
           str(spec_dir), str(CDI_MOUNTPOINT), *map(str, args)]
    return subprocess.run(cmd, env=podman.env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture
def generated_spec(hull, fake_driver_root, tmp_path):  # noqa: F811
    spec_dir = tmp_path / "cdi"
    spec_dir.mkdir()
    out = spec_dir / "nvidia.yaml"
    hull.ok("gpu", "cdi", "generate", "--driver-root", fake_driver_root, "-o", out)
    return spec_dir, out


def test_generated_spec_is_the_oldest_version_it_needs(generated_spec):
    _, out = generated_spec
    text = out.read_text()
    assert 'cdiVersion: "0.5.0"' in text, text
    assert "NVIDIA_VISIBLE_DEVICES=void" in text
    assert "nvidia.com/gpu" in text


def test_hull_lists_the_generated_devices(hull, generated_spec):
    spec_dir, _ = generated_spec
    names = hull.ok("gpu", "cdi", "list", env={"HULL_CDI_SPEC_DIRS": str(spec_dir)}).split()
    assert "nvidia.com/gpu=0" in names and "nvidia.com/gpu=1" in names, names
    assert "nvidia.com/gpu=all" in names, names
    assert any(n.startswith("nvidia.com/gpu=GPU-") for n in names), names


def run_gpu0(podman, image, spec_dir):
    script = ("ls -l /dev/nvidia0 /dev/nvidiactl; echo VISIBLE=$NVIDIA_VISIBLE_DEVICES; "
              "ls /usr/bin/nvidia-smi")
    return podman_with_cdi(podman, spec_dir, "run", "--rm", "--network=none",
                           "--device", "nvidia.com/gpu=0", image, "sh", "-c", script)


def check_gpu0(p):
    if p.returncode != 0 and "unknown flag" in p.stderr:
        pytest.skip(f"podman here does not take --device with CDI names: {p.stderr.strip()}")
    assert p.returncode == 0, f"podman refused the spec:\nstdout: {p.stdout}\nstderr: {p.stderr}"
    lines = p.stdout.splitlines()
    assert any(line.startswith("c") and line.endswith("/dev/nvidia0") for line in lines), p.stdout
    assert any(line.endswith("/dev/nvidiactl") for line in lines), p.stdout
    assert "VISIBLE=void" in lines, p.stdout
    assert "/usr/bin/nvidia-smi" in lines, p.stdout


def test_podman_applies_the_generated_spec(podman, image, hull, fake_driver_root,  # noqa: F811
                                           tmp_path, cdi_mountpoint):
    """Everything but the ld cache hook, which is hull's own business (and tested with hull)."""
    spec_dir = tmp_path / "cdi-json"
    spec_dir.mkdir()
    out = spec_dir / "nvidia.json"
    hull.ok("gpu", "cdi", "generate", "--driver-root", fake_driver_root, "-o", out)
    spec = json.loads(out.read_text())
    assert spec["containerEdits"].pop("hooks")
    out.write_text(json.dumps(spec))
    check_gpu0(run_gpu0(podman, image, spec_dir))


def test_podman_runs_the_generated_spec_with_its_hook(podman, image, generated_spec,
                                                      cdi_mountpoint):
    spec_dir, _ = generated_spec
    check_gpu0(run_gpu0(podman, image, spec_dir))


def test_podman_rejects_an_unknown_device_of_the_generated_kind(podman, image, generated_spec,
                                                                 cdi_mountpoint):
    spec_dir, _ = generated_spec
    p = podman_with_cdi(podman, spec_dir, "run", "--rm", "--network=none",
                        "--device", "nvidia.com/gpu=7", image, "true")
    assert p.returncode != 0
    assert "nvidia.com/gpu=7" in p.stderr, p.stderr


def test_fake_nodes_are_char_devices(fake_driver_root):  # noqa: F811
    node = Path(fake_driver_root) / "dev" / "nvidia0"
    assert stat.S_ISCHR(node.stat().st_mode)
