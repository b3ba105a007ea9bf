"""GPUs for containers against a fake NVIDIA driver root (tests/fakes/nvidia-driver): `hull run
--gpus`, CDI names with `--device`, `hull exec` into a GPU container, the image's CUDA
requirement against the driver, `hull gpu info | cdi generate | cdi list | check`, and host
devices with `--device`. The test image is busybox plus the host's static ldconfig, so the ld
cache the GPU hook writes can be read inside."""

import io
import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from container_helpers import assert_nothing_left, box, inspect  # noqa: F401
from gpufix import DRIVER, fake_driver_root, make_fake_root  # noqa: F401

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="hull run needs root")

LDCONFIG = Path("/sbin/ldconfig")
LIBDIR = "/usr/lib/x86_64-linux-gnu"


def _add_file(out: tarfile.TarFile, name: str, data: bytes, mode=0o644):
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 1700000000
    out.addfile(info, io.BytesIO(data))


def _add_link(out: tarfile.TarFile, name: str, target: str):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mtime = tarfile.SYMTYPE, target, 1700000000
    out.addfile(info)


def _add_dir(out: tarfile.TarFile, name: str):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1700000000
    out.addfile(info)


def make_image_tar(busybox_tar: Path, out_path: Path, extra=None) -> Path:
    """busybox + /sbin/ldconfig (+ extra(tarfile) for more files)."""
    with tarfile.open(busybox_tar) as src, tarfile.open(out_path, "w") as out:
        for m in src.getmembers():
            out.addfile(m, src.extractfile(m) if m.isfile() else None)
        _add_file(out, "./sbin/ldconfig", LDCONFIG.read_bytes(), 0o755)
        if extra:
            extra(out)
    return out_path


@pytest.fixture(scope="session")
def ld_tar(busybox_tar, fixtures_dir) -> Path:
    if not LDCONFIG.is_file():
        pytest.skip("no /sbin/ldconfig on this host")
    return make_image_tar(busybox_tar, fixtures_dir / "busybox-ldconfig.tar")


@pytest.fixture(scope="session")
def compat_tar(busybox_tar, fixtures_dir, fake_driver_root) -> Path:
    """The image with the cuda-compat package's files of a newer driver (560.28.03): the fake
    driver root's libcuda under the compat library's name."""
    if not LDCONFIG.is_file():
        pytest.skip("no /sbin/ldconfig on this host")
    libcuda = (fake_driver_root / LIBDIR.lstrip("/") / f"libcuda.so.{DRIVER}").read_bytes()

    def extra(out):
        for d in ("./usr/local", "./usr/local/cuda", "./usr/local/cuda/compat"):
            _add_dir(out, d)
        _add_file(out, "./usr/local/cuda/compat/libcuda.so.560.28.03", libcuda, 0o755)
        _add_link(out, "./usr/local/cuda/compat/libcuda.so.1", "libcuda.so.560.28.03")

    return make_image_tar(busybox_tar, fixtures_dir / "busybox-compat.tar", extra)


class Gpu:
    """hull with the fake driver root and a CDI spec dir of the test's own."""

    def __init__(self, hull, driver_root: Path, cdi_dir: Path):
        self.hull = hull
        self.driver_root = driver_root
        self.cdi_dir = cdi_dir

    def env(self, **extra):
        env = {"HULL_DRIVER_ROOT": str(self.driver_root), "HULL_CDI_SPEC_DIRS": str(self.cdi_dir)}
        env.update(extra)
        return env

    def run(self, *args, env=None, **kw):
        return self.hull.run(*args, env=self.env(**(env or {})), **kw)

    def ok(self, *args, env=None, **kw):
        return self.hull.ok(*args, env=self.env(**(env or {})), **kw)

    def refused(self, *args, env=None):
        """`hull run` refused before the container ran: status 125, one line, nothing left."""
        res = self.run("run", *args, env=env)
        assert res.rc == 125, res.describe()
        lines = res.stderr.rstrip("\n").split("\n")
        assert len(lines) == 1 and lines[0].startswith("hull: error: "), res.describe()
        assert self.hull.ok("ps", "-aq") == ""
        assert_nothing_left(self.hull)
        return lines[0]


@pytest.fixture
def gpu(box, ld_tar, fake_driver_root, tmp_path) -> Gpu:
    box.ok("import", ld_tar, "gpubox:v1")
    cdi = tmp_path / "cdi"
    cdi.mkdir()
    return Gpu(box, fake_driver_root, cdi)


def ldcache(text: str) -> set:
    """The sonames `ldconfig -p` lists."""
    return {line.split()[0] for line in text.splitlines() if "=>" in line}


SHOW = ("ls /dev; echo ---; ldconfig -p; echo ---; env; echo ---; cat /proc/mounts; echo ---; "
        "nvidia-smi -L 2>&1 || true")


