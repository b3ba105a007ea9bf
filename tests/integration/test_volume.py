"""hull volume create | ls | inspect | rm | prune: named volumes under $HULL_ROOT/volumes, the
way Docker's local driver keeps them."""

import json
import os
import re

import pytest


def volume_names(hull) -> list:
    return sorted(hull.ok("volume", "ls", "-q").split())


def fake_container(hull, volume: str, ident: str = "c" * 64):
    """A container record whose config.json mounts the volume: what `rm` checks."""
    d = hull.root / "containers" / ident
    d.mkdir(parents=True)
    source = str(hull.root / "volumes" / volume / "_data")
    (d / "config.json").write_text(json.dumps(
        {"ociVersion": "1.0.2",
         "mounts": [{"destination": "/data", "type": "bind", "source": source,
                     "options": ["rbind"]}]}))
    return d


def test_create_inspect_ls_rm(hull):
    assert hull.ok("volume", "create", "models", "--label", "team=ml").strip() == "models"
    assert hull.ok("volume", "create", "models").strip() == "models", "create is idempotent"
    info = json.loads(hull.ok("volume", "inspect", "models"))
    assert isinstance(info, list) and len(info) == 1
    v = info[0]
    assert v["Name"] == "models"
    assert v["Driver"] == "local"
    assert v["Scope"] == "local"
    assert v["Labels"] == {"team": "ml"}
    assert v["Mountpoint"] == str(hull.root / "volumes" / "models" / "_data")
    assert os.path.isdir(v["Mountpoint"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", v["CreatedAt"]), v["CreatedAt"]
    assert json.loads((hull.root / "volumes" / "models" / "volume.json").read_text())["Name"] == "models"

    table = hull.ok("volume", "ls").splitlines()
    assert table[0].split() == ["DRIVER", "VOLUME", "NAME"]
    assert table[1].split() == ["local", "models"]
    assert hull.ok("volume", "inspect", "--format", "{{.Driver}}", "models").strip() == "local"

    assert hull.ok("volume", "rm", "models").strip() == "models"
    assert volume_names(hull) == []
    assert not (hull.root / "volumes" / "models").exists()


def test_anonymous_create_gets_a_random_name(hull):
    name = hull.ok("volume", "create").strip()
    assert re.fullmatch(r"[0-9a-f]{64}", name), name
    assert volume_names(hull) == [name]


def test_bad_names_and_missing_volumes(hull):
    err = hull.fail("volume", "create", "../escape")
    assert "invalid volume name" in err
    err = hull.fail("volume", "create", "a")
    assert "invalid volume name" in err
    assert not (hull.root / "escape").exists()
    err = hull.fail("volume", "inspect", "nothere")
    assert "no such volume: nothere" in err
    err = hull.fail("volume", "rm", "nothere")
    assert "no such volume: nothere" in err
    hull.ok("volume", "rm", "-f", "nothere")
    assert "only the local driver" in hull.fail("volume", "create", "-d", "nfs", "x1")


def test_in_use_volume_is_refused_even_with_force(hull):
    hull.ok("volume", "create", "busy")
    container = fake_container(hull, "busy")
    for args in (["volume", "rm", "busy"], ["volume", "rm", "-f", "busy"]):
        err = hull.fail(*args)
        assert "volume is in use" in err and "c" * 12 in err, err
    assert volume_names(hull) == ["busy"]
    # prune -a leaves it too, and ls can tell used from dangling volumes
    hull.ok("volume", "create", "idle")
    assert hull.ok("volume", "ls", "-q", "-f", "dangling=true").split() == ["idle"]
    assert hull.ok("volume", "ls", "-q", "-f", "dangling=false").split() == ["busy"]
    hull.ok("volume", "prune", "-a", "-f")
    assert volume_names(hull) == ["busy"]
    (container / "config.json").unlink()
    container.rmdir()
    hull.ok("volume", "rm", "busy")


def test_prune_default_takes_only_anonymous(hull):
    anon = hull.ok("volume", "create").strip()
    hull.ok("volume", "create", "named")
    out = hull.ok("volume", "prune", "-f")
    assert anon in out
    assert volume_names(hull) == ["named"]


def test_ls_filters_and_formats(hull):
    hull.ok("volume", "create", "alpha", "--label", "tier=db")
    hull.ok("volume", "create", "beta")
    assert hull.ok("volume", "ls", "-q", "-f", "label=tier").split() == ["alpha"]
    assert hull.ok("volume", "ls", "-q", "-f", "label=tier=web").split() == []
    assert hull.ok("volume", "ls", "-q", "-f", "name=bet").split() == ["beta"]
    rows = [json.loads(line) for line in hull.ok("volume", "ls", "--format", "json").splitlines()]
    assert [r["Name"] for r in rows] == ["alpha", "beta"]
    assert hull.ok("volume", "ls", "--format", "{{.Name}}:{{.Driver}}").split() == [
        "alpha:local", "beta:local"]
    assert "invalid filter" in hull.fail("volume", "ls", "-f", "colour=red")


def test_named_volume_persists_across_containers(store):
    """With `hull run`: data written through -v NAME:/dst outlives the container."""
    if os.geteuid() != 0:
        pytest.skip("running containers needs root")
    probe = store.run("run", "--help")
    if probe.rc != 0:
        pytest.skip("this build has no `hull run`")
    store.ok("run", "--rm", "-v", "keep:/data", "busybox", "sh", "-c", "echo kept > /data/f")
    assert (store.root / "volumes" / "keep" / "_data" / "f").read_text() == "kept\n"
    out = store.ok("run", "--rm", "-v", "keep:/data:ro", "busybox", "cat", "/data/f")
    assert out == "kept\n"
    store.ok("volume", "rm", "keep")
