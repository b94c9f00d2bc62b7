"""A multi-tenant chat on API Gateway WebSockets.

Run it locally with its page (http://127.0.0.1:8000/)::

    python -m examples.chat

or without the page, with the gateway's inspector only::

    lift dev examples.chat.app:app

The protocol (JSON text frames; API Gateway routes on ``action``):

* connect with ``?token=<JWT>``: ``sub`` is the user, ``tenant_id`` the tenant. A missing
  or bad token refuses the connection with 401 (``websocket_auth``).
* ``{"action": "join", "room": "general"}``: the sender gets
  ``{"type": "joined", "room", "history"}`` (the last 50 messages) and everyone in the
  room gets ``{"type": "presence", "room", "users"}``. A connection sits in one room;
  joining another leaves the first.
* ``{"action": "message", "text": "hi"}``: everyone in the room, the sender included,
  gets ``{"type": "message", "room", "user", "text", "at"}`` (``at`` in epoch ms).
* ``{"action": "typing", "typing": true}``: everyone else in the room gets
  ``{"type": "typing", "room", "user", "typing"}``.
* ``{"action": "leave"}``: leave the room (as closing the connection does).
* anything else, or a bad request: the sender gets ``{"type": "error", "code", "message"}``.

Rooms belong to a tenant: users of different tenants never see each other, even in
rooms with the same name. Every reply goes through the ``@connections`` Management API
(``ctx.websocket.send``/``broadcast``), so the API needs no route responses.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from typing import Any

from lift import App, Context, Handler, LiftError
from lift.middleware import JWTConfig, request_logging, websocket_auth, websocket_metrics
from lift.websocket import (
    ConnectionGoneError,
    ConnectionStore,
    DynamoDBConnectionStore,
    MemoryConnectionStore,
    WebSocketOptions,
)

from .rooms import Member, MemoryRoomStore, RoomStore
from .tokens import AUDIENCE, secret

__all__ = ["CONNECTIONS_TABLE_ENV", "MAX_TEXT", "app", "connection_store", "create_app"]

CONNECTIONS_TABLE_ENV = "LIFT_CONNECTIONS_TABLE"
"""When set, connections are tracked in this DynamoDB table instead of in memory."""

MAX_TEXT = 2000
"""The longest message text, in characters."""

_ROOM_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


def connection_store() -> ConnectionStore:
    """DynamoDB when ``LIFT_CONNECTIONS_TABLE`` is set (deployed), else memory (local)."""
    table = os.environ.get(CONNECTIONS_TABLE_ENV)
    return DynamoDBConnectionStore(table) if table else MemoryConnectionStore()


def reply_errors(handler: Handler) -> Handler:
    """Middleware: tell the sender why a message failed, as an ``error`` frame.

    API Gateway only returns a route's result to the client when the route has a route
    response; sending the error through ``@connections`` works without one. The error
    is re-raised so logs and metrics still count it.
    """

    def replying(ctx: Context) -> Any:
        try:
            return handler(ctx)
        except LiftError as exc:
            if ctx.is_websocket and ctx.websocket.is_message:
                with contextlib.suppress(ConnectionGoneError):
                    ctx.websocket.send({"type": "error", "code": exc.code, "message": exc.message})
            raise

    return replying


def _body(ctx: Context) -> dict[str, Any]:
    body = ctx.json()
    if not isinstance(body, dict):
        raise LiftError(400, "INVALID_MESSAGE", "A message must be a JSON object")
    return body


def _identity(ctx: Context) -> tuple[str, str]:
    """The user and tenant that ``websocket_auth`` restored for this connection."""
    if not ctx.user_id or not ctx.tenant_id:
        raise LiftError(401, "UNAUTHORIZED", "Not authenticated")
    return ctx.user_id, ctx.tenant_id


def create_app(
    *,
    store: ConnectionStore | None = None,
    rooms: RoomStore | None = None,
    jwt_secret: str | None = None,
) -> App:
    """Build the chat app (tests build fresh ones; Lambda uses the module's ``app``)."""
    room_store: RoomStore = rooms if rooms is not None else MemoryRoomStore()
    app = App(
        websocket=WebSocketOptions(
            auto_connections=True,
            store=store if store is not None else connection_store(),
        )
    )
    # The first middleware added is the outermost: log and measure everything,
    # authenticate, then turn errors of authenticated messages into error frames.
    app.use(request_logging())
    app.use(websocket_metrics())
    app.use(
        websocket_auth(
            JWTConfig(
                secret=jwt_secret or secret(),
                algorithms=["HS256"],
                audience=AUDIENCE,
                required_claims=("sub", "exp", "tenant_id"),
            ),
            # Browsers cannot set headers on a WebSocket, so the page passes ?token=.
            token_sources=("query:token",),
        )
    )
    app.use(reply_errors)

    def to_room(
        ctx: Context, tenant_id: str, room: str, data: Any, *, exclude: str | None = None
    ) -> None:
        """Broadcast to a room; connections found gone leave it."""
        ids = [m.connection_id for m in room_store.members(tenant_id, room)]
        ids = [connection_id for connection_id in ids if connection_id != exclude]
        if ids:
            result = ctx.websocket.broadcast(ids, data)
            for connection_id in result.gone:
                room_store.leave(connection_id)

    def send_presence(ctx: Context, tenant_id: str, room: str) -> None:
        users = sorted({m.user_id for m in room_store.members(tenant_id, room)})
        to_room(ctx, tenant_id, room, {"type": "presence", "room": room, "users": users})

    def left(ctx: Context, member: Member | None) -> None:
        if member is not None:
            send_presence(ctx, member.tenant_id, member.room)

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        # websocket_auth has verified the token (or refused with 401) before this runs;
        # the identity it set is saved with the connection after a 2xx.
        _identity(ctx)

    @app.websocket("join")
    def join(ctx: Context) -> None:
        user_id, tenant_id = _identity(ctx)
        room = _body(ctx).get("room")
        if not isinstance(room, str) or not _ROOM_NAME.fullmatch(room):
            raise LiftError(
                400, "INVALID_ROOM", "A room name is 1-32 lowercase letters, digits, - or _"
            )
        ws = ctx.websocket
        previous = room_store.join(Member(ws.connection_id, user_id, tenant_id, room))
        if previous is not None and previous.room != room:
            left(ctx, previous)
        ws.send({"type": "joined", "room": room, "history": room_store.history(tenant_id, room)})
        send_presence(ctx, tenant_id, room)

    @app.websocket("leave")
    def leave(ctx: Context) -> None:
        _identity(ctx)
        left(ctx, room_store.leave(ctx.websocket.connection_id))

    @app.websocket("message")
    def message(ctx: Context) -> None:
        user_id, tenant_id = _identity(ctx)
        text = _body(ctx).get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            raise LiftError(
                400, "INVALID_TEXT", f"A message needs a text of 1-{MAX_TEXT} characters"
            )
        member = room_store.membership(ctx.websocket.connection_id)
        if member is None:
            raise LiftError(409, "NOT_IN_ROOM", "Join a room first")
        at = ctx.websocket.request_time
        frame = {
            "type": "message",
            "room": member.room,
            "user": user_id,
            "text": text,
            "at": int(at.timestamp() * 1000) if at else int(time.time() * 1000),
        }
        room_store.add_message(tenant_id, member.room, frame)
        to_room(ctx, tenant_id, member.room, frame)

    @app.websocket("typing")
    def typing(ctx: Context) -> None:
        user_id, tenant_id = _identity(ctx)
        value = _body(ctx).get("typing", True)
        if not isinstance(value, bool):
            raise LiftError(400, "INVALID_TYPING", "'typing' must be true or false")
        member = room_store.membership(ctx.websocket.connection_id)
        if member is None:
            raise LiftError(409, "NOT_IN_ROOM", "Join a room first")
        frame = {"type": "typing", "room": member.room, "user": user_id, "typing": value}
        to_room(ctx, tenant_id, member.room, frame, exclude=member.connection_id)

    @app.websocket("$default")
    def unknown(ctx: Context) -> None:
        raise LiftError(
            400, "UNKNOWN_ACTION", "Unknown action: use join, leave, message or typing"
        )

    @app.websocket("$disconnect")
    def disconnect(ctx: Context) -> None:
        # Runs even when identity cannot be restored; auto_connections then deletes
        # the connection record.
        left(ctx, room_store.leave(ctx.websocket.connection_id))

    return app


app = create_app()
"""The Lambda handler: ``examples.chat.app.app``."""
