"""hull bootstrap NAME: a Debian base image from the package archive with mmdebstrap. Needs root,
mmdebstrap and a reachable Debian mirror; skips without them. The smallest variant (essential,
about 100 MB, no apt) keeps each bootstrap to seconds; one image serves every test that only
reads it."""

import json
import os
import re
from pathlib import Path

import pytest

from bootstrapfix import need_debian_mirror
from hulltest import Hull

EPOCH = "1700000000"
EPOCH_TIME = "2023-11-14T22:13:20Z"
IMAGE = "deb/essential:bookworm"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mmdebstrap's root mode needs root")


@pytest.fixture(scope="module")
def mirror():
    return need_debian_mirror()


def bootstrap(hull: Hull, *args, env=None):
    return hull.run("bootstrap", "--variant", "essential", *args, timeout=600, env=env)


@pytest.fixture(scope="module")
def essential(hull_bin, tmp_path_factory, mirror):
    """An essential-variant image bootstrapped under SOURCE_DATE_EPOCH, and what hull said."""
    hull = Hull(hull_bin, tmp_path_factory.mktemp("bootstrap") / "root")
    res = bootstrap(hull, IMAGE, env={"SOURCE_DATE_EPOCH": EPOCH})
    assert res.rc == 0, res.describe()
    return hull, res


def test_bootstrap_makes_a_one_layer_image_that_runs(essential):
    hull, res = essential
    assert res.stdout.strip() == hull.image_id(IMAGE)
    assert len(hull.manifest(IMAGE)["layers"]) == 1
    out = hull.ok("run", "--rm", IMAGE, "cat", "/etc/debian_version")
    assert re.fullmatch(r"12\.\d+\n", out), out
    # The default command (bash) reads its script from stdin.
    assert hull.ok("run", "--rm", "-i", IMAGE, input=b"echo $BASH_VERSION\n").startswith("5.")


def test_bootstrap_config_and_history(essential):
    hull, _ = essential
    config = hull.config(IMAGE)
    assert config["created"] == EPOCH_TIME
    assert config["config"]["Cmd"] == ["bash"]
    assert config["config"]["Env"] == [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    assert config["config"]["Labels"]["org.opencontainers.image.created"] == EPOCH_TIME
    [history] = config["history"]
    assert history["created_by"] == "hull bootstrap --suite bookworm --variant essential"
    assert history["created"] == EPOCH_TIME


def test_bootstrap_prints_one_line_per_phase(essential):
    _, res = essential
    lines = res.stderr.splitlines()
    assert lines[0].startswith("bootstrapping Debian bookworm (essential variant) from ")
    assert "running apt-get update..." in lines
    assert "creating tarball..." in lines
    assert lines[-1] == f"writing image {IMAGE}"
    # mmdebstrap's own prefixes and bookkeeping stay out of the summary.
    assert not any(line.startswith(("I:", "W:")) or "tempdir" in line or "signal" in line
                   for line in lines), lines


@pytest.mark.skipif(os.environ.get("HULL_SKIP_SLOW") == "1", reason="HULL_SKIP_SLOW=1")
def test_bootstrap_is_reproducible_in_a_fresh_store(essential, hull_bin, tmp_path):
    """The same suite, variant and epoch (here by flag instead of the environment) in another
    store give the same manifest digest, as long as the mirror serves the same packages."""
    first, _ = essential
    second = Hull(hull_bin, tmp_path / "root")
    res = bootstrap(second, "--source-date-epoch", EPOCH, IMAGE)
    assert res.rc == 0, res.describe()
    assert second.manifest_desc(IMAGE)["digest"] == first.manifest_desc(IMAGE)["digest"]


def check_one_error_line(res, *words):
    assert res.rc == 1, res.describe()
    errors = [line for line in res.stderr.splitlines() if line.startswith("hull: error: ")]
    assert len(errors) == 1 and res.stderr.rstrip("\n").endswith(errors[0]), res.describe()
    for word in words:
        assert word in errors[0], res.describe()


@pytest.mark.parametrize("args,words", [
    (["BAD:Name"], ["invalid reference format"]),
    (["--variant", "custom", "ok:1"], ["--variant"]),
    (["--include", "python3;rm", "ok:1"], ["--include"]),
    (["--mirror", "ftp://example/debian", "ok:1"], ["--mirror"]),
    (["--architecture", "x86_64", "ok:1"], ["--architecture"]),
    (["--suite", "book worm", "ok:1"], ["--suite"]),
])
def test_bad_options_are_refused_before_anything_runs(hull, args, words):
    before = hull.snapshot()
    res = hull.run("bootstrap", *args)
    check_one_error_line(res, *words)
    assert len(res.stderr.splitlines()) == 1, res.describe()
    assert hull.snapshot() == before


def test_unknown_suite_fails_with_mmdebstraps_reason(hull, mirror):
    hull.ok("images")  # the store exists before, so that only bootstrap's writes would show
    before = hull.snapshot()
    res = bootstrap(hull, "--suite", "nosuchsuite", "ok:1")
    check_one_error_line(res, "nosuchsuite", "Release")
    assert hull.snapshot() == before
    assert not any(Path(hull.root, "tmp").iterdir())


def test_unreachable_mirror_fails_cleanly(hull, mirror):
    hull.ok("images")
    before = hull.snapshot()
    res = bootstrap(hull, "--mirror", "http://127.0.0.1:9/debian", "ok:1")
    check_one_error_line(res, "127.0.0.1:9")
    assert hull.snapshot() == before


def test_missing_mmdebstrap_says_how_to_install_it(hull, tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    res = hull.run("bootstrap", "ok:1", env={"PATH": str(empty)})
    check_one_error_line(res, "apt-get install mmdebstrap")
    assert hull.names() == []


def test_bootstrap_shows_in_hull_history(essential):
    hull, _ = essential
    rows = [json.loads(line) for line in
            hull.ok("history", "--no-trunc", "--format", "json", IMAGE).splitlines()]
    assert rows[0]["CreatedBy"] == "hull bootstrap --suite bookworm --variant essential"
