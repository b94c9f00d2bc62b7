"""Typed routes: messages and bodies validated into a model before the handler runs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel, Field

from lift import App, Context
from lift.testing import WebSocketTestClient, events
from lift.websocket import WebSocketOptions


class ChatMessage(BaseModel):
    action: str
    room: str = Field(min_length=1, max_length=64)
    text: str = Field(max_length=500)
    priority: int = 0


class ChatReply(BaseModel):
    room: str
    text: str


@dataclass
class Move:
    x: int
    y: int
    label: str = ""


def chat_app(*, route_responses: bool = True) -> App:
    app = App(websocket=WebSocketOptions(route_responses=route_responses))

    @app.websocket("chat", model=ChatMessage, reply=ChatReply)
    def chat(ctx: Context, message: ChatMessage) -> None:
        assert ctx.message is message
        ctx.websocket.send({"room": message.room, "text": message.text.upper()})

    @app.websocket("move", model=Move)
    def move(ctx: Context) -> dict[str, int]:
        move: Move = ctx.message
        return {"sum": move.x + move.y}

    @app.websocket("$default")
    def default(ctx: Context) -> None:
        ctx.websocket.send({"untyped": ctx.text})

    return app


def test_a_valid_message_reaches_the_handler_as_the_model() -> None:
    app = chat_app()
    with WebSocketTestClient(app) as client, client.connect() as ws:
        ws.send_json({"action": "chat", "room": "lobby", "text": "hi"})
        assert ws.receive_json() == {"room": "lobby", "text": "HI"}


def test_field_errors_come_back_field_by_field_as_a_frame_and_the_response() -> None:
    app = chat_app(route_responses=False)
    # Deployed without route responses, the frame is all the client gets.
    with WebSocketTestClient(app) as client, client.connect() as ws:
        result = ws.send_json({"action": "chat", "room": "", "priority": "high"})
        assert result["statusCode"] == 422
        body = json.loads(result["body"])
        frame = ws.receive_json()
        assert frame == body
        assert ws.pending == 0
    error = body["error"]
    assert error["code"] == "VALIDATION_ERROR"
    fields = {detail["field"]: detail["type"] for detail in error["details"]}
    assert fields == {"room": "string_too_short", "text": "missing", "priority": "int_parsing"}
    assert set(body) == {"error"}


def test_dataclass_models_are_checked_field_by_field() -> None:
    app = chat_app()
    with WebSocketTestClient(app) as client, client.connect() as ws:
        result = ws.send_json({"action": "move", "x": 1, "y": 2})
        assert json.loads(result["body"]) == {"sum": 3}
        ws.receive_json()  # the route response of the first message
        result = ws.send_json({"action": "move", "x": "1", "label": 3})
        assert result["statusCode"] == 422
        frame = ws.receive_json()  # the route response carries it: no second copy
        assert frame == json.loads(result["body"]) and ws.pending == 0
        details = frame["error"]["details"]
    assert [(d["field"], d["type"]) for d in details] == [
        ("x", "type_error"),
        ("y", "missing"),
        ("label", "type_error"),
    ]


def test_a_body_that_is_not_json_is_refused_with_a_frame() -> None:
    app = chat_app()
    with WebSocketTestClient(app) as client, client.connect() as ws:
        result = ws.send_text('{"action": "chat", "room": ')
    # Not JSON: API Gateway selects $default (the selection expression cannot be read).
    assert result["statusCode"] == 200
    event = events.websocket_message(body="[1, 2", route_key="chat")
    response = app(event)
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["code"] == "INVALID_JSON"


def test_async_handlers_get_the_message_too() -> None:
    app = App()

    @app.websocket("chat", model=ChatMessage)
    async def chat(ctx: Context, message: ChatMessage) -> dict[str, str]:
        return {"text": message.text}

    event = events.websocket_message(
        body=json.dumps({"action": "chat", "room": "r", "text": "t"}), route_key="chat"
    )
    assert json.loads(app(event)["body"]) == {"text": "t"}


def test_http_routes_validate_the_body() -> None:
    app = App()

    @app.post("/moves", model=Move)
    def create(ctx: Context, move: Move) -> dict[str, Any]:
        return {"x": move.x, "y": move.y}

    ok = app(events.http_v2("POST", "/moves", body=json.dumps({"x": 1, "y": 2})))
    assert json.loads(ok["body"]) == {"x": 1, "y": 2}
    bad = app(events.http_v2("POST", "/moves", body=json.dumps({"x": True})))
    assert bad["statusCode"] == 422
    details = json.loads(bad["body"])["error"]["details"]
    assert [d["field"] for d in details] == ["x", "y"]


def test_models_are_checked_at_registration() -> None:
    app = App()
    with pytest.raises(TypeError):
        app.websocket("chat", model=dict)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="connect"):
        app.websocket("$connect", model=Move)
    with pytest.raises(TypeError):
        app.post("/x", reply=int)


def test_routes_without_a_model_are_not_wrapped() -> None:
    app = chat_app()
    app(events.websocket_message(body="{}", route_key="$default"))
    route = app.websocket_routes["$default"]
    assert route.compiled is route.handler
