"""Shared helpers for the JWT auth tests: keys, tokens, a real JWKS server, apps, events."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import io
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from lift import App, Context
from lift.middleware import JWTConfig
from lift.observability import JSONLogger, MemoryMetrics
from lift.testing import events
from lift.websocket import MemoryConnectionStore, WebSocketOptions

SECRET = "k3y-for-tests-" + "x" * 40
ISSUER = "https://auth.example.com/"
AUDIENCE = "chat-api"
ACCOUNT = "123456789012"


# -- keys --------------------------------------------------------------------------
@functools.cache
def rsa_key(name: str = "main", bits: int = 2048) -> rsa.RSAPrivateKey:
    """An RSA private key, generated once per name and size."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@functools.cache
def ec_key(name: str = "main") -> ec.EllipticCurvePrivateKey:
    """A P-256 private key, generated once per name."""
    return ec.generate_private_key(ec.SECP256R1())


@functools.cache
def ed_key() -> ed25519.Ed25519PrivateKey:
    """An Ed25519 private key."""
    return ed25519.Ed25519PrivateKey.generate()


def public_pem(private: Any) -> bytes:
    """The PEM (SubjectPublicKeyInfo) of ``private``'s public key."""
    pem: bytes = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem


def private_pem(private: Any) -> bytes:
    """The unencrypted PKCS#8 PEM of ``private``."""
    pem: bytes = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem


