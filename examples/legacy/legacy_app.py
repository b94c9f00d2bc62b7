"""A small lobby chat written in the legacy pattern (before native WebSocket routing).

This is how apps were written against Lift's original API: three ``handle`` calls,
``ctx.as_websocket()``, one ``MESSAGE`` handler that dispatches on the body itself, and
who-is-connected kept by hand in a dict. Lift still routes it (``CONNECT`` is
``$connect``, ``MESSAGE /message`` is ``$default``, ``DISCONNECT`` is ``$disconnect``),
so it keeps working unchanged. ``native_app.py`` is the same app migrated; see the
migration guide for the steps.

The protocol (both versions): connect with ``?user=<name>`` (400 without it); the others
get ``{"type": "joined", "user"}``. Actions: ``echo`` (``{"type": "echo", "text"}`` back),
``broadcast`` (everyone gets ``{"type": "message", "from", "text"}``), ``who``
(``{"type": "who", "users"}``); anything else gets ``{"type": "error", "code":
"UNKNOWN_ACTION", "message"}``. When someone leaves the others get ``{"type": "left",
"user"}``.

The weak spot is the hand-kept dict: it lives in one process. On Lambda the
``$connect`` and later messages of a connection may reach different containers, and
a container that never saw a ``$connect`` does not know the connection at all.
"""

from __future__ import annotations

import json
from typing import Any

from lift import App, Context, LiftError
from lift.websocket import ConnectionGoneError, WebSocketContext

__all__ = ["UNKNOWN_ACTION", "app", "create_app"]

UNKNOWN_ACTION = {
    "type": "error",
    "code": "UNKNOWN_ACTION",
    "message": "Unknown action: use echo, broadcast or who",
}


def create_app() -> App:
    """Build the legacy app (each call has its own hand-kept state)."""
    app = App()
    connections: dict[str, str] = {}  # connection id -> user name, in this process only

    def post(ws: WebSocketContext, connection_id: str, data: Any) -> None:
        # One connection at a time; a gone connection is forgotten by hand.
        try:
            ws.post_to(connection_id, data)
        except ConnectionGoneError:
            connections.pop(connection_id, None)

    def handle_connect(ctx: Context) -> None:
        user = ctx.query("user")
        if not user:
            raise LiftError(400, "MISSING_USER", "Connect with ?user=<name>")
        ws = ctx.as_websocket()
        for connection_id in list(connections):
            post(ws, connection_id, {"type": "joined", "user": user})
        connections[ws.connection_id] = user

    def handle_message(ctx: Context) -> None:
        ws = ctx.as_websocket()
        user = connections.get(ws.connection_id)
        try:
            parsed = json.loads(ctx.text)
        except ValueError:
            parsed = None
        body: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
        action = body.get("action")
        if action == "echo":
            ws.send({"type": "echo", "text": body.get("text")})
        elif action == "broadcast":
            frame = {"type": "message", "from": user, "text": body.get("text")}
            for connection_id in list(connections):
                post(ws, connection_id, frame)
        elif action == "who":
            ws.send({"type": "who", "users": sorted(set(connections.values()))})
        else:
            ws.send(UNKNOWN_ACTION)

    def handle_disconnect(ctx: Context) -> None:
        ws = ctx.as_websocket()
        user = connections.pop(ws.connection_id, None)
        if user is not None:
            for connection_id in list(connections):
                post(ws, connection_id, {"type": "left", "user": user})

    app.handle("CONNECT", "/connect", handle_connect)
    app.handle("MESSAGE", "/message", handle_message)
    app.handle("DISCONNECT", "/disconnect", handle_disconnect)
    return app


app = create_app()
"""The Lambda handler: ``examples.legacy.legacy_app.app``."""
