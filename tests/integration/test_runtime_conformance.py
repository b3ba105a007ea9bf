"""The OCI runtime against runc: each case runs the same bundle (a private rootfs copy and state
root per runtime) under `hull-runtime run` and `runc run` in the foreground, without a terminal,
and compares what the container process sees: its stdout, normalized where values are
per-instance (namespace inodes, dates), and its exit status. docs/runtime-conformance.md lists the
cases and what each proves; where the two runtimes differ on purpose the case says why.

HULL_RUNTIME=/usr/sbin/runc runs the table runc against runc, which proves the harness itself."""

import os
import re
import uuid
from dataclasses import dataclass
from typing import Callable, Optional

import pytest

# The fixtures (rootfs_template, runc_spec, runtimes) are used by name.
from runtimefix import (Bundle, cgroup_dirs_named, processes_mentioning,  # noqa: F401
                        rootfs_template, runc_spec, runtimes)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="runtime conformance needs root")

STATUS_LINES = "grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status"
ERRNO_EACCES = 13  # seccomp's answer in the profile below; distinct from the EPERM caps give

# A small explicit profile: allow everything but unshare, mount and keyctl (runc spec has none).
SECCOMP_PROFILE = {
    "defaultAction": "SCMP_ACT_ALLOW",
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "syscalls": [{"names": ["unshare", "mount", "keyctl"], "action": "SCMP_ACT_ERRNO",
                  "errnoRet": ERRNO_EACCES}],
}

DOCKER_DEFAULT_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]


def sh(script: str) -> list:
    return ["/bin/sh", "-c", script]


# --- normalizers: what of the output is compared ---

def out_lines(p) -> list:
    return p.out.strip("\n").split("\n") if p.out.strip() else []


def status_and_lines(p, kind, spec):
    return (p.rc, out_lines(p))


def unescape(s: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)


def parse_mountinfo(text: str) -> list:
    """(mount point, fs type, ro|rw, super options) per line of /proc/self/mountinfo."""
    rows = []
    for line in text.strip().split("\n"):
        left, right = line.split(" - ", 1)
        lf, rf = left.split(), right.split()
        ro = "ro" if "ro" in lf[5].split(",") else "rw"
        rows.append((unescape(lf[4]), rf[0], ro, rf[2] if len(rf) > 2 else ""))
    return rows


def mount_set(p, kind, spec):
    """What the spec asks to be mounted, as (mount point, fs type, ro/rw): "/", every entry of
    spec.mounts and the v1 controller hierarchies under a cgroup mount; masked and read-only paths
    as (mount point, ro/rw), since the fs type of a mask is that of the /dev/null or tmpfs it binds.
    Left out: mount ids and sources (per instance), and mounts the runtime makes for itself beside
    the spec (bound device nodes, cgroup2 or name=systemd hierarchies on a hybrid host)."""
    wanted = {"/"} | {m["destination"] for m in spec.get("mounts", [])}
    cgroup_mounts = {m["destination"] for m in spec.get("mounts", []) if m.get("type") == "cgroup"}
    masks = set(spec["linux"].get("maskedPaths", [])) | set(spec["linux"].get("readonlyPaths", []))
    seen = set()
    for point, fstype, ro, superopts in parse_mountinfo(p.out):
        under_cgroup = os.path.dirname(point) in cgroup_mounts
        if point in cgroup_mounts and fstype == "tmpfs":
            # A v1 layout: a tmpfs holding the hierarchies. runc 1.1 leaves this tmpfs writable
            # and makes only the hierarchies read-only; hull honours the spec's "ro" on it too.
            seen.add((point, fstype, "ro or rw"))
        elif point in wanted or (under_cgroup and fstype == "cgroup" and "name=" not in superopts):
            seen.add((point, fstype, ro))
        elif point in masks:
            seen.add((point, "(mask)", ro))
    return (p.rc, sorted(seen))


def dev_listing(p, kind, spec):
    """/dev as name, type, device numbers, mode, owner and link target (not dates or sizes)."""
    return (p.rc, sorted(out_lines(p)))


def exec_failure(wanted_hull_status: int, what: str):
    """A process that cannot be executed. runc 1.1 exits 1 for both cases and says why on stderr;
    hull-runtime follows Docker's convention (127 not found, 126 not executable) because `hull
    run` and conmon hand that status to the user. Both must name the program."""
    def view(p, kind, spec):
        wanted = 1 if kind == "runc" else wanted_hull_status
        assert p.rc == wanted, f"{kind}: expected exit status {wanted}\n{p.describe()}"
        assert what in p.err, f"{kind}: the error does not name {what!r}\n{p.describe()}"
        return ("failed to exec", p.out)
    return view


