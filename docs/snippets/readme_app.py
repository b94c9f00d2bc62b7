from lift import App, Context
from lift.websocket import ChannelOptions, WebSocketOptions

app = App(websocket=WebSocketOptions(auto_connections=True, channels=ChannelOptions()))


@app.websocket("$connect")
def connect(ctx: Context) -> None:
    ctx.set_identity(user_id=ctx.query("user"))
    ctx.websocket.subscribe(ctx.query("room") or "lobby")  # kept in the store, not memory


@app.websocket("say")
def say(ctx: Context) -> dict[str, int]:
    room = ctx.websocket.subscriptions()[0]
    result = ctx.websocket.publish(room, {"text": ctx.json()["text"]})
    return {"delivered": len(result.delivered)}


handler = app  # the Lambda entry point
