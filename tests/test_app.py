"""App: middleware, handler results, response shapes, error mapping and event routes."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from typing import Any

import pytest

from lift import (
    App,
    Context,
    LiftError,
    Response,
    UnsupportedEventError,
    bad_request,
    conflict,
    forbidden,
    internal_error,
    not_found,
    too_many_requests,
    unauthorized,
    validation_error,
)
from lift.apigw import LambdaContext
from lift.observability import JSONLogger, MemoryMetrics
from lift.testing import events

Handler = Callable[[Context], Any]


REQUEST_ID = "8f5b2a1c-0000-4000-8000-000000000001"


def FakeLambdaContext() -> LambdaContext:
    return LambdaContext("orders", aws_request_id=REQUEST_ID)


def make_app() -> tuple[App, io.StringIO]:
    stream = io.StringIO()
    return App(logger=JSONLogger(stream=stream), metrics=MemoryMetrics()), stream


def log_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def body_of(result: dict[str, Any]) -> Any:
    return json.loads(result["body"])


# -- middleware ----------------------------------------------------------------------
def test_first_middleware_is_outermost() -> None:
    app, _ = make_app()
    order: list[str] = []

    def tracer(name: str) -> Callable[[Handler], Handler]:
        def middleware(handler: Handler) -> Handler:
            def wrapped(ctx: Context) -> Any:
                order.append(f"{name}:before")
                result = handler(ctx)
                order.append(f"{name}:after")
                return result

            return wrapped

        return middleware

    app.use(tracer("outer")).use(tracer("inner"))

    @app.get("/")
    def index(ctx: Context) -> str:
        order.append("handler")
        return "ok"

    assert app(events.http_v1("GET", "/"))["body"] == "ok"
    assert order == ["outer:before", "inner:before", "handler", "inner:after", "outer:after"]


def test_middleware_short_circuit() -> None:
    app, _ = make_app()
    calls: list[str] = []

    def gate(handler: Handler) -> Handler:
        def wrapped(ctx: Context) -> Any:
            if ctx.header("x-api-key") != "secret":
                return Response.json({"denied": True}, 403)
            return handler(ctx)

        return wrapped

    app.use(gate)

    @app.get("/")
    def index(ctx: Context) -> str:
        calls.append("handler")
        return "ok"

    denied = app(events.http_v1("GET", "/"))
    assert denied["statusCode"] == 403
    assert body_of(denied) == {"denied": True}
    assert calls == []
    allowed = app(events.http_v1("GET", "/", headers={"X-Api-Key": "secret"}))
    assert allowed["statusCode"] == 200
    assert calls == ["handler"]


def test_middleware_composed_once_per_route() -> None:
    app, _ = make_app()
    wrapped_handlers: list[Any] = []
    calls = 0

    def counting(handler: Handler) -> Handler:
        wrapped_handlers.append(handler)

        def wrapped(ctx: Context) -> Any:
            nonlocal calls
            calls += 1
            return handler(ctx)

        return wrapped

    app.use(counting)

    @app.get("/a")
    def a(ctx: Context) -> str:
        return "a"

    @app.get("/b/{id}")
    def b(ctx: Context) -> str:
        return "b"

    @app.websocket("$default")
    def ws(ctx: Context) -> str:
        return "ws"

    for _ in range(5):
        assert app(events.http_v1("GET", "/a"))["body"] == "a"
        assert app(events.http_v2("GET", "/b/1"))["body"] == "b"
        assert app(events.websocket_message("hi"))["body"] == "ws"
        assert app(events.http_v1("GET", "/missing"))["statusCode"] == 404
    compositions = len(wrapped_handlers)
    assert calls == 20
    # Each route (and the not-found fallback) was wrapped exactly once.
    assert wrapped_handlers.count(a) == 1
    assert wrapped_handlers.count(b) == 1
    assert wrapped_handlers.count(ws) == 1
    for _ in range(5):
        app(events.http_v1("GET", "/a"))
    assert len(wrapped_handlers) == compositions


def test_middleware_sees_errors_routed_through_fallback() -> None:
    app, _ = make_app()
    seen: list[int] = []

    def status_recorder(handler: Handler) -> Handler:
        def wrapped(ctx: Context) -> Any:
            try:
                return handler(ctx)
            except LiftError as exc:
                seen.append(exc.status_code)
                raise

        return wrapped

    app.use(status_recorder)
    app.get("/x")(lambda ctx: "x")
    assert app(events.http_v1("GET", "/nope"))["statusCode"] == 404
    assert seen == [404]


# -- handler results -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("result", "status", "body", "content_type"),
    [
        (None, 200, "", None),
        ({"a": 1}, 200, '{"a":1}', "application/json"),
        ([1, 2], 200, "[1,2]", "application/json"),
        ("hello", 200, "hello", "text/plain; charset=utf-8"),
        (Response.text("made", 202), 202, "made", "text/plain; charset=utf-8"),
        (Response(None, 204), 204, "", None),
    ],
)
def test_handler_results(result: Any, status: int, body: str, content_type: str | None) -> None:
    app, _ = make_app()
    app.get("/")(lambda ctx: result)
    response = app(events.http_v1("GET", "/"))
    assert response["statusCode"] == status
    assert response["body"] == body
    assert response["isBase64Encoded"] is False
    assert response["headers"].get("Content-Type") == content_type


def test_bytes_result_is_base64() -> None:
    app, _ = make_app()
    app.get("/png")(lambda ctx: b"\x89PNG\r\n\x1a\n")
    response = app(events.http_v1("GET", "/png"))
    assert response["isBase64Encoded"] is True
    assert response["headers"]["Content-Type"] == "application/octet-stream"
    assert base64.b64decode(response["body"]) == b"\x89PNG\r\n\x1a\n"


def test_textual_bytes_are_sent_as_text() -> None:
    app, _ = make_app()
    app.get("/")(lambda ctx: Response("héllo".encode(), 200, {"Content-Type": "text/plain"}))
    response = app(events.http_v2("GET", "/"))
    assert response["body"] == "héllo"
    assert response["isBase64Encoded"] is False


def test_status_json_and_set_header() -> None:
    app, _ = make_app()

    @app.post("/items")
    def create(ctx: Context) -> None:
        ctx.set_header("Location", "/items/1")
        ctx.status(201).json({"id": 1})

    response = app(events.http_v1("POST", "/items", body={"name": "pen"}))
    assert response["statusCode"] == 201
    assert body_of(response) == {"id": 1}
    assert response["headers"]["Location"] == "/items/1"
    assert response["headers"]["Content-Type"] == "application/json"


def test_status_text_and_set_header_on_returned_result() -> None:
    app, _ = make_app()

    @app.get("/t")
    def text(ctx: Context) -> Response:
        ctx.set_header("X-Trace", "abc")
        return ctx.status(418).text("teapot")

    response = app(events.http_v2("GET", "/t"))
    assert response["statusCode"] == 418
    assert response["body"] == "teapot"
    assert response["headers"]["X-Trace"] == "abc"


def test_v1_and_v2_response_shapes_with_cookies() -> None:
    app, _ = make_app()
    app.get("/")(lambda ctx: Response("ok", 200, cookies=["a=1; Secure", "b=2"]))
    v1 = app(events.http_v1("GET", "/"))
    assert set(v1) == {"statusCode", "headers", "body", "isBase64Encoded", "multiValueHeaders"}
    assert v1["multiValueHeaders"] == {"Set-Cookie": ["a=1; Secure", "b=2"]}
    v2 = app(events.http_v2("GET", "/"))
    assert set(v2) == {"statusCode", "headers", "body", "isBase64Encoded", "cookies"}
    assert v2["cookies"] == ["a=1; Secure", "b=2"]


def test_websocket_response_shape() -> None:
    app, _ = make_app()
    app.websocket("$connect", lambda ctx: None)
    app.websocket("$default", lambda ctx: {"echo": ctx.text})
    assert app(events.websocket_connect()) == {"statusCode": 200}
    assert app(events.websocket_message("hi")) == {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": '{"echo":"hi"}',
    }


def test_head_falls_back_to_get() -> None:
    app, _ = make_app()
    app.get("/items")(lambda ctx: {"method": ctx.method})
    seen: list[str] = []
    app.get("/seen")(lambda ctx: seen.append(ctx.method) or {"method": ctx.method})
    response = app(events.http_v1("HEAD", "/items"))
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["body"] == ""  # HEAD answers with the GET headers and no body
    app(events.http_v1("HEAD", "/seen"))
    assert seen == ["HEAD"]


def test_lambda_context_and_request_id() -> None:
    app, _ = make_app()
    app.get("/")(
        lambda ctx: {"id": ctx.request_id, "fn": getattr(ctx.lambda_context, "function_name", None)}
    )
    assert body_of(app(events.http_v1("GET", "/"), FakeLambdaContext())) == {
        "id": REQUEST_ID,
        "fn": "orders",
    }
    event = events.http_v1("GET", "/", request_id="rest-request-1")
    assert body_of(app.handler(event))["id"] == "rest-request-1"


# -- errors --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (bad_request("bad", {"field": "x"}), 400, "BAD_REQUEST"),
        (unauthorized(), 401, "UNAUTHORIZED"),
        (forbidden(), 403, "FORBIDDEN"),
        (not_found("no item"), 404, "NOT_FOUND"),
        (conflict(), 409, "CONFLICT"),
        (validation_error(details=[{"field": "name"}]), 422, "VALIDATION_ERROR"),
        (too_many_requests(retry_after=30), 429, "TOO_MANY_REQUESTS"),
        (internal_error(), 500, "INTERNAL_ERROR"),
        (LiftError(418, "TEAPOT", "I am a teapot"), 418, "TEAPOT"),
    ],
)
def test_lift_errors_map_to_error_body(error: LiftError, status: int, code: str) -> None:
    app, _ = make_app()

    def fail(ctx: Context) -> None:
        raise error

    app.get("/")(fail)
    response = app(events.http_v1("GET", "/"))
    assert response["statusCode"] == status
    assert response["headers"]["Content-Type"] == "application/json"
    body = body_of(response)
    assert body["error"]["code"] == code
    assert body["error"]["message"] == error.message
    if error.details is None:
        assert set(body["error"]) == {"code", "message"}
    else:
        assert body["error"]["details"] == error.details
    if code == "TOO_MANY_REQUESTS":
        assert response["headers"]["Retry-After"] == "30"


def test_unhandled_exception_is_generic_500_and_logged() -> None:
    app, stream = make_app()

    @app.get("/boom")
    def boom(ctx: Context) -> None:
        raise RuntimeError("database password is hunter2")

    response = app(events.http_v1("GET", "/boom"), FakeLambdaContext())
    assert response["statusCode"] == 500
    assert body_of(response) == {
        "error": {"code": "INTERNAL_ERROR", "message": "Internal server error"}
    }
    assert "hunter2" not in response["body"]
    assert "RuntimeError" not in response["body"]
    errors = [line for line in log_lines(stream) if line["level"] == "ERROR"]
    assert len(errors) == 1
    assert errors[0]["request_id"] == REQUEST_ID
    assert errors[0]["exception_type"] == "RuntimeError"
    assert "Traceback" in errors[0]["traceback"]
    assert "hunter2" in errors[0]["traceback"]


def test_unhandled_exception_on_websocket() -> None:
    app, stream = make_app()

    def explode(ctx: Context) -> None:
        raise KeyError("secret-key")

    app.websocket("$default", explode)
    response = app(events.websocket_message("x", request_id="ws-req-1="))
    assert response["statusCode"] == 500
    assert "secret-key" not in response["body"]
    assert "KeyError" not in response["body"]
    logged = log_lines(stream)[-1]
    assert logged["request_id"] == "ws-req-1="
    assert "KeyError" in logged["traceback"]


def test_unsupported_event_raises() -> None:
    app, _ = make_app()
    with pytest.raises(UnsupportedEventError) as info:
        app({"hello": "world"})
    assert isinstance(info.value, LiftError)
    assert info.value.code == "UNSUPPORTED_EVENT"
    with pytest.raises(UnsupportedEventError):
        app(["not", "a", "dict"])


@pytest.mark.parametrize(
    "event",
    [
        {"httpMethod": "GET", "path": "/", "headers": ["wrong"]},
        {"httpMethod": "GET", "path": "/", "body": {"not": "a string"}},
        {"version": "2.0", "rawPath": "/", "requestContext": {"http": {"method": 7}}},
        {"requestContext": {"eventType": "CONNECT", "connectionId": None}},
        {"requestContext": {"eventType": "MESSAGE", "connectionId": "c="}, "body": 12},
    ],
)
def test_malformed_http_and_websocket_events_get_400(event: dict[str, Any]) -> None:
    app, stream = make_app()
    app.get("/")(lambda ctx: "ok")
    response = app(event)
    assert response["statusCode"] == 400
    assert body_of(response)["error"]["code"] == "MALFORMED_EVENT"
    assert log_lines(stream)[-1]["level"] == "WARNING"


@pytest.mark.parametrize(
    "event",
    [
        {"Records": [{"eventSource": "aws:sqs", "messageId": "m", "eventSourceARN": None}]},
        {"Records": [{"eventSource": "aws:sqs"}, "junk"]},
        {"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {"name": "b"}}}]},
        {"source": "aws.s3", "detail-type": "Object Created", "detail": "x"},
        {"source": "aws.events", "detail-type": "Scheduled Event", "resources": []},
        {"source": ["x"], "detail-type": "Thing"},
    ],
)
def test_malformed_batch_events_raise_so_nothing_is_lost(event: dict[str, Any]) -> None:
    app, _ = make_app()
    app.sqs("*")(lambda ctx: None)
    app.s3("*")(lambda ctx: None)
    app.eventbridge("*")(lambda ctx: None)
    app.schedule("*")(lambda ctx: None)
    with pytest.raises(LiftError) as info:
        app(event)
    assert info.value.code == "MALFORMED_EVENT"


# -- event routes --------------------------------------------------------------------
def test_sqs_routed_by_queue_glob_with_all_records() -> None:
    app, _ = make_app()
    got: dict[str, list[Any]] = {}

    @app.sqs("orders-*")
    def orders(ctx: Context) -> None:
        got["orders"] = [json.loads(r["body"]) for r in ctx.request.records]

    @app.sqs("payments")
    def payments(ctx: Context) -> None:
        got["payments"] = [r["body"] for r in ctx.request.records]

    app(events.sqs({"n": 1}, {"n": 2}, {"n": 3}, queue="orders-eu"))
    app(events.sqs("p1", queue="payments"))
    assert got == {"orders": [{"n": 1}, {"n": 2}, {"n": 3}], "payments": ["p1"]}


def test_unmatched_sqs_queue_raises() -> None:
    app, _ = make_app()
    app.sqs("orders")(lambda ctx: None)
    with pytest.raises(LiftError) as info:
        app(events.sqs("x", queue="unknown"))
    assert info.value.code == "ROUTE_NOT_FOUND"


def test_event_handler_failure_is_logged_and_raised() -> None:
    app, stream = make_app()

    @app.sqs("*")
    def fail(ctx: Context) -> None:
        raise RuntimeError("retry me")

    with pytest.raises(RuntimeError, match="retry me"):
        app(events.sqs("x"))
    logged = log_lines(stream)[-1]
    assert logged["message"] == "Event handler failed"
    assert logged["trigger"] == "sqs"


def test_s3_routed_by_bucket_direct_and_via_eventbridge() -> None:
    app, _ = make_app()
    keys: list[str] = []

    @app.s3("media-*")
    def on_media(ctx: Context) -> None:
        keys.extend(r["key"] for r in ctx.request.records)

    app(events.s3("a b.jpg", "c.jpg", bucket="media-prod"))
    app(events.s3_eventbridge("d.jpg", bucket="media-dev"))
    assert keys == ["a b.jpg", "c.jpg", "d.jpg"]
    with pytest.raises(LiftError):
        app(events.s3("x", bucket="logs"))


def test_eventbridge_routed_by_source_or_detail_type() -> None:
    app, _ = make_app()
    seen: list[str] = []
    app.eventbridge("shop.*")(lambda ctx: seen.append("source:" + ctx.request.source))
    app.eventbridge("UserSignedUp")(lambda ctx: seen.append("type:" + ctx.request.detail_type))
    app(events.eventbridge({"id": 1}, source="shop.orders"))
    app(events.eventbridge({"id": 2}, source="auth", detail_type="UserSignedUp"))
    assert seen == ["source:shop.orders", "type:UserSignedUp"]


def test_schedule_routed_by_rule_name() -> None:
    app, _ = make_app()
    ran: list[str] = []
    app.schedule("nightly-*")(lambda ctx: ran.append(ctx.request.source))
    assert app(events.scheduled("nightly-report")) is None
    assert ran == ["nightly-report"]
    with pytest.raises(LiftError):
        app(events.scheduled("hourly"))


def test_event_handler_result_is_returned_as_is() -> None:
    app, _ = make_app()
    app.sqs("*")(lambda ctx: {"batchItemFailures": []})
    assert app(events.sqs("x")) == {"batchItemFailures": []}


def test_metrics_flushed_once_per_invocation() -> None:
    metrics = MemoryMetrics()
    app = App(logger=JSONLogger(stream=io.StringIO()), metrics=metrics)
    app.get("/")(lambda ctx: ctx.metrics.add("hits", 1))
    app(events.http_v1("GET", "/"))
    app(events.http_v2("GET", "/"))
    assert metrics.flushes == 2
    assert metrics.total("hits") == 2


def test_routes_listing() -> None:
    app, _ = make_app()
    app.get("/a")(lambda ctx: None)
    app.websocket("$connect", lambda ctx: None)
    app.sqs("q")(lambda ctx: None)
    kinds = [(r.kind, r.path) for r in app.routes()]
    assert kinds == [("http", "/a"), ("websocket", "$connect"), ("sqs", "q")]
    assert "/a" in app.routes()[0].describe()
