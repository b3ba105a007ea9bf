"""Peer tools run in isolation: a podman whose storage, run state, temporary files and config all
live under one directory, so tests and benchmarks never touch the host's podman state. Used by the
integration tests and by bench/import-save."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

# What podman needs on these machines (see MACHINE-NOTES: no CAP_SYS_RESOURCE, hard nofile 20000,
# no systemd).
CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{dir}/events.log"
runtime = "runc"
tmp_dir = "{state}/tmp"
volume_path = "{dir}/volumes"
image_copy_tmp_dir = "{dir}/copytmp"
"""

STORAGE_CONF = """\
[storage]
driver = "overlay"
graphroot = "{dir}/graph"
runroot = "{state}/run"
"""


def short_tmp_base():
    """/run (tmpfs on every systemd machine) when it is writable, else the system's temp dir."""
    return "/run" if os.access("/run", os.W_OK) else None


class Podman:
    def __init__(self, directory):
        self.dir = Path(directory)
        # Run state and temporary files live under a short path: with a long one (a deep test
        # directory) conmon's socket paths overflow, and every `podman run` waits out a 20 s
        # timeout before it returns.
        self.state = Path(tempfile.mkdtemp(prefix="podman.", dir=short_tmp_base()))
        (self.dir / "copytmp").mkdir(parents=True, exist_ok=True)
        (self.dir / "containers.conf").write_text(
            CONTAINERS_CONF.format(dir=self.dir, state=self.state))
        (self.dir / "storage.conf").write_text(STORAGE_CONF.format(dir=self.dir, state=self.state))
        self.env = dict(os.environ)
        self.env["CONTAINERS_CONF"] = str(self.dir / "containers.conf")
        self.env["CONTAINERS_STORAGE_CONF"] = str(self.dir / "storage.conf")
        self.env["TMPDIR"] = str(self.dir / "copytmp")

    def run(self, *args, check=True, timeout=300, **kw):
        proc = subprocess.run(["podman", *map(str, args)], env=self.env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout, **kw)
        if check and proc.returncode != 0:
            raise AssertionError(f"podman {' '.join(map(str, args))}: exit status "
                                 f"{proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}")
        return proc

    def start(self):
        """Returns None when podman works here, else the reason it does not."""
        proc = self.run("info", "--format", "{{.Store.GraphRoot}}", check=False, timeout=120)
        if proc.returncode != 0:
            return f"podman does not start here: {proc.stderr.strip()[:300]}"
        if Path(proc.stdout.strip()) != self.dir / "graph":
            return f"podman ignored the isolated storage config (graph root {proc.stdout.strip()})"
        return None

    def image_id(self, ref) -> str:
        out = self.run("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()
        return out if out.startswith("sha256:") else "sha256:" + out

    def cleanup(self):
        self.run("rm", "-a", "-f", check=False, timeout=120)
        self.run("rmi", "-a", "-f", check=False, timeout=120)
        # Whatever podman left mounted under its directory goes before the files do.
        mounts = []
        with open("/proc/mounts") as f:
            for line in f:
                target = line.split()[1].replace("\\040", " ")
                for top in (str(self.dir), str(self.state)):
                    if target == top or target.startswith(top + "/"):
                        mounts.append(target)
        for target in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", target], check=False, capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(self.state, ignore_errors=True)