def certificate_pem(private: rsa.RSAPrivateKey) -> bytes:
    """A self-signed certificate for ``private``."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "auth.example.com")])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(private, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def jwk(private: Any, kid: str, alg: str) -> dict[str, Any]:
    """The public JWK of ``private`` with ``kid``, ``alg`` and ``use: sig``."""
    public = private.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        data = jwt.algorithms.RSAAlgorithm.to_jwk(public, as_dict=True)
    else:
        data = jwt.algorithms.ECAlgorithm.to_jwk(public, as_dict=True)
    return {**data, "kid": kid, "alg": alg, "use": "sig"}


# -- tokens ------------------------------------------------------------------------
def claims(**overrides: Any) -> dict[str, Any]:
    """Good claims (valid for ten minutes); ``None`` values remove a claim."""
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "user-1",
        "tenant_id": "acme",
        "roles": ["admin", "dev"],
        "email": "ada@example.com",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 600,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def token(key: Any = SECRET, alg: str = "HS256", kid: str | None = None, **overrides: Any) -> str:
    """A signed token with :func:`claims` (plus ``overrides``)."""
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(claims(**overrides), key, algorithm=alg, headers=headers)


def b64url(data: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def segment(obj: Any) -> str:
    """A JSON object as a token segment."""
    return b64url(json.dumps(obj, separators=(",", ":")).encode("utf-8"))


def unsigned_token(header: dict[str, Any] | None = None, **overrides: Any) -> str:
    """``alg: none``, built by hand: header, payload and an empty signature."""
    header = header or {"alg": "none", "typ": "JWT"}
    return f"{segment(header)}.{segment(claims(**overrides))}."


def hmac_token(secret: bytes, alg: str = "HS256", kid: str | None = None, **overrides: Any) -> str:
    """An HMAC token built by hand (PyJWT refuses PEM keys as HMAC secrets)."""
    header: dict[str, Any] = {"alg": alg, "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    signing_input = f"{segment(header)}.{segment(claims(**overrides))}"
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    signature = hmac.new(secret, signing_input.encode("ascii"), digest).digest()
    return f"{signing_input}.{b64url(signature)}"


def flip_payload_char(value: str) -> str:
    """``value`` with one character in the middle of its payload segment changed."""
    header, payload, signature = value.split(".")
    index = len(payload) // 2
    replacement = "A" if payload[index] != "A" else "B"
    return f"{header}.{payload[:index]}{replacement}{payload[index + 1 :]}.{signature}"


def resign_payload(value: str, **changes: Any) -> str:
    """``value`` with changed claims and the original signature."""
    header, payload, signature = value.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data.update(changes)
    return f"{header}.{segment(data)}.{signature}"


def signature_of(value: str) -> str:
    """The signature segment of a token."""
    return value.rsplit(".", 1)[1]


# -- a real JWKS endpoint ------------------------------------------------------------
class JWKSServer:
    """Serves ``{"keys": self.keys}`` on 127.0.0.1 and counts the fetches."""

    def __init__(self, keys: list[dict[str, Any]] | None = None) -> None:
        self.keys: list[dict[str, Any]] = list(keys or [])
        self.status = 200
        self.hits = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def __enter__(self) -> JWKSServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with outer._lock:
                    outer.hits += 1
                    status = outer.status
                    body = json.dumps({"keys": outer.keys}).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/.well-known/jwks.json"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def set_keys(self, keys: list[dict[str, Any]]) -> None:
        """Serve a new key set from now on."""
        with self._lock:
            self.keys = list(keys)


def jwks_server(keys: list[dict[str, Any]] | None = None) -> Iterator[JWKSServer]:
    """A fixture body: a started :class:`JWKSServer`."""
    with JWKSServer(keys) as server:
        yield server


# -- apps ----------------------------------------------------------------------------
@dataclass
class Harness:
    """An app with ``websocket_auth`` and recording handlers, on a memory store."""

    app: App
    store: MemoryConnectionStore
    calls: list[dict[str, Any]] = field(default_factory=list)
    logs: io.StringIO = field(default_factory=io.StringIO)

    def routes(self) -> list[str]:
        """The route keys whose handler ran."""
        return [call["route"] for call in self.calls]


def harness(
    middleware: Any,
    store: MemoryConnectionStore | None = None,
    *,
    logger: Any = None,
    metrics: Any = None,
) -> Harness:
    """A fresh App (as a fresh Lambda container would build) using ``middleware``."""
    store = store if store is not None else MemoryConnectionStore()
    logs = io.StringIO()
    app = App(
        websocket=WebSocketOptions(auto_connections=True, store=store),
        logger=logger if logger is not None else JSONLogger(stream=logs),
        metrics=metrics if metrics is not None else MemoryMetrics(),
    )
    result = Harness(app, store, logs=logs)
    app.use(middleware)

    def record(ctx: Context) -> dict[str, Any]:
        call = {
            "route": ctx.request.route_key,
            "user_id": ctx.user_id,
            "tenant_id": ctx.tenant_id,
            "claims": dict(ctx.claims),
            "authenticated": ctx.is_authenticated,
        }
        result.calls.append(call)
        return call

    @app.websocket("$connect")
    def on_connect(ctx: Context) -> None:
        record(ctx)

    @app.websocket("$default")
    def on_message(ctx: Context) -> dict[str, Any]:
        call = record(ctx)
        return {"user_id": call["user_id"], "tenant_id": call["tenant_id"]}

    @app.websocket("ping")
    def on_ping(ctx: Context) -> str:
        record(ctx)
        return "pong"

    @app.websocket("$disconnect")
    def on_disconnect(ctx: Context) -> None:
        record(ctx)

    @app.get("/health")
    def health(ctx: Context) -> dict[str, Any]:
        record(ctx)
        return {"ok": True}

    return result


def body_of(response: dict[str, Any]) -> Any:
    """The JSON body of a response dict."""
    return json.loads(response["body"])


def authorizer_event(
    *,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    subprotocols: list[str] | None = None,
    stage: str = "prod",
) -> dict[str, Any]:
    """The event API Gateway sends to a WebSocket REQUEST authorizer on ``$connect``."""
    connect = events.websocket_connect(
        headers=headers, query=query, subprotocols=subprotocols, stage=stage
    )
    rc = connect["requestContext"]
    region = rc["domainName"].split(".")[2]
    return {
        "type": "REQUEST",
        "methodArn": f"arn:aws:execute-api:{region}:{ACCOUNT}:{rc['apiId']}/{stage}/$connect",
        "headers": connect["headers"],
        "multiValueHeaders": connect["multiValueHeaders"],
        "queryStringParameters": connect["queryStringParameters"],
        "multiValueQueryStringParameters": connect["multiValueQueryStringParameters"],
        "stageVariables": {},
        "requestContext": rc,
    }


def hs_config(**overrides: Any) -> JWTConfig:
    """The suite's HS256 configuration, with ``overrides``."""
    options: dict[str, Any] = {
        "secret": SECRET,
        "algorithms": ["HS256"],
        "issuer": ISSUER,
        "audience": AUDIENCE,
    }
    options.update(overrides)
    return JWTConfig(**options)
