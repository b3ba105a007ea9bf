"""`hull build` and `hull builder prune` as a user drives them: where the Dockerfile and the
context come from (-f, -f -, CONTEXT -), --target, outputs, what goes to stdout and stderr, exit
statuses, and the bad input that must fail with one clear line and change nothing."""

import bz2
import gzip
import io
import lzma
import os
import re
import shutil
import signal
import subprocess
import tarfile

import pytest

from buildfix import build, image_config, image_files, image_rootfs, write_context
from hulltest import Hull

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="hull build runs RUN steps as root")

IMAGE_ID = re.compile(r"^sha256:[0-9a-f]{64}$")


def context_tar(files: dict) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in files.items():
            data = data.encode() if isinstance(data, str) else data
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 1700000000
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def tree_listing(root) -> list:
    """(path, kind, size or link target) of everything under root."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                out.append((rel, "l", os.readlink(path)))
            elif os.path.isdir(path):
                out.append((rel, "d", 0))
            else:
                out.append((rel, "f", os.path.getsize(path)))
    return sorted(out)


def tmp_leftovers(hull: Hull) -> list:
    tmp = hull.root / "tmp"
    return sorted(os.listdir(tmp)) if tmp.exists() else []


# --- stdout, stderr, progress ---

def test_image_id_on_stdout_progress_on_stderr(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN echo out-line\n"})
    run = build(store, ctx, tag="t:1")
    assert IMAGE_ID.match(run.result.stdout.strip()), run.result.describe()
    assert run.result.stdout.strip() == store.image_id("t:1")
    err = run.result.stderr
    assert re.search(r"^#\d+ \[\d+/\d+\] RUN echo out-line$", err, re.M), err
    assert re.search(r"^#\d+ \d+\.\d{3} out-line$", err, re.M), err
    assert re.search(r"^#\d+ DONE \d+\.\d+s$", err, re.M), err


def test_quiet_prints_only_the_image_id(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN echo noisy\n"})
    res = store.run("build", "-q", "-t", "q:1", ctx)
    assert res.rc == 0, res.describe()
    assert IMAGE_ID.match(res.stdout.strip()) and res.stdout.count("\n") == 1
    assert res.stderr == ""


def test_second_build_says_cached(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN echo once > /f\n"})
    build(store, ctx, tag="t:1")
    again = build(store, ctx, tag="t:2")
    assert again.cached() == ["RUN echo once > /f"], again.describe_steps()
    nocache = build(store, ctx, "--no-cache", tag="t:3")
    assert nocache.ran() == ["RUN echo once > /f"], nocache.describe_steps()


def test_several_tags(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nENV A=1\n"})
    build(store, ctx, "-t", "two:b", tag="one:a")
    assert store.image_id("one:a") == store.image_id("two:b")


def test_warnings_at_the_end(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nCMD echo hi\n"})
    res = build(store, ctx, tag="w:1").result
    lines = res.stderr.rstrip("\n").split("\n")
    warn = [i for i, line in enumerate(lines) if line.startswith("WARNING: ")]
    assert warn, res.describe()
    assert any("Dockerfile:2" in lines[i] and "JSONArgsRecommended" in lines[i] for i in warn)
    assert warn[-1] == len(lines) - 1, "warnings come last"


def test_undefined_variable_is_checked_against_the_base_images_env(store, tmp_path):
    """UndefinedVar knows the base image's Env: PATH is defined there, NOPE nowhere."""
    ctx = write_context(tmp_path / "ctx", {
        "Dockerfile": "FROM busybox\nENV A=$NOPE B=$PATH\n"})
    res = build(store, ctx, tag="uv:1").result
    warn = [line for line in res.stderr.splitlines() if "UndefinedVar" in line]
    assert len(warn) == 1 and "$NOPE" in warn[0], res.describe()


# --- where the Dockerfile and the context come from ---

def test_file_flag_and_dockerfile_from_stdin(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"data.txt": "ctx-data\n",
                                           "other.Dockerfile": "FROM busybox\nCOPY data.txt /f\n"})
    build(store, ctx, "-f", ctx / "other.Dockerfile", tag="f:1")
    assert image_files(store, "f:1")["f"] == b"ctx-data\n"
    build(store, ctx, "-f", "-", tag="f:2", input=b"FROM busybox\nCOPY data.txt /g\n")
    assert image_files(store, "f:2")["g"] == b"ctx-data\n"


def test_context_from_stdin_dockerfile_only(store, tmp_path):
    build(store, "-", tag="s:1", input=b"FROM busybox\nRUN echo no-context > /n\n")
    assert image_files(store, "s:1")["n"] == b"no-context\n"
    res = build(store, "-", tag="s:2", input=b"FROM busybox\nCOPY x /x\n", expect_ok=False).result
    assert res.rc == 1 and "x" in res.stderr


