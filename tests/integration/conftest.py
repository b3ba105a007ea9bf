"""Fixtures shared by the integration tests. They drive the real hull binary (HULL_BIN, set by
ctest) against a fresh store root per test, with a busybox rootfs made once per session by
tests/fixtures/make-busybox-rootfs.sh."""

import gzip
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from hulltest import Hull
from peers import Podman

SOURCE_DIR = Path(os.environ.get("HULL_SOURCE_DIR", Path(__file__).resolve().parents[2]))


@pytest.fixture(scope="session")
def hull_bin() -> Path:
    path = Path(os.environ.get("HULL_BIN", SOURCE_DIR / "build" / "hull"))
    if not os.access(path, os.X_OK):
        pytest.exit(f"hull binary not found at {path}: build it, or set HULL_BIN", returncode=1)
    return path


@pytest.fixture(scope="session")
def fixtures_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fixtures")


@pytest.fixture(scope="session")
def busybox_tar(fixtures_dir) -> Path:
    out = fixtures_dir / "busybox.tar"
    script = SOURCE_DIR / "tests" / "fixtures" / "make-busybox-rootfs.sh"
    subprocess.run([str(script), str(out)], check=True, timeout=120)
    return out


@pytest.fixture(scope="session")
def busybox_tar_gz(busybox_tar) -> Path:
    out = busybox_tar.with_suffix(".tar.gz")
    out.write_bytes(gzip.compress(busybox_tar.read_bytes(), mtime=0))
    return out


@pytest.fixture(scope="session")
def busybox_tar_zst(busybox_tar) -> Path:
    if shutil.which("zstd") is None:
        pytest.skip("zstd is not installed (scripts/setup.sh installs it)")
    out = busybox_tar.with_suffix(".tar.zst")
    subprocess.run(["zstd", "-q", "-f", "-3", str(busybox_tar), "-o", str(out)], check=True)
    return out


@pytest.fixture
def hull(hull_bin, tmp_path) -> Hull:
    """hull with an empty store of its own."""
    return Hull(hull_bin, tmp_path / "root")


@pytest.fixture
def store(hull, busybox_tar) -> Hull:
    """hull with busybox:latest imported."""
    hull.ok("import", busybox_tar, "busybox:latest")
    return hull


@pytest.fixture(scope="session")
def podman(tmp_path_factory):
    """podman with storage, run state and config of its own, removed at the end."""
    if os.geteuid() != 0:
        pytest.skip("podman tests need root")
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed (scripts/setup.sh installs it)")
    pm = Podman(tmp_path_factory.mktemp("podman"))
    reason = pm.start()
    if reason:
        pm.cleanup()
        pytest.skip(reason)
    yield pm
    pm.cleanup()
