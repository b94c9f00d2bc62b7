# snippet: migration_rooms_before.py
from lift import App, Context
from lift.websocket import WebSocketOptions

app = App(websocket=WebSocketOptions(auto_connections=True))


@app.websocket("$connect")
def connect(ctx: Context) -> None:
    ctx.set_identity(user_id=ctx.query("user"), tenant_id=ctx.query("org"))
    ctx.websocket.metadata["room"] = ctx.query("room")  # the room, saved on the record


@app.websocket("say")
def say(ctx: Context) -> None:
    me = ctx.websocket.connection
    assert me is not None and me.tenant_id is not None
    # Every connection of the tenant is read, then filtered: the cost grows with the
    # tenant, not the room, and nothing tells the room who left.
    room = [
        c.connection_id
        for c in ctx.websocket.store.list_by_tenant(me.tenant_id)
        if c.metadata.get("room") == me.metadata.get("room")
    ]
    ctx.websocket.broadcast(room, {"from": me.user_id, "text": ctx.json()["text"]})
