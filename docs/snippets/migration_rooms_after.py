# snippet: migration_rooms_after.py
from lift import App, Context
from lift.websocket import ChannelOptions, WebSocketOptions

app = App(
    websocket=WebSocketOptions(auto_connections=True, channels=ChannelOptions(presence_events=True))
)


@app.websocket("$connect")
def connect(ctx: Context) -> None:
    ctx.set_identity(user_id=ctx.query("user"), tenant_id=ctx.query("org"))
    ctx.websocket.subscribe(ctx.query("room"))  # the room is a channel of the tenant


@app.websocket("say")
def say(ctx: Context) -> None:
    me = ctx.websocket.connection
    assert me is not None
    # One query of the room's own partition; clients read the message from "data".
    for room in ctx.websocket.subscriptions():
        ctx.websocket.publish(room, {"from": me.user_id, "text": ctx.json()["text"]})
