"""A bearer-token server for the registry tests, speaking Docker's token protocol: GET
/token?service=S&scope=repository:NAME:ACTIONS[&scope=...] with optional basic credentials, answered
with {"token", "access_token", "expires_in", "issued_at"}. Tokens are JWTs signed with RS256 by a
key of its own; the signing certificate travels in the x5c header and is the registry's
rootcertbundle, which is what distribution's token access controller checks
(auth.token.realm/service/issuer/rootcertbundle).

It checks the basic credentials against its users, grants the scopes asked for except the ones
denied (deny(repo) or deny(repo, "push")), and records every request so tests can see the scopes
a client asked for. Binds 127.0.0.1 only."""

import base64
import datetime
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

ISSUER = "hull-test-token-issuer"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class SigningKey:
    """An RSA key and a self-signed certificate for it, written as PEM for the registry."""

    def __init__(self, directory: Path):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hull test token signer")])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=2))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.cert_path = Path(directory) / "token-signer.crt"
        self.cert_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def jwt(self, claims: dict) -> str:
        der = self.cert.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
        signing_input = (b64url(json.dumps(header).encode()) + "." +
                         b64url(json.dumps(claims).encode()))
        sig = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(sig)


class TokenServer:
    def __init__(self, directory: Path, service: str, users: dict, anonymous_pull=False):
        self.service = service
        self.users = dict(users)
        self.anonymous_pull = anonymous_pull
        self.signer = SigningKey(directory)
        self.denied = {}  # repo -> set of actions refused ("*" for all)
        self.requests = []  # (user or None, [scopes asked], [access granted])
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/token"

    @property
    def cert_path(self) -> Path:
        return self.signer.cert_path

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)

    def deny(self, repo: str, action: str = "*"):
        with self.lock:
            self.denied.setdefault(repo, set()).add(action)

    def allow_all(self):
        with self.lock:
            self.denied.clear()

    def _user(self, authorization):
        """(ok, user): ok is False when credentials were given and are wrong."""
        if not authorization:
            return True, None
        kind, _, value = authorization.partition(" ")
        if kind.lower() != "basic":
            return False, None
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False, None
        return self.users.get(user) == password, user

    def _grant(self, user, scopes):
        access = []
        for scope in scopes:
            parts = scope.split(":")
            if len(parts) < 3 or parts[0] != "repository":
                continue
            kind, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
            with self.lock:
                refused = self.denied.get(name, set())
            allowed = [a for a in actions if a not in refused and "*" not in refused]
            if user is None:
                allowed = [a for a in allowed if a == "pull" and self.anonymous_pull]
            if allowed:
                access.append({"type": kind, "name": name, "actions": allowed})
        return access

    def token_for(self, user, scopes) -> dict:
        now = int(time.time())
        access = self._grant(user, scopes)
        claims = {"iss": ISSUER, "sub": user or "", "aud": self.service, "exp": now + 300,
                  "nbf": now - 60, "iat": now, "jti": secrets.token_hex(8), "access": access}
        with self.lock:
            self.requests.append((user, list(scopes), access))
        token = self.signer.jwt(claims)
        return {"token": token, "access_token": token, "expires_in": 300,
                "issued_at": datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
                .strftime("%Y-%m-%dT%H:%M:%SZ")}

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, code, body: dict, extra=None):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(url.query)
                if url.path != "/token":
                    return self.reply(404, {"details": "not found"})
                ok, user = server._user(self.headers.get("Authorization"))
                if not ok:
                    with server.lock:
                        server.requests.append((user, query.get("scope", []), None))
                    return self.reply(401, {"details": "incorrect username or password"},
                                      {"WWW-Authenticate": 'Basic realm="hull test tokens"'})
                if query.get("service", [server.service])[0] != server.service:
                    return self.reply(400, {"details": "unknown service"})
                scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
                self.reply(200, server.token_for(user, scopes))

        return Handler
