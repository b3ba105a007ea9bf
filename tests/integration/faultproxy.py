"""An HTTP/1.1 reverse proxy on 127.0.0.1 in front of a plain-HTTP registry that injects faults on
demand, and records every request so tests can prove what a client did (a HEAD before an upload,
a Range header after a dropped connection, a retry after a 500, a POST with ?mount=).

Faults are rules matched in order against the method and the path with its query; each rule
applies `times` times (None: always), then steps aside:

  proxy.reply("GET", MANIFEST, 500, times=1)             answer 500 once, then pass through
  proxy.reply("GET", BLOB, 429, headers={"Retry-After": "1"}, times=1)
  proxy.reply("GET", MANIFEST, 200, body=b"<html>", headers={"Content-Type": "text/html"})
  proxy.drop_after(1000, times=1)                        cut blob downloads after 1000 bytes
  proxy.corrupt()                                        flip one byte of every blob download

Request bodies are read whole and forwarded with a Content-Length; upstream replies are read whole
too, which is fine for test images of a few MiB."""

import http.client
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BLOB = r"^/v2/.+/blobs/sha256:[0-9a-f]{64}$"
MANIFEST = r"^/v2/.+/manifests/[^/]+$"
UPLOAD = r"^/v2/.+/blobs/uploads/"

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailer", "trailers", "transfer-encoding", "upgrade", "expect"}


@dataclass
class Seen:
    """One request the proxy received, and the status it answered."""
    method: str
    path: str
    headers: dict
    status: int = 0
    body_size: int = 0


@dataclass
class Rule:
    method: str  # "" matches every method
    pattern: str
    action: str  # "reply", "drop" or "corrupt"
    times: object = None  # int or None (always)
    status: int = 200
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    drop_after: int = 0
    hits: int = 0

    def matches(self, method, path) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method and self.method != method:
            return False
        return re.search(self.pattern, path) is not None


class FaultProxy:
    def __init__(self, upstream: str):
        self.upstream = upstream  # host:port of the plain-HTTP registry
        self.rules = []
        self.seen = []
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.httpd.server_address[1]}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)

    # --- faults ---

    def reply(self, method, pattern, status, body=b"", headers=None, times=None):
        """Answer matching requests with this status, headers and body instead of the registry."""
        self._add(Rule(method, pattern, "reply", times, status, dict(headers or {}), body))

    def drop_after(self, nbytes, pattern=BLOB, times=1):
        """Send the registry's headers for a blob download, then only nbytes of the body, then
        close the connection."""
        self._add(Rule("GET", pattern, "drop", times, drop_after=nbytes))

    def corrupt(self, pattern=BLOB, times=None):
        """Flip one byte in the middle of matching response bodies."""
        self._add(Rule("GET", pattern, "corrupt", times))

    def clear(self):
        with self.lock:
            self.rules.clear()

    def _add(self, rule):
        with self.lock:
            self.rules.append(rule)

    def _take_rule(self, method, path):
        with self.lock:
            for rule in self.rules:
                if rule.matches(method, path):
                    rule.hits += 1
                    return rule
        return None

    # --- what happened ---

    def requests(self, method=None, pattern=None) -> list:
        with self.lock:
            return [s for s in self.seen if (method is None or s.method == method) and
                    (pattern is None or re.search(pattern, s.path))]

    def count(self, method=None, pattern=None) -> int:
        return len(self.requests(method, pattern))

    def reset_log(self):
        with self.lock:
            self.seen.clear()

    # --- serving ---

    def _forward(self, method, path, headers, body):
        """headers: (name, value) pairs, repeated names kept (a client may send several Accept
        headers)."""
        conn = http.client.HTTPConnection(self.upstream, timeout=60)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                conn.putheader(name, value)
            if body or method in ("PUT", "POST", "PATCH"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body if body else None)
            resp = conn.getresponse()
            data = resp.read() if method != "HEAD" else b""
            return resp.status, resp.getheaders(), data
        finally:
            conn.close()

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def read_body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = bytearray()
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return bytes(out)
                        out += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def handle_any(self):
                body = self.read_body()
                seen = Seen(self.command, self.path, dict(self.headers.items()),
                            body_size=len(body))
                with proxy.lock:
                    proxy.seen.append(seen)
                rule = proxy._take_rule(self.command, self.path)
                if rule and rule.action == "reply":
                    seen.status = rule.status
                    return self.send(rule.status, list(rule.headers.items()), rule.body)
                headers = [(k, v) for k, v in self.headers.items()
                           if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"]
                try:
                    status, resp_headers, data = proxy._forward(self.command, self.path,
                                                                headers, body)
                except OSError as e:
                    seen.status = 502
                    return self.send(502, [("Content-Type", "text/plain")], str(e).encode())
                seen.status = status
                if rule and rule.action == "corrupt" and len(data) > 0 and status == 200:
                    mid = len(data) // 2
                    data = data[:mid] + bytes([data[mid] ^ 0xFF]) + data[mid + 1:]
                if rule and rule.action == "drop":
                    if status in (200, 206) and len(data) > rule.drop_after:
                        return self.send(status, resp_headers, data, cut=rule.drop_after)
                    with proxy.lock:  # nothing to cut short: the fault waits for a longer body
                        rule.hits -= 1
                self.send(status, resp_headers, data)

            def send(self, status, headers, data, cut=None):
                self.send_response(status)
                length = None
                for k, v in headers:
                    if k.lower() in HOP_BY_HOP:
                        continue
                    if k.lower() == "content-length":
                        length = v
                        continue
                    self.send_header(k, v)
                if self.command == "HEAD":
                    self.send_header("Content-Length", length or str(len(data)))
                else:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command == "HEAD":
                    return
                if cut is None:
                    self.wfile.write(data)
                    return
                # The headers promised the whole body; send part of it and hang up.
                self.wfile.write(data[:cut])
                self.wfile.flush()
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any

        return Handler