# --- spec edits ---

def set_process(**kw):
    def edit(spec, ctx):
        spec["process"].update(kw)
    return edit


def set_user(**kw):
    def edit(spec, ctx):
        spec["process"]["user"].update(kw)
    return edit


def set_caps(caps: dict):
    def edit(spec, ctx):
        spec["process"]["capabilities"] = caps
    return edit


def chain(*edits):
    def edit(spec, ctx):
        for e in edits:
            e(spec, ctx)
    return edit


def with_seccomp(spec, ctx):
    spec["linux"]["seccomp"] = SECCOMP_PROFILE


def no_new_privs(value: bool):
    def edit(spec, ctx):
        spec["process"]["noNewPrivileges"] = value
    return edit


def rw_rootfs(spec, ctx):
    spec["root"]["readonly"] = False


def add_caps(*caps):
    def edit(spec, ctx):
        for kind in ("bounding", "effective", "permitted"):
            spec["process"]["capabilities"][kind] = sorted(
                set(spec["process"]["capabilities"].get(kind, [])) | set(caps))
    return edit


def drop_namespace(ns: str):
    def edit(spec, ctx):
        spec["linux"]["namespaces"] = [n for n in spec["linux"]["namespaces"] if n["type"] != ns]
    return edit


def resources(**kw):
    def edit(spec, ctx):
        spec["linux"].setdefault("resources", {}).update(kw)
    return edit


def add_mount(mount: dict):
    def edit(spec, ctx):
        spec["mounts"].append(mount)
    return edit


def add_bind_ro(spec, ctx):
    src = ctx["tmp_path"] / "bind-source"
    src.mkdir(exist_ok=True)
    (src / "file").write_text("from the host\n")
    spec["mounts"].append({"destination": "/hostdata", "type": "bind", "source": str(src),
                           "options": ["rbind", "ro"]})


def host_ns_view(names):
    """Per namespace: does the container's differ from the host's (inode numbers are per run)."""
    host = {n: os.readlink(f"/proc/self/ns/{n}") for n in names}

    def view(p, kind, spec):
        seen = dict(line.split(" ", 1) for line in out_lines(p))
        return (p.rc, {n: ("differs" if seen.get(n) != host[n] else "same") for n in names})
    return view


@dataclass
class Case:
    id: str
    args: list
    edit: Optional[Callable] = None
    view: Callable = status_and_lines
    check: Optional[Callable] = None  # sanity of the reference's view, so no case is vacuous
    flags: tuple = ()
    extra_fds: int = 0  # open this many fds in the caller and hand them to the runtime
    timeout: int = 60
    doc: str = ""


NS_NAMES = ["uts", "ipc", "net", "pid", "mnt", "cgroup"]
FORK_BOMB = ("cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; "
             "sh -c 'i=0; while [ $i -lt 60 ]; do sleep 30 & i=$((i+1)); done' 2>/dev/null; "
             "set -- /proc/[0-9]*; echo $#")
MEMORY_FILE = ("cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || "
               "cat /sys/fs/cgroup/memory.max")
MiB = 1024 * 1024


def check_rc(rc):
    return lambda v: v[0] == rc


