"""The layer cache of `hull build`, end to end (issue 4, point 2): a step is reused when its
parent, its canonical instruction (with only the build args it uses) and the content of its
sources after .dockerignore are unchanged; mtimes never matter; --no-cache runs everything.
Which steps ran is read from the plain progress output ("#N CACHED")."""

import os
import time

import pytest

from e2efix import build, image_files, layer_tars, write_context

DOCKERFILE = """\
FROM busybox AS deps
WORKDIR /deps
COPY requirements.txt ./
RUN cat requirements.txt > installed.txt && echo pip-ran

FROM busybox
ARG GREETING=hello
WORKDIR /app
COPY --from=deps /deps/installed.txt ./
RUN echo base > base.txt
RUN echo "$GREETING" > greeting.txt
COPY app/ ./src/
RUN ls -1 src > listing.txt
"""

PIP = "RUN cat requirements.txt > installed.txt && echo pip-ran"
COPY_REQ = "COPY requirements.txt ./"
COPY_DEPS = "COPY --from=deps /deps/installed.txt ./"
RUN_BASE = "RUN echo base > base.txt"
RUN_GREETING = 'RUN echo "$GREETING" > greeting.txt'
COPY_APP = "COPY app/ ./src/"
RUN_LS = "RUN ls -1 src > listing.txt"
LAYER_STEPS = [COPY_REQ, PIP, COPY_DEPS, RUN_BASE, RUN_GREETING, COPY_APP, RUN_LS]


def layer_steps(texts):
    """Only the steps that make layers (RUN/COPY/ADD): config-only steps may be shown or not."""
    return [t for t in texts if t.split(" ", 1)[0] in ("RUN", "COPY", "ADD")]


@pytest.fixture
def app(tmp_path):
    return write_context(tmp_path / "ctx", {
        "Dockerfile": DOCKERFILE,
        ".dockerignore": "notes.md\napp/*.log\n",
        "requirements.txt": "numpy==1.26.4\nrequests==2.31.0\n",
        "app/main.py": "print('v1')\n",
        "app/util.py": "X = 1\n",
        "app/debug.log": "ignored\n",
        "notes.md": "ignored too\n",
    })


@pytest.fixture
def built(store, app):
    first = build(store, app, tag="app:1")
    assert layer_steps(first.ran()) == LAYER_STEPS, first.describe_steps()
    assert first.cached() == [], first.describe_steps()
    return first


def assert_ran(run, expected):
    assert sorted(layer_steps(run.ran())) == sorted(expected), (
        f"expected only {expected} to run\n{run.describe_steps()}\n{run.result.stderr}")


def test_rebuild_is_fully_cached(store, app, built):
    again = build(store, app, tag="app:2")
    assert again.ran() == [], again.describe_steps()
    assert layer_steps(again.cached()) == LAYER_STEPS, again.describe_steps()
    assert layer_tars(store, "app:1") == layer_tars(store, "app:2")


def test_rebuild_shows_every_step_cached(store, app, built):
    """Progress says CACHED for every step of a fully cached build, config-only ones too."""
    again = build(store, app, tag="app:2")
    assert again.ran_any() == [], again.describe_steps()
    # Every step keeps the time it first ran: the same config, so the same image ID.
    assert again.image_id and again.image_id == built.image_id


def test_changed_app_code_reruns_only_the_final_copy_and_after(store, app, built):
    (app / "app" / "main.py").write_text("print('v2')\n")
    run = build(store, app, tag="app:2")
    assert_ran(run, [COPY_APP, RUN_LS])
    assert image_files(store, "app:2")["app/src/main.py"] == b"print('v2')\n"


def test_new_app_file_reruns_the_copy(store, app, built):
    (app / "app" / "extra.py").write_text("Y = 2\n")
    run = build(store, app, tag="app:2")
    assert_ran(run, [COPY_APP, RUN_LS])
    assert image_files(store, "app:2")["app/listing.txt"] == b"extra.py\nmain.py\nutil.py\n"