def show(gpu: Gpu, *flags, image="gpubox:v1"):
    out = gpu.ok("run", "--rm", *flags, image, "sh", "-c", SHOW)
    dev, ld, env, mounts, smi = out.split("---\n")
    return set(dev.split()), ldcache(ld), env.splitlines(), mounts.splitlines(), smi


def test_gpus_all(gpu):
    dev, ld, env, mounts, smi = show(gpu, "--gpus", "all")
    assert {"nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm"} <= dev
    assert {"libcuda.so.1", "libnvidia-ml.so.1"} <= ld
    assert "NVIDIA_VISIBLE_DEVICES=all" in env
    assert any(e.startswith("NVIDIA_DRIVER_CAPABILITIES=") for e in env)
    assert "GPU 0: NVIDIA H100" in smi and "GPU 1: NVIDIA H100" in smi
    lib = [m.split() for m in mounts if m.split()[1] == f"{LIBDIR}/libcuda.so.{DRIVER}"]
    assert len(lib) == 1, mounts
    assert lib[0][3].split(",")[0] == "ro", lib


def test_gpus_one_device(gpu):
    dev, ld, env, _, smi = show(gpu, "--gpus", "device=1")
    assert "nvidia1" in dev and "nvidia0" not in dev
    assert "NVIDIA_VISIBLE_DEVICES=1" in env
    assert "libcuda.so.1" in ld


def test_gpus_count(gpu):
    dev, _, _, _, _ = show(gpu, "--gpus", "1")
    assert "nvidia0" in dev and "nvidia1" not in dev


def test_gpus_utility_only(gpu):
    dev, ld, env, mounts, smi = show(gpu, "--gpus", '"capabilities=utility"')
    assert "libnvidia-ml.so.1" in ld
    assert "libcuda.so.1" not in ld
    assert not any("libcuda" in m for m in mounts)
    assert "NVIDIA_DRIVER_CAPABILITIES=utility" in env
    assert "GPU 0:" in smi


def test_no_gpus_asked_gets_none(gpu):
    dev, ld, env, _, _ = show(gpu)
    assert not any(d.startswith("nvidia") for d in dev)
    assert "libcuda.so.1" not in ld
    assert not any(e.startswith("NVIDIA_") for e in env)


@pytest.mark.parametrize("value,words", [
    ("4", ["--gpus 4", "2 GPUs"]),
    ("device=5", ["no GPU 5"]),
    ('"capabilities=compute,warp"', ["unknown capability", "warp"]),
    ("bogus=1", ["bogus"]),
    ('"device=0,1', ["quote"]),
])
def test_bad_gpus_values_leave_nothing(gpu, value, words):
    line = gpu.refused("--rm", "--gpus", value, "gpubox:v1", "true")
    for w in words:
        assert w in line, line


def test_unknown_capability_in_the_environment(gpu):
    line = gpu.refused("--gpus", "all", "-e", "NVIDIA_DRIVER_CAPABILITIES=compute,warp",
                       "gpubox:v1", "true")
    assert line.startswith("hull: error: NVIDIA_DRIVER_CAPABILITIES") and "warp" in line, line


def test_no_driver(gpu, tmp_path):
    empty = tmp_path / "no-driver"
    empty.mkdir()
    line = gpu.refused("--gpus", "all", "gpubox:v1", "true",
                       env={"HULL_DRIVER_ROOT": str(empty)})
    assert "no NVIDIA driver found" in line and str(empty) in line


def test_malformed_require_cuda(gpu, ld_tar):
    gpu.hull.ok("import", "-c", "ENV NVIDIA_REQUIRE_CUDA=cuda>>12", ld_tar, "badreq:v1")
    line = gpu.refused("--gpus", "all", "badreq:v1", "true")
    assert "NVIDIA_REQUIRE_CUDA" in line and "cuda>>12" in line
    res = gpu.run("gpu", "check", "badreq:v1")
    assert res.rc == 1 and "NVIDIA_REQUIRE_CUDA" in res.stderr, res.describe()


def test_cdi_gpu_names_get_the_cuda_check(gpu, ld_tar):
    gpu.ok("gpu", "cdi", "generate", "-o", gpu.cdi_dir / "nvidia.yaml")
    gpu.hull.ok("import", "-c", "ENV NVIDIA_REQUIRE_CUDA=cuda>=12.6", ld_tar, "cdi126:v1")
    line = gpu.refused("--device", "nvidia.com/gpu=0", "cdi126:v1", "true")
    assert "12.6" in line and "560.28.03" in line, line