def compress(kind: str, data: bytes) -> bytes:
    if kind == "gz":
        return gzip.compress(data, mtime=0)
    if kind == "bz2":
        return bz2.compress(data)
    if kind == "xz":
        return lzma.compress(data)
    if kind == "zst":
        if shutil.which("zstd") is None:
            pytest.skip("zstd is not installed")
        return subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True,
                              check=True).stdout
    return data


@pytest.mark.parametrize("kind", ["tar", "gz", "bz2", "xz", "zst"])
def test_context_archive_from_stdin(store, tmp_path, kind):
    data = compress(kind, context_tar({
        "Dockerfile": "FROM busybox\nCOPY app/ /app/\n",
        "app/main.py": "print(1)\n"}))
    build(store, "-", tag="a:1", input=data)
    assert image_files(store, "a:1")["app/main.py"] == b"print(1)\n"
    assert tmp_leftovers(store) == [], "the unpacked context is removed after the build"


def test_context_archive_with_file_flag(store, tmp_path):
    data = context_tar({"build/Custom": "FROM busybox\nCOPY v /v\n", "v": "7\n"})
    build(store, "-", "-f", "build/Custom", tag="a:2", input=data)
    assert image_files(store, "a:2")["v"] == b"7\n"


def test_archive_escaping_the_context_is_refused(store, tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("../escape")
        info.size = 1
        tf.addfile(info, io.BytesIO(b"x"))
    res = store.run("build", "-q", "-", input=buf.getvalue())
    assert res.rc == 1, res.describe()
    assert not (store.root.parent / "escape").exists()
    assert tmp_leftovers(store) == []


# --- --target ---

def test_target_builds_only_what_it_needs(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        "FROM busybox AS base\n"
        "RUN echo base > /base\n"
        "FROM base AS unused\n"
        "RUN echo never-run > /unused\n"
        "FROM base AS wanted\n"
        "RUN echo wanted > /wanted\n"
        "FROM busybox\n"
        "RUN echo last > /last\n")})
    run = build(store, ctx, "--target", "wanted", tag="tg:1")
    files = image_files(store, "tg:1")
    assert files["base"] == b"base\n" and files["wanted"] == b"wanted\n"
    assert "unused" not in files and "last" not in files
    texts = " ".join(s.text for s in run.steps)
    assert "never-run" not in texts and "echo last" not in texts, run.describe_steps()


# --- outputs ---

def test_output_local(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN echo out > /o.txt\n"})
    dest = tmp_path / "rootfs"
    build(store, ctx, "--output", f"type=local,dest={dest}", tag="loc:1")
    assert (dest / "o.txt").read_text() == "out\n"
    assert (dest / "bin" / "busybox").is_file()
    assert tree_listing(dest) == tree_listing(image_rootfs(store, "loc:1", tmp_path / "x"))


def test_output_oci_then_load(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN echo oci > /o\n"})
    out = tmp_path / "img.tar"
    run = build(store, ctx, "--output", f"type=oci,dest={out}", tag="exp:1")
    assert out.is_file()
    other = Hull(store.binary, tmp_path / "other")
    other.ok("load", "-i", out)
    [name] = other.names()
    assert other.image_id(name) == run.image_id
    assert image_files(other, name)["o"] == b"oci\n"


def test_output_docker_archive_loads(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nENV D=1\n"})
    out = tmp_path / "img-docker.tar"
    build(store, ctx, "--output", f"type=docker,dest={out}", tag="exp:2")
    other = Hull(store.binary, tmp_path / "other")
    other.ok("load", "-i", out)
    assert other.names(), "the docker archive loads"


# --- reproducible builds ---

def test_source_date_epoch_from_env_and_flag(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN echo r > /r\n"})
    build(store, ctx, tag="r:1", env={"SOURCE_DATE_EPOCH": "1000000000"})
    assert image_config(store, "r:1")["created"].startswith("2001-09-09T01:46:40")
    build(store, ctx, "--no-cache", "--source-date-epoch", "0", tag="r:2",
          env={"SOURCE_DATE_EPOCH": "1000000000"})
    assert image_config(store, "r:2")["created"].startswith("1970-01-01T00:00:00"), \
        "the flag wins over the environment"


# --- running what was built ---

def test_run_the_built_image(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        "FROM busybox\n"
        "WORKDIR /srv\n"
        "ENV GREETING=hello\n"
        "RUN echo built > state\n"
        'CMD ["sh", "-c", "echo $GREETING $(cat state) $(pwd)"]\n')})
    build(store, ctx, tag="runme:1")
    out = store.ok("run", "--rm", "runme:1")
    assert out == "hello built /srv\n"


# --- bad input: one clear line, nothing changed ---

def image_list(hull: Hull) -> str:
    return hull.ok("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}")


def fails_cleanly(hull: Hull, *args, **kw) -> str:
    before = hull.snapshot()
    images = image_list(hull)
    line = hull.fail("build", "-q", *args, **kw)
    assert image_list(hull) == images
    assert hull.snapshot()["index.json"] == before["index.json"]
    return line


def test_unknown_target(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox AS one\n"})
    line = fails_cleanly(store, "--target", "nosuch", ctx)
    assert "nosuch" in line


def test_copy_from_unknown_stage_or_image(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        "FROM busybox\nCOPY --from=nosuchstage /x /x\n")})
    line = fails_cleanly(store, ctx)
    assert "nosuchstage" in line


def test_copy_from_cycle(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        "FROM busybox AS a\n"
        "COPY --from=b /x /x\n"
        "FROM busybox AS b\n"
        "COPY --from=a /x /x\n")})
    line = fails_cleanly(store, "--target", "b", ctx)
    assert re.search(r"cycl|circular|depend|stage", line, re.I), line


