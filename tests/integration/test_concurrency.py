"""Several hull processes in one store at once: file locks, not a daemon, keep it whole."""

import subprocess

from hulltest import assert_no_crash, prune_args, tar_bytes

N = 8


def start(hull, *args, stdin=None):
    return subprocess.Popen([hull.binary, *map(str, args)], env=hull.env(),
                            stdin=stdin or subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def finish(proc, what):
    out, err = proc.communicate(timeout=300)
    text = err.decode(errors="replace")
    assert_no_crash(text, what)
    assert proc.returncode == 0, f"{what}: exit status {proc.returncode}\n{text}"
    return out.decode(errors="replace")


def distinct_tars(tmp_path, busybox_tar):
    """Half the imports share the busybox layer (same blob written at once), half are unique."""
    tars = []
    for i in range(N):
        if i % 2 == 0:
            tars.append(busybox_tar)
        else:
            p = tmp_path / f"layer{i}.tar"
            p.write_bytes(tar_bytes([("etc/", None), (f"etc/layer-{i}", f"{i}\n".encode() * 1000)]))
            tars.append(p)
    return tars


def test_parallel_imports_and_rmi(store, busybox_tar, tmp_path):
    store.ok("tag", "busybox", "doomed:v1")
    procs = [(f"import c{i}", start(store, "import", tar, f"c{i}:latest", "--change", f"ENV N={i}"))
             for i, tar in enumerate(distinct_tars(tmp_path, busybox_tar))]
    procs.append(("rmi doomed:v1", start(store, "rmi", "doomed:v1")))
    for what, proc in procs:
        finish(proc, what)
    assert store.names() == sorted(["busybox:latest"] + [f"c{i}:latest" for i in range(N)])
    store.ok("system", "fsck")
    listed = store.ok("images")
    for i in range(N):
        assert f"c{i}" in listed


def test_prune_during_imports_never_breaks_an_image(store, busybox_tar, tmp_path):
    # GC runs again and again while imports are writing blobs: it must never delete a blob that
    # an import is about to name.
    imports = [(f"import p{i}", start(store, "import", tar, f"p{i}:latest"))
               for i, tar in enumerate(distinct_tars(tmp_path, busybox_tar))]
    prunes = 0
    while any(proc.poll() is None for _, proc in imports) or prunes < 2:
        finish(start(store, *prune_args(store)), f"prune {prunes}")
        prunes += 1
    for what, proc in imports:
        finish(proc, what)
    assert store.names() == sorted(["busybox:latest"] + [f"p{i}:latest" for i in range(N)])
    store.ok("system", "fsck")
    for name in store.names():
        for layer in store.manifest(name)["layers"]:
            store.blob(layer["digest"])


def test_parallel_tags_of_one_image(store):
    procs = [(f"tag t{i}", start(store, "tag", "busybox", f"t{i}:v1")) for i in range(N)]
    for what, proc in procs:
        finish(proc, what)
    assert store.names() == sorted(["busybox:latest"] + [f"t{i}:v1" for i in range(N)])
