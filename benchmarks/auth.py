"""Per-event cost of WebSocket JWT authentication.

Subjects: a MESSAGE whose identity comes from the Lambda authorizer context (with and
without ``websocket_metrics``), a MESSAGE whose identity comes from the connection store,
and ``$connect`` events that validate an HS256, RS256 or ES256 token; each next to the
same event with no middleware. Every subject's result is checked before timing. Run
from the repository root::

    .venv/bin/python benchmarks/auth.py            # full run
    .venv/bin/python benchmarks/auth.py --quick    # a few iterations (smoke test)
    .venv/bin/python benchmarks/auth.py --json     # one JSON object instead of a table
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from _util import FakeLambdaContext, format_table, time_interleaved, timing_arguments
from lift import App, Context
from lift.middleware import JWTConfig, websocket_auth
from lift.observability import EMFMetrics, JSONLogger
from lift.testing import events
from lift.websocket import Connection, MemoryConnectionStore, WebSocketOptions

SECRET = "benchmark-secret-" + "s" * 32
ISSUER = "https://auth.example.com/"
AUDIENCE = "chat-api"

Invoke = Callable[[], Any]

try:
    from lift.middleware.metrics import websocket_metrics
except ImportError:  # not available in this checkout
    websocket_metrics = None


def claims() -> dict[str, Any]:
    now = int(time.time())
    return {
        "sub": "user-1",
        "tenant_id": "acme",
        "roles": ["admin"],
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 3600,
    }


def public_pem(private: Any) -> bytes:
    pem: bytes = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem


def build_app(middleware: list[Any], sink: Any, store: Any = None) -> App:
    """An app with ``$connect`` and ``$default`` handlers and no output on success."""
    options = WebSocketOptions(store=store) if store is not None else None
    app = App(websocket=options, logger=JSONLogger(stream=sink), metrics=EMFMetrics(stream=sink))
    for mw in middleware:
        app.use(mw)

    @app.websocket("$connect")
    def on_connect(ctx: Context) -> None:
        return None

    @app.websocket("$default")
    def on_message(ctx: Context) -> dict[str, Any]:
        return {"user": ctx.user_id, "tenant": ctx.tenant_id}

    return app


def subject(app: App, event: dict[str, Any], expect: dict[str, Any] | None) -> Invoke:
    """A call of ``app`` with ``event``, checked once."""
    context = FakeLambdaContext()
    result = app(event, context)
    if result.get("statusCode") != 200:
        raise SystemExit(f"unexpected result: {result}")
    if expect is not None and json.loads(result["body"]) != expect:
        raise SystemExit(f"unexpected body: {result['body']}")

    def invoke() -> Any:
        return app(event, context)

    return invoke


def subjects(sink: Any) -> list[tuple[str, Invoke]]:
    """Every benchmark subject, checked."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    hs = JWTConfig(secret=SECRET, algorithms=["HS256"], issuer=ISSUER, audience=AUDIENCE)
    rs = JWTConfig(
        public_key=public_pem(rsa_key), algorithms=["RS256"], issuer=ISSUER, audience=AUDIENCE
    )
    es = JWTConfig(
        public_key=public_pem(ec_key), algorithms=["ES256"], issuer=ISSUER, audience=AUDIENCE
    )
    identity = {"user": "user-1", "tenant": "acme"}
    authorizer = {"user_id": "user-1", "tenant_id": "acme", "roles": "admin"}
    message = events.websocket_message({"text": "hi"}, authorizer=authorizer)
    bare_message = events.websocket_message({"text": "hi"})

    store = MemoryConnectionStore()
    stored_message = events.websocket_message({"text": "hi"})
    cid = stored_message["requestContext"]["connectionId"]
    store.save(Connection(connection_id=cid, user_id="user-1", tenant_id="acme"))

    result: list[tuple[str, Invoke]] = [
        (
            "MESSAGE, no middleware",
            subject(build_app([], sink), bare_message, {"user": None, "tenant": None}),
        ),
        (
            "MESSAGE + websocket_auth (authorizer context)",
            subject(build_app([websocket_auth(hs)], sink), message, identity),
        ),
    ]
    if websocket_metrics is not None:
        app = build_app([websocket_metrics(), websocket_auth(hs)], sink)
        result.append(
            ("MESSAGE + websocket_metrics + websocket_auth", subject(app, message, identity))
        )
    result.append(
        (
            "MESSAGE + websocket_auth (memory store record)",
            subject(build_app([websocket_auth(hs)], sink, store), stored_message, identity),
        )
    )
    connect = events.websocket_connect()
    result.append(("$connect, no middleware", subject(build_app([], sink), connect, None)))
    for name, config, key, alg in (
        ("HS256", hs, SECRET, "HS256"),
        ("RS256", rs, rsa_key, "RS256"),
        ("ES256", es, ec_key, "ES256"),
    ):
        value = jwt.encode(claims(), key, algorithm=alg)
        event = events.websocket_connect(query={"token": value})
        app = build_app([websocket_auth(config)], sink)
        result.append((f"$connect + websocket_auth {name}", subject(app, event, None)))
    return result


def main(argv: list[str] | None = None) -> int:
    """Time every subject and print a table of µs per event (median of the repeats)."""
    args = timing_arguments(__doc__.splitlines()[0], argv, iterations=2000, quick_iterations=100)
    iterations, repeats = args.iterations, args.repeats
    warmup = min(iterations, 200)
    with open(os.devnull, "w", encoding="utf-8") as sink:
        cases = subjects(sink)
        timings = time_interleaved(cases, iterations=iterations, repeats=repeats, warmup=warmup)
    baseline = {
        t.name.split(",")[0]: t.median_us for t in timings if t.name.endswith("no middleware")
    }
    rows = []
    results = []
    for timing in timings:
        kind = timing.name.split(" ")[0].rstrip(",")
        extra = timing.median_us - baseline[kind]
        rows.append([timing.name, f"{timing.median_us:.1f}", f"{extra:+.1f}"])
        results.append(
            {"name": timing.name, "us": round(timing.median_us, 3), "extra_us": round(extra, 3)}
        )
    if args.json:
        document = {
            "python": sys.version.split()[0],
            "pyjwt": jwt.__version__,
            "iterations": iterations,
            "repeats": repeats,
            "results": results,
        }
        print(json.dumps(document))
        return 0
    print(
        f"Python {sys.version.split()[0]}; PyJWT {jwt.__version__}; "
        f"{repeats} repeats x {iterations} events; median"
    )
    print()
    print(format_table(["subject", "µs/event", "vs no middleware"], rows))
    if websocket_metrics is None:
        print("\n(websocket_metrics is not available; its line was skipped)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