CASES = [
    # --- process environment ---
    Case("env", sh("env | sort"),
         set_process(env=["PATH=/bin:/usr/bin", "FOO=bar baz", "EMPTY=", "X=1=2"]),
         check=lambda v: "FOO=bar baz" in v[1] and "HOME=/root" in v[1],
         doc="env passes verbatim; HOME is added from /etc/passwd when the spec has none"),
    Case("user-ids", sh("id; echo $HOME"),
         set_user(uid=1000, gid=1000, additionalGids=[10, 65534]),
         check=lambda v: "uid=1000" in v[1][0] and "65534" in v[1][0],
         doc="uid, gid and additional gids; HOME of uid 1000 from /etc/passwd"),
    Case("user-unknown-uid", sh("id; echo HOME=$HOME"), set_user(uid=4242, gid=4242),
         check=lambda v: v[1][0].startswith("uid=4242"),
         doc="a uid with no /etc/passwd entry still runs; HOME falls back to /"),
    Case("cwd", ["pwd"], set_process(cwd="/home/app"), check=lambda v: v[1] == ["/home/app"]),
    Case("hostname", sh("hostname; cat /proc/sys/kernel/hostname"),
         lambda spec, ctx: spec.update(hostname="conform-host"),
         check=lambda v: v[1] == ["conform-host"] * 2),
    Case("umask", sh("umask; touch /tmp/f; stat -c %a /tmp/f"),
         chain(set_user(umask=0o027), rw_rootfs), check=lambda v: v[1] == ["0027", "640"]),
    Case("oom-score-adj", ["cat", "/proc/self/oom_score_adj"], set_process(oomScoreAdj=500),
         check=lambda v: v[1] == ["500"]),
    Case("pid-1", sh("echo $$; cat /proc/1/comm"), check=lambda v: v[1][0] == "1"),
    Case("proc-self-exe", sh("readlink /proc/self/exe; readlink /proc/1/exe"),
         check=lambda v: v[1] == ["/bin/busybox", "/bin/busybox"],
         doc="the process runs the container's binary, never the runtime's (CVE-2019-5736)"),
    # --- exit status ---
    Case("exit-0", ["true"], check=check_rc(0)),
    Case("exit-7", sh("echo before; exit 7"), check=lambda v: v == (7, ["before"])),
    Case("exit-127-not-found-in-path", ["nosuchcommand"],
         view=exec_failure(127, "nosuchcommand")),
    Case("exit-127-absolute-missing", ["/no/such/file"], view=exec_failure(127, "/no/such/file")),
    Case("exit-126-not-executable", ["/bin/notexec"], view=exec_failure(126, "/bin/notexec")),
    Case("exit-137-child-kill-9", sh("sh -c 'kill -9 $$'; echo child=$?"),
         check=lambda v: v == (0, ["child=137"])),
    Case("exit-137-self-kill-9-no-pidns", sh("kill -9 $$; echo survived"),
         drop_namespace("pid"), check=check_rc(137),
         doc="without a pid namespace the shell is not an init and SIGKILL takes it: 128+9"),
    # --- capabilities, no_new_privs, seccomp ---
    Case("caps-runc-default", sh(STATUS_LINES),
         check=lambda v: "CapEff:\t0000000020000420" in v[1]),
    Case("caps-docker-default", sh(STATUS_LINES),
         set_caps({k: DOCKER_DEFAULT_CAPS for k in ("bounding", "effective", "permitted")}),
         check=lambda v: "CapBnd:\t00000000a80425fb" in v[1]),
    Case("caps-reduced-root", sh(STATUS_LINES),
         set_caps({"bounding": ["CAP_KILL", "CAP_CHOWN"], "effective": ["CAP_KILL"],
                   "permitted": ["CAP_KILL"], "inheritable": ["CAP_KILL"]}),
         check=lambda v: "CapBnd:\t0000000000000021" in v[1],
         doc="for uid 0 exec raises permitted/effective to the bounding set (kernel rule)"),
    Case("caps-ambient-nonroot", sh(STATUS_LINES),
         chain(set_user(uid=1000, gid=1000),
               set_caps({"bounding": ["CAP_KILL", "CAP_CHOWN"], "effective": ["CAP_KILL"],
                         "permitted": ["CAP_KILL"], "inheritable": ["CAP_KILL"],
                         "ambient": ["CAP_KILL"]})),
         check=lambda v: "CapAmb:\t0000000000000020" in v[1]
         and "CapEff:\t0000000000000020" in v[1]),
    Case("caps-none-nonroot", sh(STATUS_LINES),
         chain(set_user(uid=1000, gid=1000), set_caps({"bounding": ["CAP_KILL"]})),
         check=lambda v: "CapEff:\t0000000000000000" in v[1]),
    Case("no-new-privs-on", sh(STATUS_LINES), no_new_privs(True),
         check=lambda v: "NoNewPrivs:\t1" in v[1]),
    Case("no-new-privs-off", sh(STATUS_LINES), no_new_privs(False),
         check=lambda v: "NoNewPrivs:\t0" in v[1]),
    Case("seccomp-absent", sh(STATUS_LINES + "; unshare -U true; echo unshare=$?"),
         check=lambda v: "Seccomp:\t0" in v[1] and "unshare=0" in v[1],
         doc="control: without a profile unshare(CLONE_NEWUSER) works in the container"),
    Case("seccomp-profile-blocks", sh(
        STATUS_LINES + "; unshare -U true 2>&1; echo unshare=$?; "
        "mount -t tmpfs x /tmp 2>&1; echo mount=$?"),
        chain(with_seccomp, add_caps("CAP_SYS_ADMIN")),
        check=lambda v: "Seccomp:\t2" in v[1] and "unshare=1" in v[1] and "mount=255" in v[1]
        and any("Permission denied" in line for line in v[1]),
        doc="ERRNO(EACCES) from the filter although CAP_SYS_ADMIN would allow both calls"),
    Case("seccomp-without-no-new-privs", sh(STATUS_LINES + "; unshare -U true 2>&1; echo $?"),
         chain(with_seccomp, no_new_privs(False)),
         check=lambda v: "Seccomp:\t2" in v[1] and "NoNewPrivs:\t0" in v[1],
         doc="the filter loads while the runtime still holds CAP_SYS_ADMIN"),
    # --- filesystem ---
    Case("readonly-rootfs", sh("touch /x 2>&1; echo rc=$?"),
         check=lambda v: v[1] == ["touch: /x: Read-only file system", "rc=1"]),
    Case("writable-rootfs", sh("touch /x && echo ok"), rw_rootfs, check=lambda v: v[1] == ["ok"]),
    Case("masked-paths", sh("head -c 16 /proc/kcore | wc -c; wc -c < /proc/keys; "
                            "wc -c < /proc/timer_list; ls -A /proc/acpi | wc -l; "
                            "ls -A /sys/firmware | wc -l"),
         check=lambda v: v[1] == ["0"] * 5),
    Case("readonly-paths", sh("true > /proc/sys/vm/drop_caches 2>&1; echo sys=$?; "
                              "true > /proc/sysrq-trigger 2>&1; echo sysrq=$?; "
                              "grep -c . /proc/sys/kernel/ostype"),
         check=lambda v: "sys=1" in v[1] and "sysrq=1" in v[1]),
    Case("mounts", ["cat", "/proc/self/mountinfo"], view=mount_set,
         check=lambda v: ("/", v[1][0][1], "ro") in v[1] and ("/proc/sys", "(mask)", "ro") in v[1]
         and ("/sys/fs/cgroup/pids", "cgroup", "ro") in v[1],
         doc="every spec mount, masked and read-only path: mount point, fs type, ro/rw"),
    Case("mount-tmpfs-options", sh("grep ' /scratch ' /proc/self/mountinfo; stat -c %a /scratch"),
         add_mount({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
                    "options": ["nosuid", "nodev", "noexec", "size=1m", "mode=1770"]}),
         view=lambda p, kind, spec: (p.rc, parse_mountinfo(out_lines(p)[0]), out_lines(p)[1:]),
         check=lambda v: v[1][0][3] == "rw,size=1024k,mode=1770" and v[2] == ["1770"]),
    Case("mount-bind-ro", sh("grep ' /hostdata ' /proc/self/mountinfo | cut -d' ' -f5,6; "
                             "cat /hostdata/file; touch /hostdata/new 2>&1; echo rc=$?"),
         add_bind_ro,
         check=lambda v: "from the host" in v[1] and "rc=1" in v[1]),
    Case("dev", sh("cd /dev && stat -c '%n %F %t:%T %a %u:%g %N' * | sort"), view=dev_listing,
         check=lambda v: any(line.startswith("null character special file 1:3 666")
                             for line in v[1])),
    # --- limits and cgroups ---
    Case("rlimit-nofile", sh("ulimit -n; ulimit -Hn"),
         set_process(rlimits=[{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 4096}]),
         check=lambda v: v[1] == ["512", "4096"]),
    Case("rlimit-above-host-hard-fails", ["true"],
         set_process(rlimits=[{"type": "RLIMIT_NOFILE", "soft": 1 << 30, "hard": 1 << 30}]),
         view=lambda p, kind, spec: ("fails" if p.rc != 0 else "runs", p.out),
         check=lambda v: v[0] == "fails",
         doc="no CAP_SYS_RESOURCE here: raising the hard limit fails; neither runtime clamps"),
    Case("pids-limit", sh(FORK_BOMB), resources(pids={"limit": 20}),
         check=lambda v: v[1][0] == "20" and int(v[1][1]) <= 20,
         doc="pids.max visible; a fork loop stops at the limit (count of live processes)"),
    Case("memory-limit-visible", sh(MEMORY_FILE),
         resources(memory={"limit": 32 * MiB, "swap": 32 * MiB}),
         check=lambda v: v[1] == [str(32 * MiB)]),
    Case("memory-limit-enforced", ["dd", "if=/dev/zero", "of=/dev/null", "bs=96M", "count=1"],
         resources(memory={"limit": 32 * MiB, "swap": 32 * MiB}), check=check_rc(137),
         doc="a process allocating beyond the limit is OOM-killed: 128+SIGKILL"),
    # --- namespaces and kernel parameters ---
    Case("sysctl", sh("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced"),
         lambda spec, ctx: spec["linux"].update(sysctl={"net.ipv4.ip_forward": "1",
                                                        "kernel.shm_rmid_forced": "1"}),
         check=lambda v: v[1] == ["1", "1"]),
    Case("network-namespace", sh("ip -o link | cut -d: -f2 | tr -d ' '"),
         check=lambda v: v[1] == ["lo"]),
    Case("namespaces", sh("for n in " + " ".join(NS_NAMES) +
                          "; do echo $n $(readlink /proc/self/ns/$n); done"),
         view=host_ns_view(NS_NAMES),
         check=lambda v: v[1]["uts"] == "differs" and v[1]["ipc"] == "differs"),
    # --- file descriptors ---
    Case("no-inherited-fds", ["ls", "/proc/self/fd"], extra_fds=2,
         check=lambda v: v[1] == ["0", "1", "2", "3"],
         doc="fds the runtime's caller leaves open never reach the container (CVE-2024-21626)"),
    Case("cwd-through-inherited-fd", sh("pwd; ls -a"), set_process(cwd="/proc/self/fd/3"),
         extra_fds=1,
         view=lambda p, kind, spec: "escaped" if "bundle0" in p.out or "state-" in p.out
         else "contained", check=lambda v: v == "contained",
         doc="cwd /proc/self/fd/3 with a host directory fd inherited: the process never gets a "
             "cwd outside the container (CVE-2024-21626); failing to start is fine"),
    Case("preserve-fds", ["ls", "/proc/self/fd"], flags=("--preserve-fds", "1"), extra_fds=1,
         check=lambda v: v[1] == ["0", "1", "2", "3", "4"],
         doc="--preserve-fds 1 passes fd 3 and nothing else"),
]