def test_missing_copy_source_names_the_line(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        "FROM busybox\nRUN true\nCOPY missing.txt /m\n")})
    line = fails_cleanly(store, ctx)
    assert "Dockerfile:3" in line and "missing.txt" in line


def test_failing_run_shows_status_and_last_lines(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        "FROM busybox\n"
        "RUN echo first-line && echo last-words >&2 && exit 3\n")})
    images = image_list(store)
    index = store.snapshot()["index.json"]
    res = build(store, ctx, tag="fail:1", expect_ok=False).result
    assert res.rc == 1, res.describe()
    assert "last-words" in res.stderr
    error = [line for line in res.stderr.splitlines() if line.startswith("hull: error: ")]
    assert error, res.describe()
    assert re.search(r"\b3\b", "\n".join(error)), "the error gives the exit code"
    assert "Dockerfile:2" in res.stderr
    assert image_list(store) == images and store.snapshot()["index.json"] == index


def test_bad_secret(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\n"})
    line = fails_cleanly(store, "--secret", f"id=s,src={tmp_path}/nope", ctx)
    assert "nope" in line and "--secret" in line
    line = fails_cleanly(store, "--secret", "garbage", ctx)
    assert "--secret" in line
    line = fails_cleanly(store, "--secret", "id=s,env=HULL_TEST_UNSET_VAR", ctx)
    assert "HULL_TEST_UNSET_VAR" in line


def test_bad_output(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\n"})
    line = fails_cleanly(store, "--output", "type=floppy", ctx)
    assert "floppy" in line


def test_bad_flags_and_paths(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\n"})
    assert "is not a directory" in fails_cleanly(store, tmp_path / "nope")
    assert "SOURCE_DATE_EPOCH" in fails_cleanly(store, ctx, env={"SOURCE_DATE_EPOCH": "soon"})
    assert "4 MiB" in fails_cleanly(store, "-", input=b"#" * (5 << 20))
    assert "stdin" in fails_cleanly(store, "-f", "-", "-", input=b"FROM busybox\n")
    res = store.run("build", "--network", "bridge", ctx)
    assert res.rc == 2, res.describe()


# --- builder prune ---

def test_builder_prune(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN echo c > /c\n"})
    build(store, ctx, tag="p:1")
    dry = store.ok("builder", "prune", "--dry-run")
    assert re.search(r"^Total reclaimed space: \d", dry, re.M), dry
    assert build(store, ctx, tag="p:2").cached(), "a dry run removes nothing"
    out = store.ok("builder", "prune", "-f")
    assert re.search(r"^Total reclaimed space: [0-9.]+[kMG]?B$", out, re.M), out
    again = build(store, ctx, tag="p:3")
    assert again.ran() == ["RUN echo c > /c"], again.describe_steps()
    assert "p:1" in store.names(), "images stay"


def test_builder_prune_asks_first(store, tmp_path):
    out = store.ok("builder", "prune", input=b"n\n")
    assert "Are you sure" in out and "Total reclaimed" not in out


# --- Ctrl-C ---

def test_sigint_cancels_with_status_130(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        "FROM busybox\nRUN echo started && sleep 60\n")})
    names = store.names()
    proc = subprocess.Popen([store.binary, "build", "--progress", "plain", "-t", "c:1", str(ctx)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=store.env())
    seen = b""
    try:
        for line in proc.stderr:
            seen += line
            if b" started" in line:  # the RUN's output: the step is running
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = (seen + err).decode()
    assert proc.returncode == 130, err
    assert err.rstrip("\n").split("\n")[-1] == "hull: error: build cancelled", err
    assert out == b""
    assert store.names() == names
