# snippet: typed_routes.py
import json
from dataclasses import dataclass

from pydantic import BaseModel, Field

from lift import App, Context
from lift.testing import WebSocketTestClient, events


class ChatMessage(BaseModel):
    action: str
    room: str = Field(min_length=1, max_length=64)
    text: str = Field(max_length=500)


class ChatReply(BaseModel):
    room: str
    text: str


@dataclass
class NewItem:
    name: str
    quantity: int = 1


app = App()


@app.websocket("chat", model=ChatMessage, reply=ChatReply)
def chat(ctx: Context, message: ChatMessage) -> None:
    """Post a message to a room."""
    ctx.websocket.send({"room": message.room, "text": message.text})


@app.post("/items", model=NewItem)
def create_item(ctx: Context) -> dict[str, object]:
    item: NewItem = ctx.message  # also passed as a second parameter, when declared
    return {"name": item.name, "quantity": item.quantity}


with WebSocketTestClient(app) as client, client.connect() as ws:
    ws.send_json({"action": "chat", "room": "lobby", "text": "hello"})
    assert ws.receive_json() == {"room": "lobby", "text": "hello"}

    answer = ws.send_json({"action": "chat", "room": "", "text": 42})
    assert answer["statusCode"] == 422
    frame = ws.receive_json()  # the error, once: the route response carries it
    assert frame == json.loads(answer["body"]) and ws.pending == 0
    assert frame["error"]["code"] == "VALIDATION_ERROR"
    assert [(d["field"], d["type"]) for d in frame["error"]["details"]] == [
        ("room", "string_too_short"),
        ("text", "string_type"),
    ]

created = app(events.http_v2("POST", "/items", body='{"name": "pen", "quantity": 3}'))
assert json.loads(created["body"]) == {"name": "pen", "quantity": 3}
refused = app(events.http_v2("POST", "/items", body='{"quantity": "3"}'))
assert refused["statusCode"] == 422
assert json.loads(refused["body"])["error"]["details"] == [
    {"field": "name", "message": "Field required", "type": "missing"},
    {"field": "quantity", "message": "Expected integer", "type": "type_error"},
]