def test_image_needing_newer_cuda_is_refused(gpu, ld_tar):
    gpu.hull.ok("import", "-c", "ENV NVIDIA_REQUIRE_CUDA=cuda>=12.6", ld_tar, "cuda126:v1")
    line = gpu.refused("--rm", "--gpus", "all", "cuda126:v1", "true")
    assert "12.6" in line and DRIVER in line and "560.28.03" in line, line
    res = gpu.run("gpu", "check", "cuda126:v1")
    assert res.rc == 1, res.describe()
    assert "12.6" in res.stdout and "560.28.03" in res.stdout
    # The user's way out: the check turned off.
    out = gpu.ok("run", "--rm", "--gpus", "all", "-e", "NVIDIA_DISABLE_REQUIRE=1", "cuda126:v1",
                 "sh", "-c", "ls /dev/nvidia0")
    assert out == "/dev/nvidia0\n"
    # Without --gpus nothing is checked.
    gpu.ok("run", "--rm", "cuda126:v1", "true")


def test_gpu_check_yes(gpu, ld_tar):
    gpu.hull.ok("import", "-c", "ENV CUDA_VERSION=12.2.0", ld_tar, "cuda122:v1")
    out = gpu.ok("gpu", "check", "cuda122:v1")
    assert out.startswith("ok:") and DRIVER in out
    res = gpu.run("gpu", "check", "no-such:image")
    assert res.rc == 1 and "no-such:image" in res.stderr


def test_forward_compat_libraries_make_it_run(gpu, compat_tar):
    gpu.hull.ok("import", "-c", "ENV NVIDIA_REQUIRE_CUDA=cuda>=12.6", compat_tar, "compat:v1")
    assert gpu.ok("gpu", "check", "compat:v1").startswith("ok:")
    out = gpu.ok("run", "--rm", "--gpus", "all", "compat:v1", "sh", "-c", "ldconfig -p")
    cuda = [line for line in out.splitlines() if line.split()[:1] == ["libcuda.so.1"]]
    assert cuda, out
    # The compat library comes first in the ld cache's search order.
    assert "/usr/local/cuda/compat/" in cuda[0], out
    # The same through a CDI device.
    gpu.ok("gpu", "cdi", "generate", "-o", gpu.cdi_dir / "nvidia.yaml")
    out = gpu.ok("run", "--rm", "--device", "nvidia.com/gpu=all", "compat:v1", "ldconfig", "-p")
    cuda = [line for line in out.splitlines() if line.split()[:1] == ["libcuda.so.1"]]
    assert cuda and "/usr/local/cuda/compat/" in cuda[0], out


def test_exec_into_a_gpu_container(gpu):
    cid = gpu.ok("run", "-d", "--gpus", "all", "gpubox:v1", "sleep", "300").strip()
    try:
        smi = gpu.ok("exec", cid, "nvidia-smi", "-L")
        assert "GPU 0:" in smi and "GPU 1:" in smi
        env = gpu.ok("exec", cid, "env")
        assert "NVIDIA_VISIBLE_DEVICES=all" in env.splitlines()
        assert "libcuda.so.1" in ldcache(gpu.ok("exec", cid, "ldconfig", "-p"))
        # Docker's Mounts[] lists what the user mounted, not the driver's files.
        assert inspect(gpu.hull, cid)["Mounts"] == []
    finally:
        gpu.hull.run("rm", "-f", cid)


def test_cdi_generate_list_and_run(gpu):
    spec_file = gpu.cdi_dir / "nvidia.yaml"
    gpu.ok("gpu", "cdi", "generate", "-o", spec_file)
    assert "nvidia.com/gpu" in spec_file.read_text()
    names = gpu.ok("gpu", "cdi", "list").split()
    assert {"nvidia.com/gpu=0", "nvidia.com/gpu=1", "nvidia.com/gpu=all"} <= set(names)
    as_json = json.loads(gpu.ok("gpu", "cdi", "generate", "--format", "json"))
    assert as_json["kind"] == "nvidia.com/gpu"
    out = gpu.ok("run", "--rm", "--device", "nvidia.com/gpu=0", "gpubox:v1", "sh", "-c",
                 "ls /dev; ldconfig -p")
    assert "nvidia0" in out.split() and "nvidia1" not in out.split()
    assert "libcuda.so.1" in ldcache(out)
    info = json.loads(gpu.ok("gpu", "info", "--format", "json"))
    assert [s["file"] for s in info["cdi"]["specs"]] == [str(spec_file)]
    # A CDI name nobody defines.
    line = gpu.refused("--device", "nvidia.com/gpu=7", "gpubox:v1", "true")
    assert "nvidia.com/gpu=7" in line


BROKEN_CDI = """cdiVersion: 0.6.0
kind: example.com/dev
devices:
  - name: one
    containerEdits:
      deviceNodes:
        - path: dev/relative
"""


