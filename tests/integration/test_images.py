"""hull images, tag and rmi: names in index.json, the way Docker shows and changes them."""

import json
import re

from hulltest import prune_args


def short_id(image_id: str) -> str:
    return image_id.split(":")[1][:12]


def images_json(hull) -> list:
    """`hull images --format json`: a JSON array, or one JSON object per line as Docker prints.
    Returns (repository, tag, id) triples with the ID in Docker's 12-hex form."""
    out = hull.ok("images", "--format", "json").strip()
    if not out:
        return []
    try:
        rows = json.loads(out)
        rows = rows if isinstance(rows, list) else [rows]
    except json.JSONDecodeError:
        rows = [json.loads(line) for line in out.splitlines()]
    triples = []
    for row in rows:
        low = {k.lower(): v for k, v in row.items()}
        assert "repository" in low and "tag" in low and "id" in low, f"keys: {sorted(row)}"
        ident = low["id"].removeprefix("sha256:")
        assert re.fullmatch(r"[0-9a-f]{12}|[0-9a-f]{64}", ident), row
        triples.append((low["repository"], low["tag"], ident[:12]))
    return sorted(triples)


def test_images_empty_store(hull):
    out = hull.ok("images")
    lines = out.strip().splitlines()
    assert len(lines) == 1, f"expected only a header: {out!r}"
    assert images_json(hull) == []
    assert hull.ok("images", "-q").strip() == ""


def test_images_table(store, busybox_tar):
    store.ok("import", busybox_tar, "ml/serve:v1", "--change", "ENV A=1")
    out = store.ok("images")
    header, *rows = out.strip().splitlines()
    for column in ("REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"):
        assert column in header, header
    assert len(rows) == 2, out
    table = sorted(tuple(r.split()[:3]) for r in rows)
    assert table == sorted([
        ("busybox", "latest", short_id(store.image_id("busybox:latest"))),
        ("ml/serve", "v1", short_id(store.image_id("ml/serve:v1"))),
    ])


def test_images_json(store):
    assert images_json(store) == [("busybox", "latest", short_id(store.image_id("busybox:latest")))]


def test_images_quiet(store, busybox_tar):
    store.ok("import", busybox_tar, "other:v2", "--change", "ENV B=2")
    lines = store.ok("images", "-q").split()
    assert all(re.fullmatch(r"[0-9a-f]{12}", x) for x in lines), lines
    assert set(lines) == {short_id(store.image_id("busybox:latest")),
                          short_id(store.image_id("other:v2"))}


def test_tag_adds_a_name_to_the_same_image(store):
    store.ok("tag", "busybox:latest", "registry.example:5000/team/bb:v1")
    store.ok("tag", "busybox", "bb2")
    assert store.names() == ["bb2:latest", "busybox:latest", "registry.example:5000/team/bb:v1"]
    ids = {store.image_id(n) for n in store.names()}
    assert len(ids) == 1


def test_tag_by_short_and_full_id(store):
    image_id = store.image_id("busybox:latest")
    store.ok("tag", short_id(image_id), "byshort:v1")
    store.ok("tag", image_id, "byfull:v1")
    assert store.image_id("byshort:v1") == image_id
    assert store.image_id("byfull:v1") == image_id


def test_tag_docker_io_names_are_stored_familiar(store):
    store.ok("tag", "busybox", "docker.io/library/fam:v1")
    assert "fam:v1" in store.names()


def test_rmi_one_of_two_names_keeps_the_image(store):
    store.ok("tag", "busybox:latest", "keep:v1")
    out = store.ok("rmi", "busybox:latest")
    assert "busybox:latest" in out
    assert store.names() == ["keep:v1"]
    store.ok("system", "fsck")


def test_rmi_by_id_with_several_names_needs_force(store):
    store.ok("tag", "busybox:latest", "second:v1")
    image_id = store.image_id("busybox:latest")
    before = store.snapshot()
    store.fail("rmi", short_id(image_id))
    assert store.snapshot() == before
    store.ok("rmi", "-f", short_id(image_id))
    assert store.names() == []


def test_rmi_then_prune_removes_the_blobs(store):
    manifest = store.manifest("busybox:latest")
    digests = [store.manifest_desc("busybox:latest")["digest"], manifest["config"]["digest"],
               *[layer["digest"] for layer in manifest["layers"]]]
    store.ok("rmi", "busybox:latest")
    assert store.names() == []
    store.ok(*prune_args(store))
    for d in digests:
        assert not store.blob_path(d).exists(), f"{d} survived prune"
    store.ok("system", "fsck")


def test_prune_keeps_blobs_in_use(store, busybox_tar):
    store.ok("import", busybox_tar, "gone:v1", "--change", "ENV GONE=1")
    gone_config = store.config_digest("gone:v1")
    kept = store.manifest("busybox:latest")
    store.ok("rmi", "gone:v1")
    store.ok(*prune_args(store))
    assert not store.blob_path(gone_config).exists()
    # The layer is shared with busybox:latest, so it stays.
    for d in [kept["config"]["digest"], *[layer["digest"] for layer in kept["layers"]]]:
        assert store.blob_path(d).exists()
    store.ok("system", "fsck")


def test_rmi_several_at_once(store):
    store.ok("tag", "busybox", "x:1")
    store.ok("tag", "busybox", "y:1")
    store.ok("rmi", "x:1", "y:1")
    assert store.names() == ["busybox:latest"]
