"""Per-event dispatch cost of Lift, Chalice and Powertools for AWS Lambda.

Every framework handles the same event and must produce the same result (checked
before timing). Run from the repository root::

    .venv/bin/python benchmarks/dispatch.py            # full run
    .venv/bin/python benchmarks/dispatch.py --quick    # a few iterations (smoke test)
    .venv/bin/python benchmarks/dispatch.py --json     # one JSON object instead of tables

Targets: REST v1 dispatch costs at most half of the fastest peer's; WebSocket MESSAGE
dispatch costs at most twice Chalice's bare WebSocket handler. The script always exits 0.

The WebSocket table also shows Lift's own variants next to the bare route (which is
tracing off): the same message validated into a pydantic model and into a dataclass
(``model=``), and the bare route with tracing on (OpenTelemetry SDK, no exporter).
"""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import (
    FakeLambdaContext,
    Timing,
    format_table,
    time_interleaved,
    timing_arguments,
    verdict,
)

REST_TARGET = 0.50
WEBSOCKET_TARGET = 2.00
USER = {"id": "123", "name": "Ada Lovelace", "active": True}
REGION = "eu-west-1"
API_ID = "a1b2c3d4e5"
DOMAIN = f"{API_ID}.execute-api.{REGION}.amazonaws.com"

Invoke = Callable[[], Any]


def rest_event() -> dict[str, Any]:
    """GET /users/123 through a REST API (payload 1.0) resource ``/users/{id}``."""
    headers = {
        "Accept": "application/json",
        "Accept-Encoding": "gzip, deflate, br",
        "Accept-Language": "en-GB,en;q=0.9",
        "CloudFront-Forwarded-Proto": "https",
        "CloudFront-Is-Desktop-Viewer": "true",
        "CloudFront-Is-Mobile-Viewer": "false",
        "CloudFront-Is-SmartTV-Viewer": "false",
        "CloudFront-Is-Tablet-Viewer": "false",
        "CloudFront-Viewer-Country": "GB",
        "Host": DOMAIN,
        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0",
        "Via": "2.0 4f1c0e2b8a9d6e3f.cloudfront.net (CloudFront)",
        "X-Amz-Cf-Id": "kXq3P5yVbJ0oQ2d6Zr8nS1tW4uE7iA9cF3gH5jK2lM0nB6vC8xZ1aw==",
        "X-Amzn-Trace-Id": "Root=1-66323a10-3b9f2c1d4e5f6a7b8c9d0e1f",
        "X-Forwarded-For": "203.0.113.10, 130.176.1.1",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    return {
        "resource": "/users/{id}",
        "path": "/users/123",
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"id": "123"},
        "stageVariables": None,
        "requestContext": {
            "resourceId": "x1y2z3",
            "resourcePath": "/users/{id}",
            "httpMethod": "GET",
            "extendedRequestId": "XyZ1aF2bIAMEbCw=",
            "requestTime": "01/May/2024:12:00:00 +0000",
            "path": "/prod/users/123",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": "prod",
            "domainPrefix": API_ID,
            "requestTimeEpoch": 1714564800123,
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": "203.0.113.10",
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": headers["User-Agent"],
                "user": None,
            },
            "domainName": DOMAIN,
            "deploymentId": "d9e8f7",
            "apiId": API_ID,
        },
        "body": None,
        "isBase64Encoded": False,
    }


def websocket_message_event() -> dict[str, Any]:
    """A ``$default`` MESSAGE event as API Gateway sends it (no headers on messages)."""
    return {
        "requestContext": {
            "routeKey": "$default",
            "messageId": "Zt1mZc4NDoECEyQ=",
            "eventType": "MESSAGE",
            "extendedRequestId": "Zt1mZGh1joEFsMQ=",
            "requestTime": "01/May/2024:12:00:00 +0000",
            "messageDirection": "IN",
            "stage": "prod",
            "connectedAt": 1714564790000,
            "requestTimeEpoch": 1714564800123,
            "identity": {"sourceIp": "203.0.113.10"},
            "requestId": "Zt1mZGh1joEFsMQ=",
            "domainName": DOMAIN,
            "connectionId": "Zt1lXc4NDoECEyQ=",
            "apiId": API_ID,
        },
        "body": json.dumps({"action": "chat", "text": "hello"}),
        "isBase64Encoded": False,
    }


# -- the three apps --------------------------------------------------------------------