def difference(cand, ref) -> str:
    """For list-valued views: the items only one runtime has."""
    if len(cand) == len(ref) == 2 and isinstance(cand[1], list) and isinstance(ref[1], list):
        c, r = set(map(repr, cand[1])), set(map(repr, ref[1]))
        return f"only under test: {sorted(c - r)}\nonly runc: {sorted(r - c)}"
    return ""


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_same_view_as_runc(case, runtimes, rootfs_template, runc_spec, tmp_path):
    views = []
    for n, rt in enumerate(runtimes):
        bundle = Bundle(tmp_path / f"bundle{n}", rootfs_template, runc_spec)
        bundle.spec["process"]["args"] = case.args
        if case.edit:
            case.edit(bundle.spec, {"tmp_path": tmp_path, "bundle": bundle})
        cid = f"conform-{uuid.uuid4().hex[:12]}"
        # A directory fd of the host is the escape route of CVE-2024-21626 if it leaks.
        fds = [os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY) for _ in range(case.extra_fds)]
        try:
            proc = rt.run(bundle, cid, *case.flags, timeout=case.timeout, extra_fds=fds)
        finally:
            for fd in fds:
                os.close(fd)
        views.append(case.view(proc, rt.kind, bundle.spec))
        # A foreground run leaves nothing behind once it returns.
        assert not cgroup_dirs_named(cid), f"{rt.kind}: cgroups left: {cgroup_dirs_named(cid)}"
        assert not processes_mentioning(cid), f"{rt.kind}: {processes_mentioning(cid)}"
        if n == 0 and case.check:
            assert case.check(views[0]), f"reference view fails its sanity check: {views[0]}\n" \
                                         f"{proc.describe()}"
    assert views[1] == views[0], (f"{runtimes[1].binary} sees {views[1]!r}\n"
                                  f"runc sees {views[0]!r}\n{difference(views[1], views[0])}")


