"""The legacy pattern: app.handle("CONNECT", "/connect", h) + ctx.as_websocket()."""

from __future__ import annotations

from typing import Any

import pytest

from lift import App, Context
from lift.testing import events
from lift.websocket import MemoryConnectionStore, WebSocketOptions


def legacy_app(log: list[tuple[str, str, str]]) -> App:
    app = App(websocket=WebSocketOptions(auto_connections=True, store=MemoryConnectionStore()))

    def record(name: str) -> Any:
        def handler(ctx: Context) -> None:
            ws = ctx.as_websocket()
            log.append((name, ws.event_type, ws.connection_id))

        return handler

    app.handle("CONNECT", "/connect", record("connect"))
    app.handle("DISCONNECT", "/disconnect", record("disconnect"))
    app.handle("MESSAGE", "/message", record("message"))
    app.handle("MESSAGE", "/chat", record("chat"))
    return app


def test_every_websocket_event_routes() -> None:
    log: list[tuple[str, str, str]] = []
    app = legacy_app(log)
    assert app(events.websocket_connect(connection_id="c1"), None)["statusCode"] == 200
    assert app(events.websocket_message({"x": 1}, connection_id="c1"), None)["statusCode"] == 200
    chat = events.websocket_message({"action": "chat"}, connection_id="c1")
    assert app(chat, None)["statusCode"] == 200
    unknown = events.websocket_message({"action": "nope"}, connection_id="c1", route_key="nope")
    assert app(unknown, None)["statusCode"] == 200  # falls back to $default (/message)
    disconnect = events.websocket_disconnect(connection_id="c1")
    assert app(disconnect, None)["statusCode"] == 200
    assert log == [
        ("connect", "CONNECT", "c1"),
        ("message", "MESSAGE", "c1"),
        ("chat", "MESSAGE", "c1"),
        ("message", "MESSAGE", "c1"),
        ("disconnect", "DISCONNECT", "c1"),
    ]


def test_connect_event_with_http_method_and_path_is_websocket() -> None:
    log: list[tuple[str, str, str]] = []
    app = legacy_app(log)
    event = events.websocket_connect(connection_id="c9", http_method="GET", path="/")
    assert app(event, None)["statusCode"] == 200
    assert log == [("connect", "CONNECT", "c9")]
    store = app.websocket_options.store  # type: ignore[union-attr]
    assert store.get("c9") is not None


def test_legacy_and_native_are_the_same_table() -> None:
    app = App()
    app.handle("MESSAGE", "/message", lambda ctx: None)
    assert "$default" in app.websocket_routes
    with pytest.raises(ValueError):
        app.websocket("$default", lambda ctx: None)


def test_ctx_method_and_path_match_the_legacy_registration() -> None:
    seen: list[tuple[str, str]] = []
    app = App()
    app.handle("MESSAGE", "/chat", lambda ctx: seen.append((ctx.method, ctx.path)))
    app.handle("CONNECT", "/connect", lambda ctx: seen.append((ctx.method, ctx.path)))
    app(events.websocket_connect(), None)
    app(events.websocket_message({"action": "chat"}), None)
    assert seen == [("CONNECT", "/connect"), ("MESSAGE", "/chat")]
