"""Standard JSON in and out; dataclasses and datetimes as JSON; LiftError checked early."""

from __future__ import annotations

import enum
import io
import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from lift import App, Context, LiftError, Response
from lift.observability import JSONLogger, MemoryMetrics
from lift.testing import WebSocketTestClient, events


def make_app() -> tuple[App, io.StringIO]:
    logs = io.StringIO()
    return App(logger=JSONLogger(stream=logs), metrics=MemoryMetrics()), logs


# -- in: ctx.json() -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        '{"v": NaN}',
        '{"v": Infinity}',
        '{"v": -Infinity}',
        "[1, 2, NaN]",
        '{"deep": {"deeper": [Infinity]}}',
        '{"v": 1e400}',
        '{"v": -1e999}',
        "NaN",
    ],
)
def test_ctx_json_refuses_non_standard_numbers(body: str) -> None:
    app, _ = make_app()

    @app.post("/items")
    def create(ctx: Context) -> Any:
        return {"parsed": ctx.json()}

    result = app(events.http_v1("POST", "/items", body=body))
    assert result["statusCode"] == 400
    assert json.loads(result["body"])["error"]["code"] == "INVALID_JSON"


def test_ctx_json_still_reads_ordinary_numbers() -> None:
    app, _ = make_app()

    @app.websocket("$default")
    def echo(ctx: Context) -> Any:
        return ctx.json()

    body = '{"small": 1e-300, "big": 1.7e308, "int": 12345678901234567890, "neg": -0.5}'
    result = app(events.websocket_message(body))
    assert json.loads(result["body"]) == json.loads(body)


# -- out: never NaN or Infinity ----------------------------------------------------------------
NOT_JSON = [float("nan"), float("inf"), -math.inf]


@pytest.mark.parametrize("value", NOT_JSON)
@pytest.mark.parametrize(
    "how",
    ["dict", "bare", "writer", "response_json", "error_details", "websocket_dict"],
)
def test_responses_never_carry_nan_or_infinity(value: float, how: str) -> None:
    app, logs = make_app()

    @app.get("/value")
    def get_value(ctx: Context) -> Any:
        if how == "dict":
            return {"v": value}
        if how == "bare":
            return value
        if how == "writer":
            return ctx.status(201).json({"v": [value]})
        if how == "response_json":
            return Response.json({"v": value})
        raise LiftError(409, "CONFLICT", "Taken", {"v": value})

    @app.websocket("$default")
    def on_message(ctx: Context) -> Any:
        return {"nested": {"v": value}}

    if how == "websocket_dict":
        result = app(events.websocket_message("hi"))
    else:
        result = app(events.http_v1("GET", "/value"))
    assert result["statusCode"] == 500
    assert json.loads(result["body"]) == {
        "error": {"code": "INTERNAL_ERROR", "message": "Internal server error"}
    }
    assert "NaN" not in result["body"] and "Infinity" not in result["body"]
    logged = [json.loads(line) for line in logs.getvalue().splitlines()]
    assert any(line.get("exception_type") == "ValueError" for line in logged)


def test_a_websocket_send_of_nan_sends_nothing() -> None:
    app, _ = make_app()

    @app.websocket("$default")
    def on_message(ctx: Context) -> None:
        ctx.websocket.send({"v": float("nan")})

    with WebSocketTestClient(app) as client, client.connect() as ws:
        ws.send_text("hi")
        reply = ws.receive_json()
        assert reply == {"error": {"code": "INTERNAL_ERROR", "message": "Internal server error"}}
        assert ws.pending == 0


# -- out: dataclasses, models, datetimes ---------------------------------------------------------
class Colour(enum.Enum):
    RED = "red"


@dataclass
class Address:
    city: str
    since: date


@dataclass
class User:
    id: uuid.UUID
    name: str
    created: datetime
    addresses: list[Address] = field(default_factory=list)
    balance: Decimal = Decimal("0.10")
    colour: Colour = Colour.RED
    tags: frozenset[str] = frozenset()
    wakes: time = time(7, 30)


class Item(BaseModel):
    name: str
    when: datetime


def test_a_returned_dataclass_is_sent_as_json() -> None:
    app, _ = make_app()
    uid = uuid.UUID("12345678-1234-5678-1234-567812345678")
    user = User(
        uid,
        "Ada",
        datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=timezone.utc),
        [Address("London", date(2020, 1, 31))],
        tags=frozenset({"admin"}),
    )

    @app.get("/user")
    def get_user(ctx: Context) -> User:
        return user

    @app.get("/users")
    def list_users(ctx: Context) -> dict[str, Any]:
        return {"users": [user], "count": 1}

    @app.websocket("$default")
    def on_message(ctx: Context) -> User:
        return user

    expected = {
        "id": "12345678-1234-5678-1234-567812345678",
        "name": "Ada",
        "created": "2024-05-01T12:00:00.123000+00:00",
        "addresses": [{"city": "London", "since": "2020-01-31"}],
        "balance": "0.10",
        "colour": "red",
        "tags": ["admin"],
        "wakes": "07:30:00",
    }
    single = app(events.http_v1("GET", "/user"))
    assert single["statusCode"] == 200
    assert single["headers"]["Content-Type"] == "application/json"
    assert json.loads(single["body"]) == expected
    assert json.loads(app(events.http_v2("GET", "/users"))["body"]) == {
        "users": [expected],
        "count": 1,
    }
    assert json.loads(app(events.websocket_message("hi"))["body"]) == expected


def test_a_returned_pydantic_model_is_sent_as_json() -> None:
    app, _ = make_app()

    @app.get("/item")
    def get_item(ctx: Context) -> Item:
        return Item(name="pen", when=datetime(2024, 5, 1, tzinfo=timezone.utc))

    result = app(events.http_v1("GET", "/item"))
    assert json.loads(result["body"]) == {"name": "pen", "when": "2024-05-01T00:00:00Z"}


def test_send_json_of_a_dataclass() -> None:
    app, _ = make_app()

    @app.websocket("$default")
    def on_message(ctx: Context) -> None:
        ctx.websocket.send_json(Address("Paris", date(2021, 2, 3)))

    with WebSocketTestClient(app) as client, client.connect() as ws:
        ws.send_text("hi")
        assert ws.receive_json() == {"city": "Paris", "since": "2021-02-03"}


# -- LiftError ---------------------------------------------------------------------------------
def test_lift_error_accepts_every_http_status() -> None:
    for status in (100, 302, 402, 418, 599):
        assert LiftError(status, "CODE", "message").status_code == status


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("402", "PAYMENT_REQUIRED", "Pay"), TypeError),
        (("PAYMENT_REQUIRED", 402, "Pay"), TypeError),
        (("PAYMENT_REQUIRED", "Pay", 402), TypeError),
        ((402, "Pay up", 3), TypeError),
        ((True, "CODE", "message"), TypeError),
        ((402.0, "CODE", "message"), TypeError),
        ((None, "CODE", "message"), TypeError),
        ((99, "CODE", "message"), ValueError),
        ((600, "CODE", "message"), ValueError),
        ((-404, "CODE", "message"), ValueError),
        ((402, "", "message"), ValueError),
    ],
)
def test_lift_error_refuses_bad_arguments_at_construction(
    args: tuple[Any, ...], error: type[Exception]
) -> None:
    with pytest.raises(error):
        LiftError(*args)


def test_lift_error_refuses_non_string_headers() -> None:
    with pytest.raises(TypeError):
        LiftError(429, "SLOW_DOWN", "Later", headers={"Retry-After": 5})  # type: ignore[dict-item]
