"""Per-event cost of Lift's WebSocket features, mirroring the Go Lift benchmark set.

Subjects: route lookup alone (the HTTP router's ``match`` on a path with parameters, and
the WebSocket route-key lookup), full handler execution of a MESSAGE event, automatic
connection management (a ``$connect`` + ``$disconnect`` pair, and a MESSAGE reading the
stored record), the legacy ``handle("MESSAGE", "/message", h)`` pattern with
``ctx.as_websocket()``, and a five-middleware stack: trivial pass-through middleware,
then one with the real ``request_logging`` and ``websocket_metrics`` (writing JSON
logs and EMF to a null stream). Events come from ``lift.testing.events``; every
subject's result is checked before timing. Run from the repository root::

    .venv/bin/python benchmarks/lift_style.py            # full run
    .venv/bin/python benchmarks/lift_style.py --quick    # a few iterations (smoke test)
    .venv/bin/python benchmarks/lift_style.py --json     # one JSON object instead of a table

Figures are microseconds per call, the median of the repeats (the timing loop's own
call overhead, well under 0.1 µs, is included). The script always exits 0.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import FakeLambdaContext, format_table, time_interleaved, timing_arguments
from lift import App, Context
from lift.middleware import request_logging, websocket_metrics
from lift.observability import EMFMetrics, JSONLogger
from lift.routing import HTTPRouter
from lift.testing import events
from lift.types import Handler
from lift.websocket import WebSocketOptions

Invoke = Callable[[], Any]
CONNECTION_ID = "Zt1lXc4NDoECEyQ="
BASELINE = "handler execution: MESSAGE $default"
HTTP_ROUTES = (
    ("GET", "/health"),
    ("GET", "/users"),
    ("POST", "/users"),
    ("GET", "/users/{id}"),
    ("PUT", "/users/{id}"),
    ("DELETE", "/users/{id}"),
    ("GET", "/users/{id}/posts"),
    ("GET", "/users/{id}/posts/{post_id}"),
    ("GET", "/tenants/{tenant}/rooms/{room}/messages"),
    ("GET", "/static/{path+}"),
)
WS_ROUTES = ("$connect", "$disconnect", "$default", "join", "leave", "chat", "typing", "ping")


def _noop(ctx: Context) -> None:
    return None


def _passthrough(handler: Handler) -> Handler:
    """A middleware that only calls the next handler."""

    def wrapped(ctx: Context) -> Any:
        return handler(ctx)

    return wrapped


def new_app(sink: TextIO, *, websocket: WebSocketOptions | None = None) -> App:
    """An app whose logs and metrics go to ``sink`` (a null stream)."""
    return App(websocket=websocket, logger=JSONLogger(stream=sink), metrics=EMFMetrics(stream=sink))


def checked(app: App, event: dict[str, Any], status: int = 200) -> Invoke:
    """A zero-argument call of ``app`` with ``event``, whose status is checked once."""
    context = FakeLambdaContext()
    result = app(event, context)
    if not isinstance(result, dict) or result.get("statusCode") != status:
        raise SystemExit(f"unexpected result: {result!r}")

    def invoke() -> Any:
        return app(event, context)

    return invoke


# -- subjects ---------------------------------------------------------------------------
def route_lookups() -> list[tuple[str, Invoke]]:
    """The HTTP router's ``match`` and the WebSocket route-key lookup, alone."""
    router = HTTPRouter()
    for method, path in HTTP_ROUTES:
        router.add(method, path, _noop)
    route, params = router.match("GET", "/users/123/posts/456")
    if route.path != "/users/{id}/posts/{post_id}" or params != {"id": "123", "post_id": "456"}:
        raise SystemExit(f"unexpected match: {route.path} {params}")

    app = App()
    for key in WS_ROUTES:
        app.websocket(key, _noop)
    routes = app.websocket_routes
    if routes.get("chat") is None:
        raise SystemExit("the chat route is not registered")

    def http_match() -> Any:
        return router.match("GET", "/users/123/posts/456")

    def ws_lookup() -> Any:
        return routes.get("chat")

    return [
        ("route lookup: HTTPRouter.match /users/{id}/posts/{post_id}", http_match),
        ("route lookup: WebSocket route key (dict)", ws_lookup),
    ]


def handler_execution(sink: TextIO) -> Invoke:
    """``app(event, ctx)`` for a MESSAGE to a native ``$default`` route."""
    app = new_app(sink)

    def on_message(ctx: Context) -> None:
        _ = ctx.websocket.connection_id

    app.websocket("$default", on_message)
    return checked(app, events.websocket_message({"text": "hello"}, connection_id=CONNECTION_ID))