def lift_rest() -> Callable[[dict[str, Any], Any], Any]:
    """A Lift app with ``GET /users/{id}``."""
    from lift import App, Context

    app = App()

    @app.get("/users/{id}")
    def get_user(ctx: Context) -> dict[str, Any]:
        return {**USER, "id": ctx.param("id")}

    return app


def chalice_rest() -> Callable[[dict[str, Any], Any], Any]:
    """A Chalice app with ``/users/{id}``."""
    from chalice.app import Chalice

    app = Chalice(app_name="bench")

    @app.route("/users/{id}")
    def get_user(id: str) -> dict[str, Any]:
        return {**USER, "id": id}

    return app


def powertools_rest() -> Callable[[dict[str, Any], Any], Any]:
    """A Powertools ``APIGatewayRestResolver`` with ``/users/<id>``."""
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

    app = APIGatewayRestResolver()

    @app.get("/users/<id>")
    def get_user(id: str) -> dict[str, Any]:
        return {**USER, "id": id}

    return app.resolve


def lift_websocket() -> Callable[[dict[str, Any], Any], Any]:
    """A Lift app with a ``$default`` WebSocket handler that does nothing."""
    from lift import App, Context

    app = App()

    def on_message(ctx: Context) -> None:
        return None

    app.websocket("$default", on_message)
    return app


def lift_typed(model: str) -> Callable[[], Callable[[dict[str, Any], Any], Any]]:
    """A Lift ``$default`` route whose message is validated into a model first."""

    def build() -> Callable[[dict[str, Any], Any], Any]:
        from dataclasses import dataclass

        from pydantic import BaseModel

        from lift import App, Context

        class ChatPydantic(BaseModel):
            action: str
            text: str

        @dataclass
        class ChatDataclass:
            action: str
            text: str

        app = App()

        def on_message(ctx: Context) -> None:
            return None

        chosen = ChatPydantic if model == "pydantic" else ChatDataclass
        app.websocket("$default", on_message, model=chosen)
        return app

    return build


def lift_untraced() -> Callable[[dict[str, Any], Any], Any]:
    """The bare Lift ``$default`` route with ``tracing=False`` said explicitly."""
    from lift import App, Context

    app = App(tracing=False)

    def on_message(ctx: Context) -> None:
        return None

    app.websocket("$default", on_message)
    return app


def lift_traced() -> Callable[[dict[str, Any], Any], Any]:
    """The bare Lift ``$default`` route with tracing on (an SDK provider, no exporter)."""
    from opentelemetry.sdk.trace import TracerProvider

    from lift import App, Context

    app = App(tracing=TracerProvider().get_tracer("bench"))

    def on_message(ctx: Context) -> None:
        return None

    app.websocket("$default", on_message)
    return app


def chalice_websocket() -> Callable[[dict[str, Any], Any], Any]:
    """Chalice's bare ``on_ws_message`` handler, with the session it requires.

    Chalice refuses to dispatch WebSocket events until ``websocket_api.session`` is
    set; the session (with dummy credentials) is built here, outside the timing.
    """
    import boto3
    from chalice.app import Chalice

    os.environ.setdefault("AWS_REGION", REGION)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    app = Chalice(app_name="bench")
    app.experimental_feature_flags.update(["WEBSOCKETS"])
    app.websocket_api.session = boto3.session.Session(region_name=REGION)

    def on_message(event: Any) -> None:
        return None

    handler: Callable[[dict[str, Any], Any], Any] = app.on_ws_message()(on_message)
    return handler


# -- fairness checks -------------------------------------------------------------------


def check_rest(name: str, result: Any) -> None:
    """Every framework must answer 200 with the same JSON body."""
    if not isinstance(result, dict) or result.get("statusCode") != 200:
        raise SystemExit(f"{name}: expected status 200, got {result!r}")
    expected = json.dumps(USER, separators=(",", ":"))
    if result.get("body") != expected:
        raise SystemExit(f"{name}: expected body {expected!r}, got {result.get('body')!r}")


def check_websocket(name: str, result: Any) -> None:
    """Every framework must answer the message with status 200."""
    if not isinstance(result, dict) or result.get("statusCode") != 200:
        raise SystemExit(f"{name}: expected status 200, got {result!r}")