# --- the lifecycle verbs ---

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def normalized_state(st: dict, cid: str, bundle: Bundle) -> dict:
    """The state JSON with per-instance values replaced by whether they are right."""
    out = {}
    for key, value in st.items():
        if key == "pid":
            out[key] = "positive" if isinstance(value, int) and value > 0 else value
        elif key == "created":
            out[key] = "rfc3339" if isinstance(value, str) and RFC3339.match(value) else value
        elif key == "id":
            out[key] = "the id" if value == cid else value
        elif key == "bundle":
            out[key] = "the bundle" if value == str(bundle.path) else value
        elif key == "rootfs":
            out[key] = "bundle/rootfs" if value == str(bundle.rootfs) else value
        elif key == "ociVersion":
            # runc says "1.0.2-dev"; hull names the spec version it implements. Both are 1.x.
            out[key] = "1.x" if isinstance(value, str) and value.startswith("1.") else value
        else:
            out[key] = value
    return out


# Keys runc prints beyond the OCI state (runtime-spec runtime.md): rootfs is runc's own.
RUNC_ONLY_STATE_KEYS = {"rootfs"}
OCI_STATE_KEYS = {"ociVersion", "id", "status", "pid", "bundle"}


def lifecycle(rt, bundle, cid, out_path) -> list:
    """create → state → start → state → delete refused → kill → state → delete → state fails."""
    seen = []
    bundle.spec["process"]["args"] = ["sleep", "30"]
    p = rt.create(bundle, cid, out_path)
    assert p.rc == 0, p.describe() + out_path.read_text()
    seen.append(("created", normalized_state(rt.state(cid), cid, bundle)))
    p = rt.call("start", cid)
    assert p.rc == 0, p.describe()
    seen.append(("started", normalized_state(rt.wait_status(cid, "running"), cid, bundle)))
    p = rt.delete(cid)
    seen.append(("delete running without --force", "refused" if p.rc != 0 else "deleted"))
    seen.append(("still there", rt.state(cid)["status"]))
    p = rt.call("kill", cid, "KILL")
    assert p.rc == 0, p.describe()
    seen.append(("killed", normalized_state(rt.wait_status(cid, "stopped"), cid, bundle)))
    p = rt.delete(cid)
    assert p.rc == 0, p.describe()
    p = rt.call("state", cid)
    seen.append(("state after delete", "fails" if p.rc != 0 else p.out))
    return seen


