# snippet: migration_legacy_before.py
from typing import Any

from lift import App, Context, unauthorized
from lift.websocket import Connection, MemoryConnectionStore

store = MemoryConnectionStore()
app = App()


def on_connect(ctx: Context) -> None:
    ws = ctx.as_websocket()
    user = ctx.query("user")
    if not user:
        raise unauthorized()
    store.save(Connection(ws.connection_id, user_id=user))


def on_disconnect(ctx: Context) -> None:
    store.delete(ctx.as_websocket().connection_id)


def on_message(ctx: Context) -> Any:
    body = ctx.json()
    if body.get("action") == "whoami":
        record = store.get(ctx.as_websocket().connection_id)
        return {"user": record.user_id if record else None}
    if body.get("action") == "ping":
        return "pong"
    return {"error": "unknown action"}


app.handle("CONNECT", "/connect", on_connect)
app.handle("DISCONNECT", "/disconnect", on_disconnect)
app.handle("MESSAGE", "/message", on_message)