def prepare(
    builders: list[tuple[str, Callable[[], Callable[[dict[str, Any], Any], Any]]]],
    event: dict[str, Any],
    check: Callable[[str, Any], None],
) -> list[tuple[str, Invoke]]:
    """Build each app once, check its answer, and return zero-argument invokers.

    Each framework gets its own copy of the event, so none can see another's changes.
    """
    context = FakeLambdaContext()
    subjects: list[tuple[str, Invoke]] = []
    for name, build in builders:
        handler = build()
        own_event = copy.deepcopy(event)
        check(name, handler(own_event, context))

        def invoke(
            handler: Callable[[dict[str, Any], Any], Any] = handler,
            event: dict[str, Any] = own_event,
        ) -> Any:
            return handler(event, context)

        subjects.append((name, invoke))
    return subjects


# -- report ----------------------------------------------------------------------------


def report(title: str, timings: list[Timing]) -> None:
    """Print one table: framework, cost per event, and ratio against Lift."""
    lift_us = timings[0].median_us
    rows = [[t.name, f"{t.median_us:.2f}", f"{t.median_us / lift_us:.2f}x"] for t in timings]
    print(title)
    print(format_table(["framework", "µs/event", "vs lift"], rows))
    print()


def as_json(
    rest_timings: list[Timing], ws_timings: list[Timing], iterations: int, repeats: int
) -> dict[str, Any]:
    """The figures and target checks as one JSON-ready object."""
    peer = min(rest_timings[1:], key=lambda t: t.median_us)
    rest_ratio = rest_timings[0].median_us / peer.median_us
    ws_ratio = ws_timings[0].median_us / ws_timings[1].median_us
    return {
        "python": sys.version.split()[0],
        "iterations": iterations,
        "repeats": repeats,
        "rest": [{"name": t.name, "us": round(t.median_us, 4)} for t in rest_timings],
        "websocket": [{"name": t.name, "us": round(t.median_us, 4)} for t in ws_timings],
        "checks": [
            {
                "name": f"dispatch: REST, lift / fastest peer ({peer.name})",
                "value": round(rest_ratio, 3),
                "comparison": "<=",
                "target": REST_TARGET,
                "verdict": verdict(rest_ratio, REST_TARGET),
            },
            {
                "name": "dispatch: WebSocket, lift / chalice",
                "value": round(ws_ratio, 3),
                "comparison": "<=",
                "target": WEBSOCKET_TARGET,
                "verdict": verdict(ws_ratio, WEBSOCKET_TARGET),
            },
        ],
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the tables and target checks."""
    args = timing_arguments(__doc__.splitlines()[0], argv, iterations=20_000, quick_iterations=200)
    iterations, repeats = args.iterations, args.repeats
    warmup = 50 if args.quick else 2_000

    rest = prepare(
        [("lift", lift_rest), ("chalice", chalice_rest), ("powertools", powertools_rest)],
        rest_event(),
        check_rest,
    )
    websocket = prepare(
        [
            ("lift", lift_websocket),
            ("chalice", chalice_websocket),
            ("lift, model= pydantic", lift_typed("pydantic")),
            ("lift, model= dataclass", lift_typed("dataclass")),
            ("lift, tracing off", lift_untraced),
            ("lift, tracing on", lift_traced),
        ],
        websocket_message_event(),
        check_websocket,
    )

    rest_timings = time_interleaved(rest, iterations=iterations, repeats=repeats, warmup=warmup)
    ws_timings = time_interleaved(websocket, iterations=iterations, repeats=repeats, warmup=warmup)
    if args.json:
        print(json.dumps(as_json(rest_timings, ws_timings, iterations, repeats)))
        return 0
    print(f"Python {sys.version.split()[0]}; {repeats} repeats x {iterations} events; median")
    print()
    report("REST v1  GET /users/{id}", rest_timings)
    report("WebSocket MESSAGE  $default (lift is the bare route, tracing off)", ws_timings)

    lift_rest_us = rest_timings[0].median_us
    peer = min(rest_timings[1:], key=lambda t: t.median_us)
    ratio = lift_rest_us / peer.median_us
    print(
        f"REST: lift {lift_rest_us:.2f} µs vs fastest peer ({peer.name}) "
        f"{peer.median_us:.2f} µs -> ratio {ratio:.2f} (target <= {REST_TARGET:.2f}): "
        f"{verdict(ratio, REST_TARGET)}"
    )
    lift_ws_us, chalice_ws_us = ws_timings[0].median_us, ws_timings[1].median_us
    ratio = lift_ws_us / chalice_ws_us
    print(
        f"WebSocket: lift {lift_ws_us:.2f} µs vs chalice {chalice_ws_us:.2f} µs "
        f"-> ratio {ratio:.2f} (target <= {WEBSOCKET_TARGET:.2f}): "
        f"{verdict(ratio, WEBSOCKET_TARGET)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
