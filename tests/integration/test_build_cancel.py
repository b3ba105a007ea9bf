"""Ctrl-C in the middle of `hull build` (issue 4, "Bad input"): SIGINT at random points — a RUN
sleeping, a COPY of a big file, the commit of a big RUN — exits 130 with no new image, no mount
left (/proc/self/mountinfo), no process of the build left, nothing left in the store's tmp/, and
the next build succeeds, reusing the steps that completed before (CACHED).

The delays are drawn from a seeded generator, printed with each case, so a failure can be
replayed with HULL_CANCEL_SEED."""

import os
import random
import select
import signal
import subprocess
import time

import pytest

from e2efix import build, image_files, mounts_under, parse_progress, tmp_entries, write_context

SEED = int(os.environ.get("HULL_CANCEL_SEED", random.randrange(1 << 30)))
MIB = 1 << 20


def start_build(store, ctx, *args):
    return subprocess.Popen(
        [store.binary, "build", "--progress", "plain", "-t", "cancel:1", *map(str, args),
         str(ctx)],
        env=store.env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)


def wait_for_line(proc, needle: str, timeout=120) -> str:
    """Reads stderr until a line holds needle; returns what was read."""
    seen = b""
    deadline = time.monotonic() + timeout
    fd = proc.stderr.fileno()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            seen += chunk
            if needle.encode() in seen:
                return seen.decode(errors="replace")
        elif proc.poll() is not None:
            break
    raise AssertionError(f"never saw {needle!r} (exit {proc.poll()}):\n"
                         f"{seen.decode(errors='replace')}")


def processes_with(marker: str) -> list:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmd:
            found.append(f"{pid}: {cmd}")
    return found


def interrupt(proc, delay: float) -> tuple:
    time.sleep(delay)
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def assert_clean(store, names_before, tmp_before, marker=None):
    assert store.names() == names_before, "a cancelled build left an image"
    assert mounts_under(store.root) == [], f"mounts left: {mounts_under(store.root)}"
    # The runtime may need a moment to reap; give it a short grace.
    for _ in range(20):
        left = processes_with(marker) if marker else []
        if not left:
            break
        time.sleep(0.25)
    assert not left, f"processes of the build left: {left}"
    assert tmp_entries(store) == tmp_before, f"tmp/ entries left: {tmp_entries(store)}"


# The ARG comes after the steps that must be reused: a new value re-runs only what follows it.
SLEEP_DOCKERFILE = """\
FROM busybox
RUN echo one > /one
RUN echo two > /two
ARG NAP=30
RUN sleep $NAP && echo hull-cancel-marker
RUN echo after > /after
"""


@pytest.mark.parametrize("case", range(3))
def test_sigint_during_a_sleeping_run(store, tmp_path, case):
    rng = random.Random(SEED + case)
    delay = rng.uniform(0.0, 1.5)
    print(f"seed {SEED}, case {case}: SIGINT {delay:.2f} s after the sleep step starts")
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": SLEEP_DOCKERFILE})
    names, tmp_before = store.names(), tmp_entries(store)
    proc = start_build(store, ctx, "--build-arg", "NAP=3737")
    wait_for_line(proc, "RUN sleep")
    rc, out, err = interrupt(proc, delay)
    assert rc == 130, f"exit {rc}\n{err}"
    assert "cancel" in err.lower(), err
    assert_clean(store, names, tmp_before, marker="sleep 3737")
    again = build(store, ctx, "--build-arg", "NAP=0", tag="cancel:1")
    cached = again.cached()
    assert "RUN echo one > /one" in cached and "RUN echo two > /two" in cached, \
        again.describe_steps()
    assert image_files(store, "cancel:1")["after"] == b"after\n"


def write_big(path, size, seed):
    """Incompressible bytes, quickly: a repeated random block would compress, so every MiB is
    its own."""
    rng = random.Random(seed)
    with open(path, "wb") as f:
        for _ in range(size // MIB):
            f.write(rng.randbytes(MIB))


@pytest.mark.parametrize("case", range(2))
def test_sigint_during_copy_of_a_big_file(store, tmp_path, case):
    rng = random.Random(SEED + 100 + case)
    delay = rng.uniform(0.0, 2.5)
    print(f"seed {SEED}, case {case}: SIGINT {delay:.2f} s after the COPY starts")
    ctx = write_context(tmp_path / "ctx", {
        "Dockerfile": ("FROM busybox\nRUN echo one > /one\nCOPY big.bin /big.bin\n"
                       "RUN echo after > /after\n"),
    })
    write_big(ctx / "big.bin", 384 * MIB, 7)
    names, tmp_before = store.names(), tmp_entries(store)
    proc = start_build(store, ctx)
    wait_for_line(proc, "COPY big.bin")
    rc, out, err = interrupt(proc, delay)
    if rc == 0:
        pytest.skip(f"the build finished before SIGINT ({delay:.2f} s): nothing to check")
    assert rc == 130, f"exit {rc}\n{err}"
    assert_clean(store, names, tmp_before)
    again = build(store, ctx, tag="cancel:1")
    assert "RUN echo one > /one" in again.cached(), again.describe_steps()
    assert image_files(store, "cancel:1")["after"] == b"after\n"


@pytest.mark.parametrize("case", range(2))
def test_sigint_during_commit_of_a_big_run(store, tmp_path, case):
    rng = random.Random(SEED + 200 + case)
    delay = rng.uniform(0.5, 4.0)
    print(f"seed {SEED}, case {case}: SIGINT {delay:.2f} s after the big RUN starts")
    ctx = write_context(tmp_path / "ctx", {
        "Dockerfile": ("FROM busybox\nRUN echo one > /one\n"
                       "RUN head -c 402653184 /dev/urandom > /big.bin\n"
                       "RUN echo after > /after\n"),
    })
    names, tmp_before = store.names(), tmp_entries(store)
    proc = start_build(store, ctx)
    seen = wait_for_line(proc, "RUN head -c")
    rc, out, err = interrupt(proc, delay)
    err = seen + err
    if rc == 0:
        pytest.skip(f"the build finished before SIGINT ({delay:.2f} s): nothing to check")
    assert rc == 130, f"exit {rc}\n{err}"
    steps = parse_progress(err)
    print("steps at cancel:", [(s.text, s.cached, s.done) for s in steps])
    assert_clean(store, names, tmp_before)
    again = build(store, ctx, tag="cancel:1")
    assert "RUN echo one > /one" in again.cached(), again.describe_steps()
    assert image_files(store, "cancel:1")["after"] == b"after\n"


def test_sigterm_cancels_too(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": SLEEP_DOCKERFILE})
    names, tmp_before = store.names(), tmp_entries(store)
    proc = start_build(store, ctx, "--build-arg", "NAP=3738")
    wait_for_line(proc, "RUN sleep")
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0, err
    assert_clean(store, names, tmp_before, marker="sleep 3738")
