# snippet: disconnecting.py
from typing import Any

from lift import App, Context
from lift.websocket import ConnectionGoneError

app = App()


@app.websocket("kick")
def kick(ctx: Context) -> None:
    ctx.websocket.disconnect(ctx.json()["connection_id"])  # a gone one is fine too


@app.websocket("leave")
def leave(ctx: Context) -> None:
    ctx.websocket.send_json({"bye": True})
    ctx.websocket.disconnect()  # this connection


@app.websocket("info")
def info(ctx: Context) -> dict[str, Any]:
    target = ctx.json().get("connection_id")  # None: this connection
    try:
        found = ctx.websocket.connection_info(target)
    except ConnectionGoneError:
        return {"gone": True}
    return {
        "connected_at": found.connected_at.isoformat() if found.connected_at else None,
        "last_active_at": found.last_active_at.isoformat() if found.last_active_at else None,
        "source_ip": found.source_ip,
        "user_agent": found.user_agent,
    }


@app.websocket("$disconnect")
def disconnected(ctx: Context) -> None:
    ws = ctx.websocket
    ctx.logger.info("Closed", code=ws.disconnect_status_code, reason=ws.disconnect_reason)
