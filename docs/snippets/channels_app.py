# snippet: channels_app.py
from lift import App, Context, forbidden
from lift.websocket import ChannelOptions, WebSocketOptions


def may_join(ctx: Context, channel: str) -> bool:
    """Anyone may join a room; "staff:" channels are for staff only."""
    record = ctx.websocket.connection
    return not channel.startswith("staff:") or bool(record and "staff" in record.claims["roles"])


app = App(
    websocket=WebSocketOptions(
        auto_connections=True,
        channels=ChannelOptions(authorize=may_join, presence_events=True, history=100),
    )
)


@app.websocket("$connect")
def connect(ctx: Context) -> None:
    # Use websocket_auth (or an authorizer) in a real app; a query keeps this short.
    user = ctx.query("user")
    if not user:
        raise forbidden("Connect with ?user=...")
    roles = ["staff"] if user == "sam" else []
    ctx.set_identity(user_id=user, tenant_id=ctx.query("org"), claims={"roles": roles})


@app.websocket("join")
def join(ctx: Context) -> None:
    body = ctx.json()
    ws = ctx.websocket
    ws.subscribe(body["room"], metadata={"status": "here"})  # 403 when may_join says no
    # Subscribed first, then read: a message published meanwhile is either delivered
    # live or found in the history, so a client resuming after `after` misses nothing.
    missed = ws.history(body["room"], after=body.get("after", 0))
    ws.send(
        {
            "members": [m.user_id for m in ws.members(body["room"])],
            "missed": [{"seq": m.seq, "data": m.data} for m in missed],
        }
    )


@app.websocket("say")
def say(ctx: Context) -> dict[str, int | None]:
    body = ctx.json()
    result = ctx.websocket.publish(body["room"], {"text": body["text"]}, exclude_self=True)
    return {"seq": result.seq, "delivered": len(result.delivered)}


@app.websocket("leave")
def leave(ctx: Context) -> None:
    ctx.websocket.unsubscribe(ctx.json()["room"])


@app.schedule("daily-digest")
def digest(ctx: Context) -> None:
    # A worker has no WebSocket event: it publishes through app.connections().
    app.connections().publish("news", {"text": "Today's digest"}, tenant_id="acme")
