"""Serves the iris model over HTTP with the standard library alone.

GET  /health   -> {"status": "ok"}
POST /predict  {"features": [[5.1, 3.5, 1.4, 0.2], ...]} -> {"predictions": ["setosa", ...]}

IRIS_HOST, IRIS_PORT and IRIS_MODEL say where to listen and what to load.
"""

import json
import math
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import joblib

MAX_BODY = 1 << 20
MAX_ROWS = 10000


def load(path):
    saved = joblib.load(path)
    return saved["model"], saved["classes"], len(saved["features"])


MODEL, CLASSES, N_FEATURES = load(os.environ.get("IRIS_MODEL", "/app/model.joblib"))


def parse_features(body):
    """The rows of a request, or a message saying what is wrong with it."""
    try:
        request = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        return None, f"body is not JSON: {e}"
    rows = request.get("features") if isinstance(request, dict) else None
    if not isinstance(rows, list) or not rows or len(rows) > MAX_ROWS:
        return None, f'expected {{"features": [[{N_FEATURES} numbers], ...]}}'
    for row in rows:
        if (not isinstance(row, list) or len(row) != N_FEATURES
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                           and math.isfinite(v) for v in row)):
            return None, f"each row needs {N_FEATURES} finite numbers, got {row!r}"
    return rows, None


class Handler(BaseHTTPRequestHandler):
    server_version = "iris-serve/1"

    def reply(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/health":
            self.reply(200, {"status": "ok"})
        else:
            self.reply(404, {"error": f"no such path: {self.path}"})

    def do_POST(self):
        if self.path != "/predict":
            self.reply(404, {"error": f"no such path: {self.path}"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0 or length > MAX_BODY:
            self.reply(400, {"error": f"expected a JSON body of at most {MAX_BODY} bytes"})
            return
        rows, error = parse_features(self.rfile.read(length))
        if error:
            self.reply(400, {"error": error})
            return
        labels = MODEL.predict(rows)
        self.reply(200, {"predictions": [CLASSES[int(i)] for i in labels]})

    def log_message(self, fmt, *args):
        sys.stdout.write("%s %s\n" % (self.address_string(), fmt % args))


def main():
    host = os.environ.get("IRIS_HOST", "127.0.0.1")
    port = int(os.environ.get("IRIS_PORT", "8080"))
    server = ThreadingHTTPServer((host, port), Handler)
    # hull stop sends SIGTERM: finish the request in hand, then exit cleanly.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"serving {len(CLASSES)} classes on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
