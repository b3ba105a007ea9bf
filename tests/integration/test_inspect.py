"""hull inspect and hull history: Docker's JSON shape and table, filled from the store."""

import json


def inspect(hull, *refs) -> list:
    out = hull.ok("inspect", *refs)
    data = json.loads(out)
    assert isinstance(data, list), f"inspect prints a JSON array, as Docker does: {out[:300]}"
    return data


def test_inspect_by_name(store, busybox_tar):
    [img] = inspect(store, "busybox:latest")
    config = store.config("busybox:latest")
    assert img["Id"] == store.image_id("busybox:latest")
    assert img["RepoTags"] == ["busybox:latest"]
    assert img["Architecture"] == config["architecture"] == "amd64"
    assert img["Os"] == config["os"] == "linux"
    assert img["RootFS"]["Type"] == "layers"
    assert img["RootFS"]["Layers"] == config["rootfs"]["diff_ids"]
    assert isinstance(img["Size"], int) and img["Size"] > 0


def test_inspect_shows_config(hull, busybox_tar):
    hull.ok("import", busybox_tar, "cfg:v1", "--change", "ENV A=b",
            "--change", 'CMD ["/bin/sh"]', "--change", "WORKDIR /root")
    [img] = inspect(hull, "cfg:v1")
    assert "A=b" in img["Config"]["Env"]
    assert img["Config"]["Cmd"] == ["/bin/sh"]
    assert img["Config"]["WorkingDir"] == "/root"


def test_inspect_by_short_id_and_short_name(store):
    image_id = store.image_id("busybox:latest")
    by_id, by_name = inspect(store, image_id.split(":")[1][:12], "busybox")
    assert by_id["Id"] == by_name["Id"] == image_id


def test_inspect_lists_every_name(store):
    store.ok("tag", "busybox", "other:v1")
    [img] = inspect(store, "other:v1")
    assert sorted(img["RepoTags"]) == ["busybox:latest", "other:v1"]


def test_history(hull, busybox_tar):
    hull.ok("import", busybox_tar, "h:v1", "--change", "ENV Q=1")
    out = hull.ok("history", "h:v1")
    header, *rows = out.strip().splitlines()
    for column in ("IMAGE", "CREATED", "CREATED BY", "SIZE"):
        assert column in header, header
    assert len(rows) == len(hull.config("h:v1")["history"]), out
