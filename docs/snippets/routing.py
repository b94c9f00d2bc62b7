# snippet: routing.py
import json
from typing import Any

from lift import App, Context
from lift.testing import events
from lift.websocket import WebSocketOptions


def unhandled(ctx: Context) -> dict[str, str]:
    return {"no handler for": ctx.websocket.route_key}


app = App(websocket=WebSocketOptions(default_handler=unhandled))


@app.websocket("chat")
def chat(ctx: Context) -> dict[str, Any]:
    return {"said": ctx.json()["text"]}


def ping(ctx: Context) -> str:
    return "pong"


app.websocket("ping", ping)  # without the decorator; returns the app, so calls chain


def reply(event: dict[str, Any]) -> Any:
    return json.loads(app(event)["body"])


# API Gateway evaluates the route selection expression ($request.body.action) and puts
# the route key on the event; Lift dispatches on it.
assert reply(events.websocket_message({"action": "chat", "text": "hi"})) == {"said": "hi"}
assert app(events.websocket_message({"action": "ping"}))["body"] == "pong"
# A route key with no handler of its own goes to default_handler (then to $default).
assert reply(events.websocket_message({"action": "dance"})) == {"no handler for": "dance"}
# $connect and $disconnect without a handler are accepted (middleware still runs).
assert app(events.websocket_connect())["statusCode"] == 200
assert app(events.websocket_disconnect())["statusCode"] == 200

# With neither a default_handler nor $default, an unknown route key is a 404.
bare = App()
bare.websocket("chat", chat)
response = bare(events.websocket_message({"action": "dance"}))
assert response["statusCode"] == 404
assert json.loads(response["body"])["error"]["code"] == "ROUTE_NOT_FOUND"
