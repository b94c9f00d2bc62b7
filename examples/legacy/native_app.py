"""``legacy_app.py`` migrated to native WebSocket routing; clients see no difference.

What changed:

* ``handle("CONNECT", "/connect", h)`` became ``@app.websocket("$connect")`` and so on;
  each action has its own route key instead of one handler parsing ``action``, and
  ``$default`` answers the unknown ones.
* The hand-kept dict became ``WebSocketOptions(auto_connections=True)``: Lift saves each
  accepted connection with the identity set on ``$connect`` and deletes it on
  ``$disconnect``. Later events read it back (``ctx.websocket.connection``), so any
  Lambda container can serve any event. The store is Lift's default: memory locally,
  the DynamoDB table named by ``LIFT_CONNECTIONS_TABLE`` when deployed.
* Everyone sits in one tenant, ``lobby``, so ``broadcast_to_tenant`` reaches them all,
  concurrently; connections found gone are pruned from the store by Lift.
"""

from __future__ import annotations

from lift import App, Context, LiftError
from lift.websocket import ConnectionStore, WebSocketOptions

from .legacy_app import UNKNOWN_ACTION

__all__ = ["LOBBY", "app", "create_app"]

LOBBY = "lobby"
"""The tenant every connection of this app belongs to."""


def create_app(store: ConnectionStore | None = None) -> App:
    """Build the native app on ``store`` (Lift's default store when ``None``)."""
    app = App(websocket=WebSocketOptions(auto_connections=True, store=store))

    def user_of(ctx: Context) -> str | None:
        connection = ctx.websocket.connection  # the stored record of this connection
        return connection.user_id if connection is not None else None

    def body_text(ctx: Context) -> object:
        body = ctx.json()
        return body.get("text") if isinstance(body, dict) else None

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        user = ctx.query("user")
        if not user:
            raise LiftError(400, "MISSING_USER", "Connect with ?user=<name>")
        ctx.set_identity(user_id=user, tenant_id=LOBBY)  # saved after this handler returns
        ctx.websocket.broadcast_to_tenant(LOBBY, {"type": "joined", "user": user})

    @app.websocket("echo")
    def echo(ctx: Context) -> None:
        ctx.websocket.send({"type": "echo", "text": body_text(ctx)})

    @app.websocket("broadcast")
    def broadcast(ctx: Context) -> None:
        frame = {"type": "message", "from": user_of(ctx), "text": body_text(ctx)}
        ctx.websocket.broadcast_to_tenant(LOBBY, frame)

    @app.websocket("who")
    def who(ctx: Context) -> None:
        ws = ctx.websocket
        store = ws.store
        connections = store.list_by_tenant(LOBBY) if store is not None else iter(())
        ws.send({"type": "who", "users": sorted({c.user_id for c in connections if c.user_id})})

    @app.websocket("$default")
    def unknown(ctx: Context) -> None:
        ctx.websocket.send(UNKNOWN_ACTION)

    @app.websocket("$disconnect")
    def disconnect(ctx: Context) -> None:
        ws = ctx.websocket
        me = ws.connection
        if me is None or ws.store is None:
            return
        others = [
            c.connection_id
            for c in ws.store.list_by_tenant(LOBBY)
            if c.connection_id != ws.connection_id
        ]
        ws.broadcast(others, {"type": "left", "user": me.user_id})

    return app


app = create_app()
"""The Lambda handler: ``examples.legacy.native_app.app``."""
