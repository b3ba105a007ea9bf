"""libcurl and libarchive are loaded on first use (base/curl_loader.h, base/archive_loader.h):
commands that never touch the network or a tar do not load them, and a command that needs one on
a machine where it cannot be loaded fails with one clear line and leaves the store as it was."""

import pytest


def loaded_libraries(result) -> str:
    """The `find library=` lines LD_DEBUG=libs wrote to stderr."""
    return "\n".join(line for line in result.stderr.splitlines() if "find library=" in line)


def broken_library(tmp_path, soname: str) -> dict:
    """An environment whose library path finds a file that is not a library under `soname`."""
    broken = tmp_path / "lib"
    broken.mkdir(exist_ok=True)
    (broken / soname).write_bytes(b"not a shared library\n")
    return {"LD_LIBRARY_PATH": str(broken)}


@pytest.mark.parametrize("args", [["images"], ["ps", "-a"],
                                  ["run", "--rm", "--network", "none", "busybox:latest", "true"]])
def test_local_commands_load_neither(store, args):
    store.ok("run", "--rm", "busybox:latest", "true")  # the first run unpacks the image's layers
    res = store.run(*args, env={"LD_DEBUG": "libs"})
    assert res.rc == 0, res.describe()
    libs = loaded_libraries(res)
    assert "libstdc++" in libs, "LD_DEBUG shows no library lookups:\n" + res.stderr[-2000:]
    for lib in ("libcurl", "libarchive", "libxml2", "libicu"):
        assert lib not in libs, f"hull {' '.join(args)} loaded {lib}:\n{libs}"


def test_registry_commands_load_libcurl_on_first_use(store):
    # Nothing listens on port 1: the transfer fails, after libcurl was loaded for it.
    res = store.run("pull", "127.0.0.1:1/nothing:here", env={"LD_DEBUG": "libs"})
    assert res.rc != 0, res.describe()
    assert "libcurl.so.4" in loaded_libraries(res), res.stderr[-2000:]


def test_tar_commands_load_libarchive_on_first_use(store, tmp_path):
    res = store.run("save", "-o", tmp_path / "out.tar", "busybox:latest",
                    env={"LD_DEBUG": "libs"})
    assert res.rc == 0, res.describe()
    assert "libarchive.so.13" in loaded_libraries(res), res.stderr[-2000:]
    # What it wrote is a whole archive, read back through the same loader.
    store.ok("rmi", "busybox:latest")
    store.ok("load", "-i", tmp_path / "out.tar")
    assert "busybox:latest" in store.names()


def test_pull_without_a_loadable_libcurl_is_one_clear_error(store, tmp_path):
    env = broken_library(tmp_path, "libcurl.so.4")
    before = store.snapshot()
    line = store.fail("pull", "127.0.0.1:1/nothing:here", env=env)
    assert "cannot load libcurl" in line and "libcurl.so.4" in line, line
    assert store.snapshot() == before
    # Everything else still works.
    res = store.run("run", "--rm", "--network", "none", "busybox:latest", "true", env=env)
    assert res.rc == 0, res.describe()


@pytest.mark.parametrize("command", ["import", "load", "save"])
def test_tar_commands_without_a_loadable_libarchive_are_one_clear_error(store, tmp_path,
                                                                        busybox_tar, command):
    saved = tmp_path / "saved.tar"
    store.ok("save", "-o", saved, "busybox:latest")
    store.ok("run", "--rm", "busybox:latest", "true")  # unpacked: later runs need no libarchive
    env = broken_library(tmp_path, "libarchive.so.13")
    args = {"import": ["import", busybox_tar, "other:1"],
            "load": ["load", "-i", saved],
            "save": ["save", "-o", tmp_path / "again.tar", "busybox:latest"]}[command]
    before = store.snapshot()
    line = store.fail(*args, env=env)
    assert "cannot load libarchive" in line and "libarchive.so.13" in line, line
    assert store.snapshot() == before
    assert not (tmp_path / "again.tar").exists()
    res = store.run("run", "--rm", "--network", "none", "busybox:latest", "true", env=env)
    assert res.rc == 0, res.describe()
