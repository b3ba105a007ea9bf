"""A fake NVIDIA driver root for GPU tests on machines without a GPU, built by
tests/fakes/nvidia-driver/make-root.sh: /proc/driver/nvidia, device nodes (root only), libraries
with the real sonames (a fake NVML and libcuda), nvidia-smi, GSP firmware. Import the fixture
into a test module with `from gpufix import fake_driver_root  # noqa: F401`."""

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

SOURCE_DIR = Path(os.environ.get("HULL_SOURCE_DIR", Path(__file__).resolve().parents[2]))
MAKE_ROOT = SOURCE_DIR / "tests" / "fakes" / "nvidia-driver" / "make-root.sh"

DRIVER = "550.54.14"
CUDA_INT = 12040


def make_fake_root(path, gpus=2, driver=DRIVER, cuda_int=CUDA_INT, nodes=True) -> Path:
    """Builds a fake driver root at `path` and returns it. Device nodes need root."""
    cmd = [str(MAKE_ROOT), str(path), "--gpus", str(gpus), "--driver", driver,
           "--cuda-int", str(cuda_int)]
    if not nodes:
        cmd.append("--no-nodes")
    subprocess.run(cmd, check=True, timeout=120)
    return Path(path)


@pytest.fixture(scope="session")
def fake_driver_root(tmp_path_factory) -> Path:
    """A session-wide fake driver root with two GPUs and driver 550.54.14 (CUDA 12.4)."""
    if os.geteuid() != 0:
        pytest.skip("the fake driver root needs root (device nodes)")
    if shutil.which("gcc") is None:
        pytest.skip("the fake driver root needs gcc (build-essential)")
    root = make_fake_root(tmp_path_factory.mktemp("nvidia-driver") / "root")
    ctl = root / "dev" / "nvidiactl"
    if not (ctl.exists() and stat.S_ISCHR(ctl.stat().st_mode)):
        pytest.skip("mknod is not permitted here: the fake driver root has no device nodes")
    return root
