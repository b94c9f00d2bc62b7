"""The HTTP router, WebSocket route resolution and event routes."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from lift import App, Context, LiftError
from lift.observability import JSONLogger, MemoryMetrics
from lift.routing import EventRouter, HTTPRouter, normalise_path
from lift.testing import events


def make_app() -> App:
    return App(logger=JSONLogger(stream=io.StringIO()), metrics=MemoryMetrics())


def handler(ctx: Any) -> None:
    return None


def other(ctx: Any) -> None:
    return None


# -- HTTPRouter ----------------------------------------------------------------------
def test_static_route() -> None:
    router = HTTPRouter()
    route = router.add("get", "/health", handler)
    assert route.method == "GET"
    assert router.match("GET", "/health") == (route, {})


def test_brace_and_colon_params() -> None:
    router = HTTPRouter()
    brace = router.add("GET", "/users/{id}/posts/{post_id}", handler)
    colon = router.add("GET", "/teams/:team", handler)
    assert router.match("GET", "/users/7/posts/99") == (brace, {"id": "7", "post_id": "99"})
    assert router.match("GET", "/teams/blue") == (colon, {"team": "blue"})


def test_static_beats_param() -> None:
    router = HTTPRouter()
    param = router.add("GET", "/users/{id}", handler)
    static = router.add("GET", "/users/me", other)
    assert router.match("GET", "/users/me") == (static, {})
    assert router.match("GET", "/users/42") == (param, {"id": "42"})


def test_static_branch_falls_back_to_param() -> None:
    router = HTTPRouter()
    deep = router.add("GET", "/a/b/d", handler)
    param = router.add("GET", "/a/{x}/c", other)
    assert router.match("GET", "/a/b/d") == (deep, {})
    assert router.match("GET", "/a/b/c") == (param, {"x": "b"})


def test_greedy_proxy() -> None:
    router = HTTPRouter()
    route = router.add("GET", "/files/{proxy+}", handler)
    assert router.match("GET", "/files/a/b/c.txt") == (route, {"proxy": "a/b/c.txt"})
    assert router.match("GET", "/files/x") == (route, {"proxy": "x"})
    with pytest.raises(LiftError) as info:
        router.match("GET", "/files")
    assert info.value.status_code == 404


def test_greedy_must_be_last() -> None:
    with pytest.raises(ValueError, match="last"):
        HTTPRouter().add("GET", "/files/{proxy+}/meta", handler)


def test_trailing_slash() -> None:
    router = HTTPRouter()
    static = router.add("GET", "/items/", handler)
    param = router.add("GET", "/items/{id}", other)
    assert static.path == "/items"
    assert router.match("GET", "/items") == (static, {})
    assert router.match("GET", "/items/") == (static, {})
    assert router.match("GET", "/items/3/") == (param, {"id": "3"})
    assert normalise_path("/") == "/"
    assert normalise_path("") == "/"


def test_root_route() -> None:
    router = HTTPRouter()
    route = router.add("GET", "/", handler)
    assert router.match("GET", "/")[0] is route


def test_not_found() -> None:
    router = HTTPRouter()
    router.add("GET", "/items/{id}", handler)
    for path in ("/nope", "/items", "/items/1/extra", "/"):
        with pytest.raises(LiftError) as info:
            router.match("GET", path)
        assert (info.value.status_code, info.value.code) == (404, "NOT_FOUND")


def test_method_not_allowed_lists_allowed_methods() -> None:
    router = HTTPRouter()
    router.add("POST", "/items", handler)
    router.add("GET", "/items", other)
    with pytest.raises(LiftError) as info:
        router.match("DELETE", "/items")
    assert (info.value.status_code, info.value.code) == (405, "METHOD_NOT_ALLOWED")
    assert info.value.headers == {"Allow": "GET, POST"}


def test_head_falls_back_to_get() -> None:
    router = HTTPRouter()
    route = router.add("GET", "/items", handler)
    assert router.match("HEAD", "/items")[0] is route


def test_duplicate_http_route_is_refused() -> None:
    router = HTTPRouter()
    router.add("GET", "/items/{id}", handler)
    with pytest.raises(ValueError, match="already registered"):
        router.add("get", "/items/{id}/", other)
    with pytest.raises(ValueError, match="Conflicting"):
        router.add("GET", "/items/{name}/x", other)


# -- through the App -----------------------------------------------------------------
def test_app_routes_http_params_and_errors() -> None:
    app = make_app()

    @app.get("/items/{id}")
    def get_item(ctx: Context) -> Any:
        return {"id": ctx.param("id"), "params": ctx.params}

    @app.delete("/items/:id")
    def delete_item(ctx: Context) -> None:
        return None

    ok = app(events.http_v1("GET", "/items/42"))
    assert ok["statusCode"] == 200
    assert json.loads(ok["body"]) == {"id": "42", "params": {"id": "42"}}

    missing = app(events.http_v1("GET", "/other"))
    assert missing["statusCode"] == 404
    assert json.loads(missing["body"])["error"]["code"] == "NOT_FOUND"

    not_allowed = app(events.http_v2("POST", "/items/42"))
    assert not_allowed["statusCode"] == 405
    assert not_allowed["headers"]["Allow"] == "DELETE, GET"
    assert json.loads(not_allowed["body"])["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_app_duplicate_registrations_are_refused() -> None:
    app = make_app()
    app.get("/a")(handler)
    with pytest.raises(ValueError):
        app.get("/a")(other)
    app.websocket("$connect", handler)
    with pytest.raises(ValueError):
        app.handle("CONNECT", "/connect", other)
    app.handle("MESSAGE", "/chat", handler)
    with pytest.raises(ValueError):
        app.websocket("chat", other)
    app.sqs("orders")(handler)
    with pytest.raises(ValueError):
        app.sqs("orders")(other)
    with pytest.raises(ValueError):
        app.websocket("", handler)


def test_websocket_route_resolution_order() -> None:
    app = make_app()
    app.websocket("chat", lambda ctx: "chat")
    app.websocket("$default", lambda ctx: "default")
    assert app(events.websocket_message({"action": "chat"}))["body"] == "chat"
    assert app(events.websocket_message({"action": "other"}))["body"] == "default"

    from lift.websocket import WebSocketOptions

    with_fallback = App(
        websocket=WebSocketOptions(default_handler=lambda ctx: "fallback"),
        logger=JSONLogger(stream=io.StringIO()),
        metrics=MemoryMetrics(),
    )
    with_fallback.websocket("$default", lambda ctx: "default")
    assert with_fallback(events.websocket_message({"action": "x"}))["body"] == "fallback"

    bare = make_app()
    bare.websocket("chat", lambda ctx: "chat")
    result = bare(events.websocket_message({"action": "nope"}))
    assert result["statusCode"] == 404
    assert json.loads(result["body"])["error"]["code"] == "ROUTE_NOT_FOUND"


def test_legacy_handle_pattern_routes() -> None:
    app = make_app()
    seen: list[str] = []
    app.handle("CONNECT", "/connect", lambda ctx: seen.append("connect"))
    app.handle("DISCONNECT", "/disconnect", lambda ctx: seen.append("disconnect"))
    app.handle("MESSAGE", "/message", lambda ctx: seen.append("default"))
    app.handle("MESSAGE", "/chat", lambda ctx: seen.append(ctx.path))
    app(events.websocket_connect())
    app(events.websocket_message({"action": "chat"}))
    app(events.websocket_message("hello"))
    app(events.websocket_disconnect())
    assert seen == ["connect", "/chat", "default", "disconnect"]


# -- EventRouter ---------------------------------------------------------------------
def test_event_router_globs_in_registration_order() -> None:
    router = EventRouter("sqs")
    first = router.add("orders-*", handler)
    second = router.add("*", other)
    assert router.match("orders-eu") is first
    assert router.match("payments") is second
    assert router.match("", "payments") is second


def test_event_router_unmatched_is_lift_error() -> None:
    router = EventRouter("sqs")
    router.add("orders", handler)
    with pytest.raises(LiftError) as info:
        router.match("payments")
    assert info.value.code == "ROUTE_NOT_FOUND"
