"""hull system df, prune and fsck: disk usage, garbage collection and the integrity check, with
damage done to the store on disk by hand."""

from hulltest import prune_args


def layer_digest(hull, name):
    return hull.manifest(name)["layers"][0]["digest"]


def fsck_fails(hull, digest, image):
    res = hull.run("system", "fsck")
    assert res.rc == 1, "fsck must fail on a damaged store\n" + res.describe()
    text = res.stdout + res.stderr
    assert digest.split(":")[1] in text, "fsck names the blob\n" + res.describe()
    assert image in text, "fsck names the image the blob breaks\n" + res.describe()
    return text


def flip_byte(path, offset):
    path.chmod(0o644)
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0xFF]))


def test_fsck_clean_store(store):
    res = store.run("system", "fsck")
    assert res.rc == 0, res.describe()


def test_fsck_empty_store(hull):
    hull.ok("system", "fsck")


def test_fsck_finds_a_corrupt_layer(store):
    digest = layer_digest(store, "busybox:latest")
    path = store.blob_path(digest)
    flip_byte(path, path.stat().st_size // 2)
    text = fsck_fails(store, digest, "busybox:latest")
    assert "corrupt" in text.lower() or "mismatch" in text.lower() or "match" in text.lower()


def test_fsck_finds_a_corrupt_config(store, busybox_tar):
    store.ok("tag", "busybox", "second:v1")
    digest = store.config_digest("busybox:latest")
    flip_byte(store.blob_path(digest), 5)
    text = fsck_fails(store, digest, "busybox:latest")
    assert "second:v1" in text, "every image the blob breaks is named"


def test_fsck_finds_a_missing_blob(store):
    digest = layer_digest(store, "busybox:latest")
    store.blob_path(digest).unlink()
    text = fsck_fails(store, digest, "busybox:latest")
    assert "missing" in text.lower()


def test_fsck_finds_a_missing_manifest(store):
    digest = store.manifest_desc("busybox:latest")["digest"]
    store.blob_path(digest).unlink()
    fsck_fails(store, digest, "busybox:latest")


def test_prune_on_a_clean_store_removes_nothing(store):
    before = store.snapshot()
    store.ok(*prune_args(store))
    assert store.snapshot() == before


def test_prune_removes_a_stray_blob(store):
    stray = store.root / "blobs" / "sha256" / ("ab" * 32)
    stray.write_bytes(b"not referenced by anything")
    store.ok(*prune_args(store))
    assert not stray.exists()
    store.ok("system", "fsck")


def test_df_changes_with_content(hull, busybox_tar):
    empty = hull.ok("system", "df")
    assert empty.strip(), "df prints a report"
    hull.ok("import", busybox_tar, "busybox:latest")
    full = hull.ok("system", "df")
    assert full != empty
    hull.ok("rmi", "busybox:latest")
    unreferenced = hull.ok("system", "df")
    assert unreferenced != full
    hull.ok(*prune_args(hull))
    assert hull.ok("system", "df") == empty
