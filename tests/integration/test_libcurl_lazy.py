"""libcurl is loaded on first use (base/curl_loader.h): commands that never touch the network do
not load it, and a registry command on a machine where it cannot be loaded fails with one clear
line and leaves the store as it was."""


def loaded_libraries(result) -> str:
    """The `find library=` lines LD_DEBUG=libs wrote to stderr."""
    return "\n".join(line for line in result.stderr.splitlines() if "find library=" in line)


def test_local_commands_never_load_libcurl(store):
    for args in (["images"], ["run", "--rm", "--network", "none", "busybox:latest", "true"],
                 ["ps", "-a"]):
        res = store.run(*args, env={"LD_DEBUG": "libs"})
        assert res.rc == 0, res.describe()
        libs = loaded_libraries(res)
        assert "libstdc++" in libs, "LD_DEBUG shows no library lookups:\n" + res.stderr[-2000:]
        assert "libcurl" not in libs, f"hull {' '.join(args)} loaded libcurl:\n{libs}"


def test_registry_commands_load_libcurl_on_first_use(store):
    # Nothing listens on port 1: the transfer fails, after libcurl was loaded for it.
    res = store.run("pull", "127.0.0.1:1/nothing:here", env={"LD_DEBUG": "libs"})
    assert res.rc != 0, res.describe()
    assert "libcurl.so.4" in loaded_libraries(res), res.stderr[-2000:]


def test_pull_without_a_loadable_libcurl_is_one_clear_error(store, tmp_path):
    broken = tmp_path / "lib"
    broken.mkdir()
    (broken / "libcurl.so.4").write_bytes(b"not a shared library\n")
    before = store.snapshot()
    line = store.fail("pull", "127.0.0.1:1/nothing:here",
                      env={"LD_LIBRARY_PATH": str(broken)})
    assert "cannot load libcurl" in line and "libcurl.so.4" in line, line
    assert store.snapshot() == before
    # Everything else still works.
    res = store.run("run", "--rm", "--network", "none", "busybox:latest", "true",
                    env={"LD_LIBRARY_PATH": str(broken)})
    assert res.rc == 0, res.describe()
