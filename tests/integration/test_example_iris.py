"""examples/iris-serve, the main job's image: bootstrap the Debian base, build the example (apt
installs scikit-learn through cache mounts, a builder stage trains the model, the final stage
serves it), run it detached and ask it for predictions. Minutes, and it needs a Debian mirror:
skipped without one, and with HULL_SKIP_SLOW=1."""

import json
import os
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bootstrapfix import need_debian_mirror
from container_helpers import inspect, wait_for
from hulltest import Hull

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="hull run needs root"),
    pytest.mark.skipif(os.environ.get("HULL_SKIP_SLOW") == "1", reason="HULL_SKIP_SLOW=1"),
]

SOURCE_DIR = Path(os.environ.get("HULL_SOURCE_DIR", Path(__file__).resolve().parents[2]))
EXAMPLE = SOURCE_DIR / "examples" / "iris-serve"
BASE = "hull-ml/bookworm-python:latest"
IMAGE = "iris-serve:test"
SETOSA = [5.1, 3.5, 1.4, 0.2]
VIRGINICA = [6.7, 3.0, 5.2, 2.3]


@pytest.fixture(scope="module")
def built(hull_bin, tmp_path_factory):
    """A store with the bootstrapped base and the example built on it."""
    need_debian_mirror()
    hull = Hull(hull_bin, tmp_path_factory.mktemp("iris") / "root")
    res = hull.run("bootstrap", "--include", "python3", BASE, timeout=900)
    assert res.rc == 0, res.describe()
    res = hull.run("build", "-t", IMAGE, EXAMPLE, timeout=1200)
    assert res.rc == 0, res.describe()
    return hull


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(built):
    """The example running detached on a free port; removed afterwards."""
    port = free_port()
    name = f"iris-{port}"
    built.ok("run", "-d", "--name", name, "-e", f"IRIS_PORT={port}", IMAGE)
    try:
        yield built, name, f"http://127.0.0.1:{port}"
    finally:
        built.run("rm", "-f", name)


def post(url, payload):
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def health_status(hull, name):
    state = inspect(hull, name)["State"]
    assert state["Status"] == "running", f"the server stopped: {hull.run('logs', name).stdout}"
    return (state.get("Health") or {}).get("Status")


def test_image_config(built):
    config = built.config(IMAGE)["config"]
    assert config["User"] == "iris"
    assert config["ExposedPorts"] == {"8080/tcp": {}}
    assert config["Cmd"] == ["python3", "/app/serve.py"]
    assert config["Healthcheck"]["Test"][0] == "CMD"
    assert "IRIS_PORT=8080" in config["Env"]


def test_final_stage_holds_the_model_but_no_build_leftovers(built):
    out = built.ok("run", "--rm", IMAGE, "sh", "-c",
                   "id -u; ls /app; test ! -e /src && echo no-src; "
                   "ls /var/lib/apt/lists /var/cache/apt/archives | grep -c '\\.deb$\\|_Packages'"
                   " || true")
    lines = out.split()
    assert lines[0] != "0", "the server runs as root"
    assert "model.joblib" in lines and "serve.py" in lines
    assert "no-src" in lines, "the builder stage's files reached the final image"
    # apt's lists and downloads were cache mounts: none of them is in a layer.
    assert lines[-1] == "0", out


def test_serves_predictions_and_becomes_healthy(served):
    hull, name, url = served
    wait_for("healthy", lambda: health_status(hull, name) == "healthy", limit=120, step=0.2)
    with urllib.request.urlopen(f"{url}/health", timeout=5) as r:
        assert json.loads(r.read()) == {"status": "ok"}
    assert post(f"{url}/predict", {"features": [SETOSA, VIRGINICA]}) == (
        200, {"predictions": ["setosa", "virginica"]})
    status, body = post(f"{url}/predict", {"features": [[1, 2]]})
    assert status == 400 and "4 finite numbers" in body["error"]
    status, _ = post(f"{url}/predict", b"not json")
    assert status == 400
    # The server process itself runs as the image's user, not root.
    assert hull.ok("exec", name, "id", "-un").strip() == "iris"


def test_rebuild_is_cached(built):
    res = built.run("build", "--progress", "plain", "-t", IMAGE, EXAMPLE, timeout=600)
    assert res.rc == 0, res.describe()
    assert "CACHED" in res.stdout + res.stderr
