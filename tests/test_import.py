"""Importing lift stays light: no AWS SDK, WebSocket, JWT or pydantic modules."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.paths import source_env

HEAVY = ("boto3", "botocore", "websockets", "jwt", "cryptography", "pydantic", "opentelemetry")


def imported_heavy_modules(statement: str) -> list[str]:
    """Run ``statement`` in a fresh interpreter; list the heavy modules it imported."""
    code = (
        "import json, sys\n"
        f"{statement}\n"
        f"heavy = {HEAVY!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
    )
    env = source_env()
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_import_lift_is_light() -> None:
    assert imported_heavy_modules("import lift") == []


def test_using_the_core_stays_light() -> None:
    statement = (
        "import lift\n"
        "from lift.testing import events\n"
        "app = lift.App()\n"
        "app.get('/')(lambda ctx: {'ok': True})\n"
        "assert app(events.http_v1('GET', '/'))['statusCode'] == 200"
    )
    assert imported_heavy_modules(statement) == []


@pytest.mark.parametrize(
    "module",
    [
        "lift.websocket",
        "lift.testing",
        "lift.auth",
        "lift.middleware",
        "lift.tracing",
        "lift.ratelimit",
        "lift.typed",
    ],
)
def test_subpackages_stay_light(module: str) -> None:
    loaded = imported_heavy_modules(f"import {module}")
    assert [
        m
        for m in loaded
        if m.split(".")[0] in ("boto3", "botocore", "websockets", "jwt", "opentelemetry")
    ] == []


def test_public_names() -> None:
    import lift

    for name in ("App", "Context", "Response", "LiftError", "__version__"):
        assert hasattr(lift, name)
    from lift.testing import events

    for factory in (
        "websocket_connect",
        "websocket_message",
        "websocket_disconnect",
        "http_v1",
        "http_v2",
        "sqs",
        "s3",
        "s3_eventbridge",
        "eventbridge",
        "scheduled",
    ):
        assert callable(getattr(events, factory))


APP_WITH_AUTH_AND_TRACKING = (
    "from lift import App\n"
    "from lift.middleware import JWTConfig, websocket_auth\n"
    "from lift.websocket import WebSocketOptions\n"
    "app = App(websocket=WebSocketOptions(auto_connections=True))\n"
    "app.use(websocket_auth(JWTConfig(secret='s' * 32, algorithms=['HS256'])))\n"
    "app.websocket('$default', lambda ctx: ctx.websocket.send({'echo': ctx.text}))\n"
)
"""The cold-start benchmark's ``import`` scenario (``benchmarks/coldstart.py``)."""

IMPORT_BUDGET_FORBIDDEN = (
    *HEAVY,
    "aiohttp",
    "urllib3",
    "ssl",
    "http",
    "email",
    "asyncio",
    "concurrent",
    "socket",
    "hmac",
    "hashlib",
)
"""What an app module must not load at import: each belongs to a path a request takes."""


def loaded_modules(statement: str, env: dict[str, str] | None = None) -> set[str]:
    """Run ``statement`` in a fresh interpreter; the top-level names it left imported."""
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))\n"
    base = source_env(**(env or {}))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=base, check=True
    )
    return {name.split(".")[0] for name in json.loads(result.stdout.strip().splitlines()[-1])}


def test_import_budget_of_an_auth_and_tracking_app() -> None:
    """Building the app defers PyJWT, the AWS SDK and every network module to first use."""
    loaded = loaded_modules(APP_WITH_AUTH_AND_TRACKING, {"LIFT_CONNECTIONS_TABLE": "table"})
    assert sorted(loaded & set(IMPORT_BUDGET_FORBIDDEN)) == []


COLD_START_FORBIDDEN = (
    "dataclasses",
    "inspect",
    "typing",
    "decimal",
    "random",
    "bisect",
    "datetime",
    "urllib",
    "threading",
    "logging",
    "base64",
    "math",
    "fnmatch",
    "importlib",
)
"""Standard modules the cold-start app has no use for before its first event."""

