"""request_logging: one structured line per event, never a header, query, body or token."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from lift import App, Context, LiftError
from lift.middleware import request_logging
from lift.observability import JSONLogger, MemoryMetrics
from lift.testing import events
from lift.types import Handler

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJlLXZhbHVl"
SECRETS = (JWT, "query-token-value", "proto-token-value", "s3cr3t-body")


class Logs:
    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.logger = JSONLogger(stream=self.stream)

    @property
    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def requests(self) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["message"] == "Request completed"]


def fake_auth(handler: Handler) -> Handler:
    """Stands in for an auth middleware: sets the identity before the handler runs."""

    def authed(ctx: Context) -> Any:
        ctx.set_identity(user_id="user-1", tenant_id="tenant-9", claims={"sub": "user-1"})
        return handler(ctx)

    return authed


@pytest.fixture
def logs() -> Logs:
    return Logs()


@pytest.fixture
def app(logs: Logs) -> App:
    app = App(logger=logs.logger, metrics=MemoryMetrics())
    app.use(request_logging())

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        return None

    @app.websocket("$disconnect")
    def disconnect(ctx: Context) -> None:
        return None

    @app.websocket("chat")
    def chat(ctx: Context) -> Any:
        return {"received": len(ctx.body)}

    @app.websocket("crash")
    def crash(ctx: Context) -> None:
        raise RuntimeError("database password is hunter2")

    @app.get("/items/{id}")
    def item(ctx: Context) -> Any:
        if ctx.param("id") == "missing":
            raise LiftError(404, "ITEM_NOT_FOUND", "No such item")
        return {"id": ctx.param("id")}

    return app


def assert_no_secrets(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_connect_logs_one_line_without_credentials(app: App, logs: Logs) -> None:
    event = events.websocket_connect(
        headers={"Authorization": f"Bearer {JWT}"},
        query={"token": "query-token-value", "Authorization": JWT},
        subprotocols=["chat.v1", "proto-token-value"],
    )

    assert app(event)["statusCode"] == 200

    [line] = logs.lines
    assert line["level"] == "INFO"
    assert line["message"] == "Request completed"
    assert line["trigger"] == "websocket"
    assert line["route_key"] == "$connect"
    assert line["event_type"] == "CONNECT"
    assert line["connection_id"] == event["requestContext"]["connectionId"]
    assert line["status"] == 200
    assert isinstance(line["latency_ms"], float) and line["latency_ms"] >= 0
    assert line["request_id"] == event["requestContext"]["requestId"]
    assert "user_id" not in line and "tenant_id" not in line
    for key in ("headers", "authorization", "token", "query", "body", "multiValueHeaders"):
        assert key not in line
    assert_no_secrets(logs.stream.getvalue())


def test_identity_is_logged_when_known(app: App, logs: Logs) -> None:
    app.use(fake_auth)
    app(events.websocket_message({"action": "chat", "text": "s3cr3t-body"}))

    [line] = logs.requests()
    assert line["user_id"] == "user-1"
    assert line["tenant_id"] == "tenant-9"
    assert line["event_type"] == "MESSAGE"
    assert line["route_key"] == "chat"
    assert_no_secrets(logs.stream.getvalue())


def test_identity_set_outside_the_logger_is_logged_too(logs: Logs) -> None:
    app = App(logger=logs.logger, metrics=MemoryMetrics())
    app.use(fake_auth).use(request_logging())
    app.websocket("$disconnect", lambda ctx: None)

    app(events.websocket_disconnect(reason="Client closed"))

    [line] = logs.requests()
    assert (line["user_id"], line["tenant_id"]) == ("user-1", "tenant-9")
    assert line["event_type"] == "DISCONNECT"


def test_failure_logs_status_and_error_type_but_not_its_text(app: App, logs: Logs) -> None:
    result = app(events.websocket_message({"action": "crash"}))

    assert result["statusCode"] == 500
    [line] = logs.requests()
    assert line["level"] == "INFO"
    assert line["status"] == 500
    assert line["error"] == "RuntimeError"
    assert "hunter2" not in json.dumps(line)
    # The traceback is logged once, by the app, at ERROR.
    assert [entry["level"] for entry in logs.lines].count("ERROR") == 1


def test_http_logs_method_path_status_and_no_query(app: App, logs: Logs) -> None:
    event = events.http_v1(
        "GET",
        "/items/42",
        path_params={"id": "42"},
        headers={"Authorization": f"Bearer {JWT}", "Cookie": "session=s3cr3t-body"},
        query={"token": "query-token-value"},
    )

    assert app(event)["statusCode"] == 200

    [line] = logs.lines
    assert line["trigger"] == "http"
    assert line["method"] == "GET"
    assert line["path"] == "/items/42"
    assert line["status"] == 200
    assert line["latency_ms"] >= 0
    assert "route_key" not in line and "connection_id" not in line
    assert_no_secrets(logs.stream.getvalue())


def test_http_error_status_and_code(app: App, logs: Logs) -> None:
    assert app(events.http_v2("GET", "/items/missing"))["statusCode"] == 404

    [line] = logs.lines
    assert (line["status"], line["error"]) == (404, "ITEM_NOT_FOUND")


def test_unmatched_route_is_logged_once(app: App, logs: Logs) -> None:
    assert app(events.http_v2("GET", "/nowhere"))["statusCode"] == 404
    [line] = logs.lines
    assert line["status"] == 404
    assert line["path"] == "/nowhere"


def test_explicit_logger_gets_the_line_with_the_request_id(logs: Logs) -> None:
    own = Logs()
    app = App(logger=logs.logger, metrics=MemoryMetrics())
    app.use(request_logging(own.logger))
    app.websocket("$default", lambda ctx: None)
    event = events.websocket_message("hello")

    app(event)

    assert logs.lines == []
    [line] = own.lines
    assert line["request_id"] == event["requestContext"]["requestId"]
    assert line["route_key"] == "$default"


def test_sqs_batch_is_logged_and_failure_reraised(logs: Logs) -> None:
    app = App(logger=logs.logger, metrics=MemoryMetrics())
    app.use(request_logging())

    @app.sqs("orders")
    def orders(ctx: Context) -> None:
        raise ValueError("poison message")

    with pytest.raises(ValueError, match="poison"):
        app(events.sqs({"id": 1}, {"id": 2}, queue="orders"))

    [line] = logs.requests()
    assert line["trigger"] == "sqs"
    assert line["source"] == "orders"
    assert line["records"] == 2
    assert line["error"] == "ValueError"
    assert "status" not in line


def test_level_threshold_is_respected(logs: Logs) -> None:
    quiet = JSONLogger(level="WARNING", stream=logs.stream)
    app = App(logger=quiet, metrics=MemoryMetrics())
    app.use(request_logging())
    app.websocket("$default", lambda ctx: None)

    app(events.websocket_message("hello"))

    assert logs.lines == []