def auto_connections(sink: TextIO) -> list[tuple[str, Invoke]]:
    """A ``$connect`` + ``$disconnect`` pair, and a MESSAGE that reads the stored record."""
    app = new_app(sink, websocket=WebSocketOptions(auto_connections=True))

    def on_message(ctx: Context) -> dict[str, Any]:
        connection = ctx.websocket.connection
        return {"user": connection.user_id if connection is not None else "missing"}

    app.websocket("$connect", _noop).websocket("$disconnect", _noop)
    app.websocket("$default", on_message)

    pair_id = "PairXc4NDoECEyQ="
    connect = checked(app, events.websocket_connect(connection_id=pair_id))
    store = app.websocket_options.store if app.websocket_options else None
    if store is None or store.get(pair_id) is None:
        raise SystemExit("the $connect did not store the connection")
    disconnect = checked(app, events.websocket_disconnect(connection_id=pair_id))
    if store.get(pair_id) is not None:
        raise SystemExit("the $disconnect did not delete the connection")

    def pair() -> Any:
        connect()
        return disconnect()

    checked(app, events.websocket_connect(connection_id=CONNECTION_ID))
    message = events.websocket_message({"text": "hello"}, connection_id=CONNECTION_ID)
    if json.loads(app(message, FakeLambdaContext())["body"]) != {"user": None}:
        raise SystemExit("the MESSAGE handler did not find the stored connection")
    return [
        ("auto connections: $connect + $disconnect pair", pair),
        ("auto connections: MESSAGE reading ctx.websocket.connection", checked(app, message)),
    ]


def legacy_pattern(sink: TextIO) -> Invoke:
    """``app.handle("MESSAGE", "/message", h)`` with ``ctx.as_websocket()``."""
    app = new_app(sink)

    def on_message(ctx: Context) -> None:
        _ = ctx.as_websocket().connection_id

    app.handle("MESSAGE", "/message", on_message)
    return checked(app, events.websocket_message({"text": "hello"}, connection_id=CONNECTION_ID))


def middleware_stacks(sink: TextIO) -> list[tuple[str, Invoke]]:
    """Five pass-through middleware; then logging, metrics and three pass-through."""
    message = events.websocket_message({"text": "hello"}, connection_id=CONNECTION_ID)

    def on_message(ctx: Context) -> None:
        _ = ctx.websocket.connection_id

    trivial = new_app(sink)
    for _ in range(5):
        trivial.use(_passthrough)
    trivial.websocket("$default", on_message)

    real = new_app(sink)
    real.use(request_logging()).use(websocket_metrics())
    for _ in range(3):
        real.use(_passthrough)
    real.websocket("$default", on_message)
    return [
        ("5 middleware: pass-through", checked(trivial, message)),
        ("5 middleware: request_logging + websocket_metrics + 3", checked(real, message)),
    ]


def subjects(sink: TextIO) -> list[tuple[str, Invoke]]:
    """Every subject, built and checked, in report order."""
    return [
        *route_lookups(),
        (BASELINE, handler_execution(sink)),
        *auto_connections(sink),
        ("legacy pattern: handle('MESSAGE', '/message') + as_websocket()", legacy_pattern(sink)),
        *middleware_stacks(sink),
    ]


# -- main -------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """Time every subject and print µs per call (median of the repeats)."""
    args = timing_arguments(__doc__.splitlines()[0], argv, iterations=10_000, quick_iterations=200)
    iterations, repeats = args.iterations, args.repeats
    warmup = min(iterations, 500)

    with open(os.devnull, "w", encoding="utf-8") as sink:
        cases = subjects(sink)
        timings = time_interleaved(cases, iterations=iterations, repeats=repeats, warmup=warmup)
    baseline = next(t.median_us for t in timings if t.name == BASELINE)
    if args.json:
        results = [{"name": t.name, "us": round(t.median_us, 4)} for t in timings]
        document = {
            "python": sys.version.split()[0],
            "iterations": iterations,
            "repeats": repeats,
            "baseline": BASELINE,
            "results": results,
        }
        print(json.dumps(document))
        return 0
    rows = [[t.name, f"{t.median_us:.2f}", f"{t.median_us / baseline:.2f}x"] for t in timings]
    print(f"Python {sys.version.split()[0]}; {repeats} repeats x {iterations} calls; median")
    print()
    print(format_table(["subject", "µs/call", "vs handler"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
