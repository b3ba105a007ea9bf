"""hull import TARBALL|- NAME[:TAG] [--change ...]: a rootfs tarball (plain, gzip or zstd, from a
file or stdin) becomes a one-layer image whose layer is the tarball's bytes."""

import json
import re

from hulltest import SHA256_HEX, sha256_file


def check_busybox_image(hull, name, tar):
    manifest = hull.manifest(name)
    assert manifest["schemaVersion"] == 2
    assert manifest["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
    assert len(manifest["layers"]) == 1
    layer = manifest["layers"][0]
    assert layer["mediaType"].startswith("application/vnd.oci.image.layer.v1.tar")
    assert layer["size"] == hull.blob_path(layer["digest"]).stat().st_size
    hull.blob(layer["digest"])  # named by its own digest

    config = hull.config(name)
    assert config["architecture"] == "amd64"
    assert config["os"] == "linux"
    assert config["rootfs"]["type"] == "layers"
    # The layer's bytes pass through unchanged: the diff ID is the tarball's own digest.
    assert config["rootfs"]["diff_ids"] == [sha256_file(tar)]
    return manifest, config


def printed_id(out: str) -> str:
    """Docker prints the new image ID (sha256:...) on the last line."""
    last = out.strip().splitlines()[-1]
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", last), f"no image ID printed: {out!r}"
    return last


def test_import_plain_tar(hull, busybox_tar):
    out = hull.ok("import", busybox_tar, "busybox:latest")
    assert hull.names() == ["busybox:latest"]
    check_busybox_image(hull, "busybox:latest", busybox_tar)
    assert printed_id(out) == hull.image_id("busybox:latest")


def test_import_without_tag_means_latest(hull, busybox_tar):
    hull.ok("import", busybox_tar, "busybox")
    assert hull.names() == ["busybox:latest"]


def test_import_compressed_gives_the_same_diff_id(hull, busybox_tar, busybox_tar_gz,
                                                  busybox_tar_zst):
    hull.ok("import", busybox_tar_gz, "bb:gz")
    hull.ok("import", busybox_tar_zst, "bb:zst")
    check_busybox_image(hull, "bb:gz", busybox_tar)
    check_busybox_image(hull, "bb:zst", busybox_tar)


def test_import_from_stdin(hull, busybox_tar):
    with open(busybox_tar, "rb") as f:
        out = hull.ok("import", "-", "fromstdin:v1", stdin=f)
    check_busybox_image(hull, "fromstdin:v1", busybox_tar)
    assert printed_id(out) == hull.image_id("fromstdin:v1")


def test_import_same_tar_twice_shares_the_layer_blob(hull, busybox_tar):
    hull.ok("import", busybox_tar, "a:1")
    hull.ok("import", busybox_tar, "b:1")
    assert hull.manifest("a:1")["layers"] == hull.manifest("b:1")["layers"]
    layer_hex = hull.manifest("a:1")["layers"][0]["digest"].split(":")[1]
    blobs = [p.name for p in (hull.root / "blobs" / "sha256").iterdir()]
    assert blobs.count(layer_hex) == 1
    assert all(SHA256_HEX.match(b) for b in blobs), blobs


def test_import_again_moves_the_name(hull, busybox_tar, busybox_tar_gz):
    hull.ok("import", busybox_tar, "bb:latest")
    first = hull.image_id("bb:latest")
    hull.ok("import", busybox_tar, "bb:latest", "--change", "ENV X=1")
    # The image the name left stays as a dangling (untagged) image, as in Docker.
    assert hull.names() == ["", "bb:latest"]
    assert hull.image_id("bb:latest") != first


def test_import_with_changes(hull, busybox_tar):
    hull.ok("import", busybox_tar, "changed:v1",
            "--change", "ENV FOO=bar",
            "--change", 'CMD ["/bin/sh", "-c", "echo hi"]',
            "--change", 'ENTRYPOINT ["/bin/env"]',
            "--change", "WORKDIR /tmp",
            "--change", "USER app",
            "--change", "EXPOSE 8080",
            "--change", "LABEL org.example.team=ml",
            "--change", "VOLUME /data")
    c = hull.config("changed:v1")["config"]
    assert "FOO=bar" in c["Env"]
    assert c["Cmd"] == ["/bin/sh", "-c", "echo hi"]
    assert c["Entrypoint"] == ["/bin/env"]
    assert c["WorkingDir"] == "/tmp"
    assert c["User"] == "app"
    assert c["ExposedPorts"] == {"8080/tcp": {}}
    assert c["Labels"] == {"org.example.team": "ml"}
    assert c["Volumes"] == {"/data": {}}


def test_import_shell_form_cmd(hull, busybox_tar):
    hull.ok("import", busybox_tar, "shellform:v1", "--change", "CMD echo hello world")
    assert hull.config("shellform:v1")["config"]["Cmd"] == ["/bin/sh", "-c", "echo hello world"]


def test_import_records_history(hull, busybox_tar):
    hull.ok("import", busybox_tar, "hist:v1")
    config = hull.config("hist:v1")
    history = config.get("history", [])
    assert len([h for h in history if not h.get("empty_layer")]) == 1, json.dumps(config)


def test_root_flag_overrides_env(hull, busybox_tar, tmp_path):
    other = tmp_path / "other-root"
    hull.ok("--root", other, "import", busybox_tar, "elsewhere:v1")
    assert (other / "index.json").exists()
    assert not (hull.root / "index.json").exists() or hull.names() == []


def test_store_root_is_an_oci_layout(hull, busybox_tar):
    hull.ok("import", busybox_tar, "busybox:latest")
    layout = json.loads((hull.root / "oci-layout").read_text())
    assert layout == {"imageLayoutVersion": "1.0.0"}
    index = hull.index()
    assert index["schemaVersion"] == 2
    desc = hull.manifest_desc("busybox:latest")
    assert desc["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert desc["size"] == hull.blob_path(desc["digest"]).stat().st_size