def test_changed_requirements_reruns_the_pip_step(store, app, built):
    (app / "requirements.txt").write_text("numpy==2.0.0\nrequests==2.31.0\n")
    run = build(store, app, tag="app:2")
    ran = layer_steps(run.ran())
    assert PIP in ran and COPY_REQ in ran, run.describe_steps()
    # The file the pip step made changed, so everything after the COPY --from re-runs.
    assert_ran(run, [COPY_REQ, PIP, COPY_DEPS, RUN_BASE, RUN_GREETING, COPY_APP, RUN_LS])
    assert image_files(store, "app:2")["app/installed.txt"].startswith(b"numpy==2.0.0")


def test_same_requirements_content_keeps_later_stage_cached(store, app, built):
    """The pip step's output is the same bytes: steps after COPY --from stay cached only if
    keyed by content. Rewriting the file with the same bytes must re-run nothing."""
    (app / "requirements.txt").write_bytes((app / "requirements.txt").read_bytes())
    run = build(store, app, tag="app:2")
    assert run.ran() == [], run.describe_steps()


def test_touch_without_change_reruns_nothing(store, app, built):
    later = time.time() + 3600
    for path in app.rglob("*"):
        os.utime(path, (later, later))
    run = build(store, app, tag="app:2")
    assert run.ran() == [], run.describe_steps()
    assert layer_tars(store, "app:1") == layer_tars(store, "app:2")


def test_context_moved_elsewhere_reruns_nothing(store, app, built, tmp_path):
    """Keys never contain host paths: the same files in another directory are cache hits."""
    other = tmp_path / "elsewhere" / "ctx"
    other.parent.mkdir()
    os.rename(app, other)
    run = build(store, other, tag="app:2")
    assert run.ran() == [], run.describe_steps()


def test_no_cache_runs_everything(store, app, built):
    run = build(store, app, "--no-cache", tag="app:2")
    assert layer_steps(run.ran()) == LAYER_STEPS, run.describe_steps()
    assert run.cached() == [], run.describe_steps()
    # The cache is still used afterwards.
    again = build(store, app, tag="app:3")
    assert again.ran() == [], again.describe_steps()


def test_dockerignored_file_change_reruns_nothing(store, app, built):
    (app / "app" / "debug.log").write_text("changed, but ignored\n")
    (app / "notes.md").write_text("changed, but ignored\n")
    (app / "app" / "new.log").write_text("new, but ignored\n")
    run = build(store, app, tag="app:2")
    assert run.ran() == [], run.describe_steps()
    files = image_files(store, "app:2")
    assert "app/src/debug.log" not in files and "app/src/new.log" not in files


def test_build_arg_change_reruns_only_the_steps_that_use_it(store, app, built):
    run = build(store, app, "--build-arg", "GREETING=bonjour", tag="app:2")
    ran = layer_steps(run.ran())
    assert RUN_GREETING in ran, run.describe_steps()
    # Steps before it do not use the argument; the ones after follow their changed parent.
    for text in (COPY_REQ, PIP, COPY_DEPS, RUN_BASE):
        assert text not in ran, f"{text} does not use GREETING but re-ran\n{run.describe_steps()}"
    assert image_files(store, "app:2")["app/greeting.txt"] == b"bonjour\n"
    # The same value as the default is the same key.
    same = build(store, app, "--build-arg", "GREETING=hello", tag="app:3")
    assert same.ran() == [], same.describe_steps()
    # An argument no step declares changes nothing.
    unused = build(store, app, "--build-arg", "UNUSED=1", tag="app:4")
    assert unused.ran() == [], unused.describe_steps()


def test_cache_survives_in_the_store_across_processes(store, app, built):
    """The cache is in the store, not in one process: a second hull process sees it, and a
    tag removed does not remove the cache records."""
    store.ok("rmi", "app:1")
    run = build(store, app, tag="app:2")
    assert run.ran() == [], run.describe_steps()
