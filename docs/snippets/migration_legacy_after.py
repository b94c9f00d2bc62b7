# snippet: migration_legacy_after.py
from typing import Any

from lift import App, Context, unauthorized
from lift.websocket import WebSocketOptions

app = App(websocket=WebSocketOptions(auto_connections=True))  # save/delete built in


@app.websocket("$connect")
def connect(ctx: Context) -> None:
    user = ctx.query("user")
    if not user:
        raise unauthorized()
    ctx.set_identity(user_id=user)


@app.websocket("whoami")
def whoami(ctx: Context) -> dict[str, Any]:
    record = ctx.websocket.connection
    return {"user": record.user_id if record else None}


@app.websocket("ping")
def ping(ctx: Context) -> str:
    return "pong"


@app.websocket("$default")
def unknown(ctx: Context) -> dict[str, str]:
    return {"error": "unknown action"}
