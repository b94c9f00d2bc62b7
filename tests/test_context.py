"""Context: request accessors, JSON and model binding, state, identity, responses."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import BaseModel, Field

from lift import App, Context, LiftError
from lift.events import parse
from lift.observability import JSONLogger, MemoryMetrics
from lift.testing import events


def make_app() -> App:
    return App(logger=JSONLogger(stream=io.StringIO()), metrics=MemoryMetrics())


def ctx_for(event: dict[str, Any]) -> Context:
    return Context(parse(event), None, make_app())


class ItemModel(BaseModel):
    name: str
    qty: int = Field(ge=1)
    tags: list[str] = []


@dataclass
class ItemData:
    name: str
    qty: int
    price: float = 0.0
    note: str | None = None
    tags: list[str] = field(default_factory=list)


def test_request_accessors_http() -> None:
    ctx = ctx_for(
        events.http_v1("GET", "/items/1", headers={"X-Custom-Header": "v"}, query={"q": ["a", "b"]})
    )
    assert ctx.method == "GET"
    assert ctx.path == "/items/1"
    assert ctx.header("x-custom-header") == "v"
    assert ctx.header("X-CUSTOM-HEADER") == "v"
    assert ctx.headers["x-custom-header"] == "v"
    assert ctx.header("missing") is None
    assert ctx.query("q") == "b"
    assert ctx.query("missing", "dflt") == "dflt"
    assert ctx.body == b"" and ctx.text == ""
    assert ctx.is_websocket is False


def test_request_accessors_websocket() -> None:
    ctx = ctx_for(events.websocket_connect(query={"token": "t"}))
    assert ctx.method == "CONNECT"
    assert ctx.path == "/connect"
    assert ctx.query("token") == "t"
    assert ctx.is_websocket is True


def test_not_websocket() -> None:
    ctx = ctx_for(events.http_v2("GET", "/"))
    with pytest.raises(LiftError) as info:
        _ = ctx.websocket
    assert (info.value.status_code, info.value.code) == (400, "NOT_WEBSOCKET")
    with pytest.raises(LiftError):
        ctx.as_websocket()


def test_json_body() -> None:
    ctx = ctx_for(events.http_v1("POST", "/", body={"a": [1, 2]}))
    assert ctx.json() == {"a": [1, 2]}
    assert ctx.json() is ctx.json()


@pytest.mark.parametrize("body", ["{not json", "", "   ", "\xff\xfe", "[" * 50_000])
def test_invalid_json_is_400(body: str) -> None:
    app = make_app()
    app.post("/")(lambda ctx: ctx.json())
    response = app(events.http_v1("POST", "/", body=body))
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["code"] == "INVALID_JSON"


def test_invalid_base64_body_is_400() -> None:
    app = make_app()
    app.post("/")(lambda ctx: len(ctx.body))
    event = events.http_v1("POST", "/", body="plain")
    event["body"] = "***not base64***"
    event["isBase64Encoded"] = True
    response = app(event)
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["code"] == "INVALID_BODY"


def test_bind_pydantic() -> None:
    app = make_app()
    app.post("/items")(lambda ctx: ctx.bind(ItemModel).model_dump())
    ok = app(events.http_v2("POST", "/items", body={"name": "pen", "qty": 2}))
    assert json.loads(ok["body"]) == {"name": "pen", "qty": 2, "tags": []}

    bad = app(events.http_v2("POST", "/items", body={"qty": 0, "tags": "x"}))
    assert bad["statusCode"] == 422
    error = json.loads(bad["body"])["error"]
    assert error["code"] == "VALIDATION_ERROR"
    fields = {detail["field"] for detail in error["details"]}
    assert fields == {"name", "qty", "tags"}
    assert all({"field", "message", "type"} <= set(d) for d in error["details"])


def test_bind_pydantic_invalid_json_is_400() -> None:
    app = make_app()
    app.post("/items")(lambda ctx: ctx.bind(ItemModel).model_dump())
    response = app(events.http_v2("POST", "/items", body="{oops"))
    assert response["statusCode"] == 400


def test_bind_dataclass() -> None:
    app = make_app()
    app.post("/items")(lambda ctx: ctx.bind(ItemData).__dict__)
    ok = app(events.http_v1("POST", "/items", body={"name": "pen", "qty": 2, "price": 3}))
    assert json.loads(ok["body"]) == {
        "name": "pen",
        "qty": 2,
        "price": 3,
        "note": None,
        "tags": [],
    }
    bad = app(events.http_v1("POST", "/items", body={"qty": "two", "price": True, "note": 5}))
    assert bad["statusCode"] == 422
    details = json.loads(bad["body"])["error"]["details"]
    by_field = {d["field"]: d for d in details}
    assert set(by_field) == {"name", "qty", "price", "note"}
    assert by_field["name"]["type"] == "missing"
    assert by_field["qty"]["message"] == "Expected integer"
    not_object = app(events.http_v1("POST", "/items", body=[1, 2]))
    assert not_object["statusCode"] == 422


def test_bind_websocket_message() -> None:
    app = make_app()
    app.websocket("chat", lambda ctx: {"name": ctx.bind(ItemData).name})
    ok = app(events.websocket_message({"action": "chat", "name": "pen", "qty": 1}))
    assert json.loads(ok["body"]) == {"name": "pen"}
    bad = app(events.websocket_message({"action": "chat"}))
    assert bad["statusCode"] == 422


def test_state() -> None:
    ctx = ctx_for(events.http_v1())
    assert ctx.get("k") is None
    assert ctx.get("k", 5) == 5
    ctx.set("k", {"v": 1})
    assert ctx.get("k") == {"v": 1}


def test_identity() -> None:
    ctx = ctx_for(events.websocket_message("x"))
    assert ctx.is_authenticated is False
    assert ctx.user_id is None and ctx.tenant_id is None and ctx.claims == {}
    claims = {"sub": "u-1", "roles": ["admin"]}
    ctx.set_identity(user_id="u-1", tenant_id="t-1", claims=claims)
    assert (ctx.user_id, ctx.tenant_id, ctx.is_authenticated) == ("u-1", "t-1", True)
    assert ctx.claims == claims and ctx.claims is not claims
    ctx.set_identity(user_id="", tenant_id="")
    assert ctx.user_id is None and ctx.tenant_id is None and ctx.is_authenticated is False


def test_logger_is_bound_to_request_id() -> None:
    stream = io.StringIO()
    app = App(logger=JSONLogger(stream=stream), metrics=MemoryMetrics())

    @app.get("/")
    def index(ctx: Context) -> None:
        ctx.logger.info("handled", item=3)

    app(events.http_v1("GET", "/", request_id="req-77"))
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["message"] == "handled"
    assert line["request_id"] == "req-77"
    assert line["item"] == 3


def test_context_metrics_is_app_metrics() -> None:
    metrics = MemoryMetrics()
    app = App(logger=JSONLogger(stream=io.StringIO()), metrics=metrics)
    ctx = Context(parse(events.http_v1()), None, app)
    assert ctx.metrics is metrics
    assert ctx.app is app


def test_status_writers() -> None:
    ctx = ctx_for(events.http_v1())
    response = ctx.status(202).json({"queued": True})
    assert ctx.response is response
    assert (response.status_code, response.body) == (202, '{"queued":true}')
    assert ctx.status(200).text("hi").header("content-type") == "text/plain; charset=utf-8"
    raw = ctx.status(200).body(b"\x00", "image/png")
    assert raw.body == b"\x00" and raw.header("Content-Type") == "image/png"
    assert ctx.status(204).empty().body is None
    ctx.set_header("X-A", "1")
    assert ctx.response_headers == {"X-A": "1"}