def test_lifecycle_and_state_json(runtimes, rootfs_template, runc_spec, tmp_path):
    views = []
    for n, rt in enumerate(runtimes):
        bundle = Bundle(tmp_path / f"bundle{n}", rootfs_template, runc_spec)
        cid = f"conform-{uuid.uuid4().hex[:12]}"
        views.append(lifecycle(rt, bundle, cid, tmp_path / f"out{n}"))
        assert not cgroup_dirs_named(cid), f"{rt.kind}: cgroups left after delete"
        assert not processes_mentioning(cid)
        assert not (rt.root / cid).exists(), f"{rt.kind}: state dir left after delete"
    ref, cand = views
    assert ref[0][1]["status"] == "created" and ref[0][1]["pid"] == "positive", ref
    for (step, r), (_, c) in zip(ref, cand):
        if isinstance(r, dict):
            assert OCI_STATE_KEYS <= set(c), f"{step}: OCI state keys missing: {c}"
            for key in set(r) | set(c):
                if key in RUNC_ONLY_STATE_KEYS and key not in c:
                    continue
                assert c.get(key) == r.get(key), f"{step}: {key}: {c.get(key)!r} != {r.get(key)!r}"
        else:
            assert c == r, f"{step}: {c!r} != {r!r}"


def test_foreground_run_killed_from_outside_exits_137(runtimes, rootfs_template, runc_spec,
                                                      tmp_path):
    statuses = []
    for n, rt in enumerate(runtimes):
        bundle = Bundle(tmp_path / f"bundle{n}", rootfs_template, runc_spec)
        bundle.spec["process"]["args"] = ["sleep", "30"]
        cid = f"conform-{uuid.uuid4().hex[:12]}"
        proc = rt.popen_run(bundle, cid, tmp_path / f"out{n}")
        try:
            st = rt.wait_status(cid, "running")
            assert st["status"] == "running", st
            assert rt.call("kill", cid, "SIGKILL").rc == 0
            statuses.append(proc.wait(timeout=30))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert not cgroup_dirs_named(cid)
    assert statuses == [137, 137]
