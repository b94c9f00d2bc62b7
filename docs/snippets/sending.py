# snippet: sending.py
from typing import Any

from lift import App, Context
from lift.websocket import ConnectionGoneError, PayloadTooLargeError, WebSocketOptions

app = App(websocket=WebSocketOptions(auto_connections=True))


@app.websocket("$connect")
def connect(ctx: Context) -> None:
    ctx.set_identity(user_id=ctx.query("user"))


@app.websocket("echo")
def echo(ctx: Context) -> None:
    ctx.websocket.send(ctx.text)  # str: text; dict/list: JSON; bytes: as they are


@app.websocket("direct")
def direct(ctx: Context) -> None:
    message = ctx.json()
    try:
        ctx.websocket.post_to(message["to"], {"text": message["text"]})
    except ConnectionGoneError:
        # The connection is closed; Lift already removed it from the store.
        ctx.websocket.send_json({"error": "gone", "to": message["to"]})


@app.websocket("announce")
def announce(ctx: Context) -> dict[str, Any]:
    message = ctx.json()
    result = ctx.websocket.broadcast(message["to"], {"text": message["text"]})
    return {"delivered": result.delivered, "gone": result.gone, "failed": len(result.failed)}


@app.websocket("notify")
def notify(ctx: Context) -> dict[str, int]:
    message = ctx.json()
    result = ctx.websocket.broadcast_to_user(message["user"], {"text": message["text"]})
    return {"delivered": len(result.delivered)}


@app.websocket("big")
def big(ctx: Context) -> dict[str, Any]:
    try:
        ctx.websocket.send("x" * (128 * 1024 + 1))
    except PayloadTooLargeError as error:  # raised before any call is made
        return {"error": error.code, "size": error.size, "limit": error.limit}
    return {}