def test_broken_cdi_spec(gpu):
    broken = gpu.cdi_dir / "broken.yaml"
    broken.write_text(BROKEN_CDI)
    line = gpu.refused("--device", "example.com/dev=one", "gpubox:v1", "true")
    assert str(broken) in line and "deviceNodes" in line, line
    res = gpu.run("gpu", "cdi", "list")
    assert res.rc == 0 and str(broken) in res.stderr, res.describe()


def test_gpu_info(gpu):
    out = gpu.ok("gpu", "info")
    lines = out.splitlines()
    assert lines[0] == f"Driver: {DRIVER} (CUDA 12.4)"
    assert lines[1].startswith("GPU 0: NVIDIA H100 80GB HBM3, ") and "compute 9.0" in lines[1]
    assert lines[1].endswith("GPU-8c4b1a3e-0d2f-4e6a-9b7c-5f1e2d3c4b00")
    assert lines[2].startswith("GPU 1: ")
    assert any(line.startswith("CDI specs:") for line in lines)
    info = json.loads(gpu.ok("gpu", "info", "--format", "json"))
    assert info["driver"]["version"] == DRIVER and info["driver"]["cuda"] == "12.4"
    assert [g["index"] for g in info["gpus"]] == [0, 1]
    assert info["gpus"][0]["compute_capability"] == "9.0"
    assert info["gpus"][0]["memory_total_bytes"] > 0
    assert info["cdi"]["specs"] == [] and info["cdi"]["dirs"] == [str(gpu.cdi_dir)]
    # --driver-root wins over the environment.
    res = gpu.run("gpu", "info", "--driver-root", "/nonexistent-driver-root")
    assert res.rc == 1 and "no NVIDIA driver found" in res.stderr
    res = gpu.run("gpu", "info", "--format", "xml")
    assert res.rc == 1 and "--format" in res.stderr


def test_host_device(gpu):
    out = gpu.ok("run", "--rm", "--device", "/dev/null:/dev/hostnull", "gpubox:v1",
                 "ls", "-l", "/dev/hostnull")
    assert out.startswith("c") and "1,   3" in out
    line = gpu.refused("--device", "/etc/hostname", "gpubox:v1", "true")
    assert "not a device node" in line
    line = gpu.refused("--device", "/dev/null:/dev/x:rwz", "gpubox:v1", "true")
    assert "permissions" in line


def test_fake_root_without_ldconfig_image_still_runs(box, busybox_tar, fake_driver_root, tmp_path):
    """busybox alone (no ldconfig): the hook falls back to the host's, or the container runs
    with the libraries mounted all the same."""
    if shutil.which("ldconfig") is None and not LDCONFIG.is_file():
        pytest.skip("no ldconfig on this host")
    box.ok("import", busybox_tar, "plain:v1")
    out = box.ok("run", "--rm", "--gpus", "all", "plain:v1", "sh", "-c",
                 f"ls {LIBDIR}/libcuda.so.{DRIVER}",
                 env={"HULL_DRIVER_ROOT": str(fake_driver_root),
                      "HULL_CDI_SPEC_DIRS": str(tmp_path)})
    assert out.strip() == f"{LIBDIR}/libcuda.so.{DRIVER}"


def test_gpu_info_without_nvml(hull, tmp_path):
    """A driver root whose NVML is missing still shows the driver and the GPUs (from /proc)."""
    if shutil.which("gcc") is None:
        pytest.skip("the fake driver root needs gcc")
    root = make_fake_root(tmp_path / "driver", gpus=1)
    for lib in (root / LIBDIR.lstrip("/")).glob("libnvidia-ml.so*"):
        lib.unlink()
    out = hull.ok("gpu", "info", "--driver-root", root, env={"HULL_CDI_SPEC_DIRS": str(tmp_path)})
    lines = out.splitlines()
    assert lines[0] == f"Driver: {DRIVER} (CUDA 12.4)"
    assert lines[1] == "GPU 0: NVIDIA H100 80GB HBM3, GPU-8c4b1a3e-0d2f-4e6a-9b7c-5f1e2d3c4b00"
    assert lines[2].startswith("NVML: ") and "libnvidia-ml.so.1" in lines[2]
    info = json.loads(hull.ok("gpu", "info", "--format", "json", "--driver-root", root,
                              env={"HULL_CDI_SPEC_DIRS": str(tmp_path)}))
    assert info["nvml_error"] and [g["index"] for g in info["gpus"]] == [0]


@pytest.mark.parametrize("state", [b"", b"garbage", b"{}", b'{"bundle": 7}'])
def test_ldcache_hook_bad_state(hull, state):
    """The hook reads the container state from the runtime: bad input is one error line."""
    line = hull.fail("gpu", "hook", "update-ldcache", "--folder", LIBDIR, input=state)
    assert "state" in line or "bundle" in line, line