LIFT_MODULES_AT_IMPORT = {
    "lift",
    "lift._lazy",
    "lift.app",
    "lift.auth",
    "lift.auth.jwt",
    "lift.auth.middleware",
    "lift.auth.tokens",
    "lift.context",
    "lift.dispatch",
    "lift.errors",
    "lift.events",
    "lift.events._common",
    "lift.events.detection",
    "lift.identity",
    "lift.middleware",
    "lift.observability",
    "lift.observability.emf",
    "lift.observability.logger",
    "lift.observability.redaction",
    "lift.request",
    "lift.response",
    "lift.routing",
    "lift.websocket",
    "lift.websocket.options",
    "lift.websocket.stores",
}
"""Every Lift module the cold-start app loads: no event adapter, store or channel module."""


def modules_after(
    statement: str, env: dict[str, str] | None = None, *, setup: str = ""
) -> set[str]:
    """Run ``setup`` then ``statement`` in a fresh interpreter; the modules ``statement`` added."""
    code = (
        f"import json, sys\n{setup}\n"
        "modules_before = set(sys.modules)\n"
        f"{statement}\n"
        "print(json.dumps(sorted(set(sys.modules) - modules_before)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=source_env(**(env or {})),
        check=True,
    )
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("table", ["connections", ""])
def test_cold_start_app_imports_only_what_it_needs(table: str) -> None:
    """The cold-start benchmark's app (auth + auto_connections on DynamoDB or in memory):
    import and creation load a fixed set of Lift modules and no standard module that can
    wait for the first event. No store, connection record, channel or adapter module, no
    dataclasses, typing or datetime."""
    added = modules_after(APP_WITH_AUTH_AND_TRACKING, {"LIFT_CONNECTIONS_TABLE": table})
    lift_modules = {name for name in added if name.split(".")[0] == "lift"}
    assert lift_modules == LIFT_MODULES_AT_IMPORT
    top_level = {name.split(".")[0] for name in added}
    assert sorted(top_level & set(COLD_START_FORBIDDEN + IMPORT_BUDGET_FORBIDDEN)) == []


def test_cold_start_app_loads_its_store_and_adapter_on_the_first_event() -> None:
    """What was deferred arrives with the first event: the WebSocket adapter and the
    store named at creation (built once), and nothing of the other event kinds."""
    from lift.testing import events

    event = events.websocket_connect(query={"user": "ana"})  # no token: refused, 401
    statement = (
        f"assert app(json.loads({json.dumps(event)!r}))['statusCode'] == 401\n"
        "store = app.websocket_options.store\n"
        "assert store is app.websocket_options.store\n"
        "assert type(store).__name__ == 'MemoryConnectionStore', store\n"
    )
    added = modules_after(
        statement, {"LIFT_CONNECTIONS_TABLE": ""}, setup=APP_WITH_AUTH_AND_TRACKING
    )
    assert "lift.events.websocket" in added
    assert "lift.websocket.stores.memory" in added
    for other in ("apigw_v1", "apigw_v2", "alb", "authorizer", "sqs", "s3", "sns", "streams"):
        assert f"lift.events.{other}" not in added


def test_first_send_with_lambda_credentials_skips_botocore() -> None:
    """Credentials in the environment (as on Lambda): the first send never imports botocore."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    received: list[str] = []

    class Endpoint(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            assert self.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIA")
            assert self.headers["X-Amz-Security-Token"] == "session-token"
            received.append(body.decode())
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        statement = (
            "from lift import App\n"
            "from lift.testing import events\n"
            "app = App()\n"
            "app.websocket('$default', lambda ctx: ctx.websocket.send({'echo': ctx.text}))\n"
            "assert app(events.websocket_message(body='hi'))['statusCode'] == 200\n"
        )
        env = {
            "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "secret",
            "AWS_SESSION_TOKEN": "session-token",
            "AWS_REGION": "eu-west-1",
            "LIFT_WS_MANAGEMENT_ENDPOINT": f"http://127.0.0.1:{server.server_address[1]}/prod",
            "NO_PROXY": "127.0.0.1",
        }
        loaded = loaded_modules(statement, env)
    finally:
        server.shutdown()
        server.server_close()
    assert received == ['{"echo":"hi"}']
    assert sorted(loaded & {"boto3", "botocore", "urllib3", "jwt", "cryptography"}) == []
