from lift import App, Context
from lift.websocket import WebSocketOptions

app = App(websocket=WebSocketOptions(auto_connections=True))


@app.websocket("$connect")
def connect(ctx: Context) -> None:
    ctx.set_identity(user_id=ctx.query("user"), tenant_id=ctx.query("room"))


@app.websocket("say")
def say(ctx: Context) -> dict[str, int]:
    room = ctx.websocket.connection.tenant_id
    result = ctx.websocket.broadcast_to_tenant(room, {"text": ctx.json()["text"]})
    return {"delivered": len(result.delivered)}


handler = app  # the Lambda entry point
