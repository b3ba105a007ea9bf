"""RUN --device in `hull build` (BuildKit's CDI devices), against a fake NVIDIA driver root: with a
CDI spec that `hull gpu cdi generate` made for it the step sees the GPU's device node and the
driver's tools, and none of it reaches the layer; a required device that no spec defines fails
the step naming the device; an optional one is left out with a warning; a broken --device value
is refused with the Dockerfile line. Needs root (device nodes, containers)."""

import json

import pytest

from buildfix import build, build_fail, image_files, write_context
from e2efix import new_layers, tar_names
from gpufix import fake_driver_root  # noqa: F401


@pytest.fixture
def cdi_dir(store, fake_driver_root, tmp_path):  # noqa: F811
    """A directory holding the CDI spec generated from the fake driver root."""
    d = tmp_path / "cdi"
    d.mkdir()
    store.ok("gpu", "cdi", "generate", "-o", d / "nvidia.json",
             env={"HULL_DRIVER_ROOT": str(fake_driver_root)})
    spec = json.loads((d / "nvidia.json").read_text())
    assert spec["kind"] == "nvidia.com/gpu"
    return d


def gpu_env(fake_driver_root, cdi_dir):  # noqa: F811
    return {"HULL_DRIVER_ROOT": str(fake_driver_root), "HULL_CDI_SPEC_DIRS": str(cdi_dir)}


def test_step_with_a_gpu_sees_it_and_leaves_no_driver_file(store, fake_driver_root, cdi_dir,
                                                          tmp_path):  # noqa: F811
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        "FROM busybox\n"
        "RUN --device=nvidia.com/gpu=all ls /dev/nvidia0 > /out\n"
        "RUN --device=nvidia.com/gpu=0,required nvidia-smi -L > /smi\n")})
    run = build(store, ctx, tag="gpu-step:1", env=gpu_env(fake_driver_root, cdi_dir))
    files = image_files(store, "gpu-step:1")
    assert files["out"] == b"/dev/nvidia0\n"
    assert files["smi"].startswith(b"GPU 0: NVIDIA H100"), files["smi"]
    # The driver's files were mounts, the ld cache hook's links and conf are taken out again:
    # each step's layer holds what the step wrote and nothing else.
    names = [sorted(n.lstrip("./") for n in tar_names(layer)) for layer in new_layers(
        store, "gpu-step:1")]
    assert names == [["out"], ["smi"]], names
    assert "optional device" not in run.result.stderr


def test_required_device_without_a_spec_fails_naming_it(store, fake_driver_root, tmp_path):  # noqa: F811
    empty = tmp_path / "no-specs"
    empty.mkdir()
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        "FROM busybox\n"
        "RUN --device=nvidia.com/gpu=all,required ls /dev/nvidia0 > /out\n")})
    res = build_fail(store, ctx, tag="gpu-step:2",
                     env={"HULL_DRIVER_ROOT": str(fake_driver_root),
                          "HULL_CDI_SPEC_DIRS": str(empty)})
    assert "Dockerfile:2: RUN --device: CDI device nvidia.com/gpu=all not found" in res.stderr, \
        res.describe()


def test_optional_device_without_a_spec_runs_without_it(store, tmp_path):
    empty = tmp_path / "no-specs"
    empty.mkdir()
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        "FROM busybox\n"
        "RUN --device=nvidia.com/gpu=all sh -c 'ls /dev/nvidia0 || echo none' > /out\n")})
    run = build(store, ctx, tag="gpu-step:3", env={"HULL_CDI_SPEC_DIRS": str(empty)})
    assert image_files(store, "gpu-step:3")["out"] == b"none\n"
    assert ("Dockerfile:2: optional device nvidia.com/gpu=all is not available, the step runs "
            "without it") in run.result.stderr, run.result.describe()


@pytest.mark.parametrize("flag,error", [
    ("--device=", 'Dockerfile:2: invalid device name "": empty (want vendor.com/class=name)'),
    ("--device=nvidia.com/gpu=all,required=perhaps",
     "Dockerfile:2: invalid value for required: perhaps"),
    ("--device=/dev/nvidia0",
     'Dockerfile:2: invalid device name "/dev/nvidia0": unqualified device, missing kind '
     "(want vendor.com/class=name)"),
])
def test_broken_device_values_are_refused(store, tmp_path, flag, error):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": f"FROM busybox\nRUN {flag} true\n"})
    res = build_fail(store, ctx, tag="gpu-step:4")
    assert error in res.stderr, res.describe()
