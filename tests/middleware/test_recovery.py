"""recovery: exceptions become the standard error Response inside the middleware chain."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from lift import App, Context, LiftError, Response, too_many_requests
from lift.middleware import recovery
from lift.observability import JSONLogger, MemoryMetrics
from lift.testing import events
from lift.types import Handler


class Observer:
    """An outer middleware that records what the inner chain gave back."""

    def __init__(self) -> None:
        self.seen: list[Any] = []

    def __call__(self, handler: Handler) -> Handler:
        def observed(ctx: Context) -> Any:
            try:
                result = handler(ctx)
            except Exception as exc:
                self.seen.append(exc)
                raise
            self.seen.append(result)
            return result

        return observed


@pytest.fixture
def log() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def observer() -> Observer:
    return Observer()


def build(log: io.StringIO, observer: Observer, *, with_recovery: bool = True) -> App:
    app = App(logger=JSONLogger(stream=log), metrics=MemoryMetrics())
    app.use(observer)
    if with_recovery:
        app.use(recovery())

    @app.post("/orders")
    def create(ctx: Context) -> Any:
        kind = ctx.query("fail")
        if kind == "lift":
            raise LiftError(409, "DUPLICATE_ORDER", "Order already exists", {"id": "o-1"})
        if kind == "throttle":
            ctx.set_header("X-Request-Cost", "3")
            raise too_many_requests(retry_after=7)
        if kind == "bug":
            raise ZeroDivisionError("secret internal state 0xdeadbeef")
        return {"created": True}

    @app.websocket("boom")
    def boom(ctx: Context) -> None:
        raise AttributeError("'NoneType' object has no attribute 'send' (conn=abc)")

    @app.sqs("jobs")
    def job(ctx: Context) -> None:
        raise ConnectionError("downstream unavailable")

    return app


def test_lift_error_becomes_its_response_for_outer_middleware(
    log: io.StringIO, observer: Observer
) -> None:
    app = build(log, observer)

    result = app(events.http_v1("POST", "/orders", query={"fail": "lift"}, body={}))

    [seen] = observer.seen
    assert isinstance(seen, Response)
    assert seen.status_code == 409
    body = {
        "error": {
            "code": "DUPLICATE_ORDER",
            "message": "Order already exists",
            "details": {"id": "o-1"},
        }
    }
    assert json.loads(seen.body or "") == body
    assert result["statusCode"] == 409
    assert json.loads(result["body"]) == body
    assert log.getvalue() == "", "an expected error is not logged as a failure"


def test_error_headers_and_context_headers_are_kept(log: io.StringIO, observer: Observer) -> None:
    app = build(log, observer)

    result = app(events.http_v2("POST", "/orders", query={"fail": "throttle"}, body={}))

    assert result["statusCode"] == 429
    assert result["headers"]["Retry-After"] == "7"
    assert result["headers"]["X-Request-Cost"] == "3"
    assert json.loads(result["body"])["error"]["code"] == "TOO_MANY_REQUESTS"


def test_unexpected_exception_becomes_generic_500_and_traceback_is_logged(
    log: io.StringIO, observer: Observer
) -> None:
    app = build(log, observer)

    result = app(events.http_v1("POST", "/orders", query={"fail": "bug"}, body={}))

    [seen] = observer.seen
    assert isinstance(seen, Response) and seen.status_code == 500
    assert result["statusCode"] == 500
    assert json.loads(result["body"]) == {
        "error": {"code": "INTERNAL_ERROR", "message": "Internal server error"}
    }
    assert "deadbeef" not in result["body"]
    assert "ZeroDivisionError" not in result["body"]
    [entry] = [json.loads(line) for line in log.getvalue().splitlines()]
    assert entry["level"] == "ERROR"
    assert entry["exception_type"] == "ZeroDivisionError"
    assert "Traceback (most recent call last)" in entry["traceback"]
    assert "ZeroDivisionError" in entry["traceback"]


def test_websocket_exception_becomes_a_websocket_response(
    log: io.StringIO, observer: Observer
) -> None:
    app = build(log, observer)

    result = app(events.websocket_message({"action": "boom"}))

    assert isinstance(observer.seen[0], Response)
    assert result["statusCode"] == 500
    assert json.loads(result["body"])["error"]["code"] == "INTERNAL_ERROR"
    assert "NoneType" not in result["body"]
    assert "multiValueHeaders" not in result, "WebSocket shape, not REST"


def test_success_passes_through_as_a_response(log: io.StringIO, observer: Observer) -> None:
    app = build(log, observer)

    result = app(events.http_v2("POST", "/orders", body={"sku": "pen"}))

    [seen] = observer.seen
    assert isinstance(seen, Response) and seen.status_code == 200
    assert json.loads(result["body"]) == {"created": True}


def test_without_recovery_outer_middleware_sees_the_exception(
    log: io.StringIO, observer: Observer
) -> None:
    app = build(log, observer, with_recovery=False)

    result = app(events.http_v1("POST", "/orders", query={"fail": "bug"}, body={}))

    [seen] = observer.seen
    assert isinstance(seen, ZeroDivisionError)
    assert result["statusCode"] == 500


def test_event_source_failures_are_not_swallowed(log: io.StringIO, observer: Observer) -> None:
    app = build(log, observer)

    with pytest.raises(ConnectionError, match="downstream"):
        app(events.sqs("job-1", queue="jobs"))

    [seen] = observer.seen
    assert isinstance(seen, ConnectionError), "Lambda must see the failure to retry the batch"
