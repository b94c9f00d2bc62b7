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
import re
import time
from typing import Any

import lift.websocket
from lift import App, Context, Handler, LiftError
from lift.middleware import JWTConfig, request_logging, websocket_auth, websocket_metrics
from lift.websocket import ConnectionGoneError, ConnectionStore, WebSocketOptions

from .rooms import Member, MemoryRoomStore, RoomStore
from .tokens import AUDIENCE, secret

__all__ = ["MAX_TEXT", "ChatHandlers", "app", "create_app", "reply_errors"]

MAX_TEXT = 2000
"""The longest message text, in characters."""

_ROOM_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


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


class ChatHandlers:
    """The chat's route handlers, over one :class:`RoomStore`."""

    def __init__(self, rooms: RoomStore) -> None:
        self.rooms = rooms

    # -- routes --------------------------------------------------------------------
    def connect(self, ctx: Context) -> None:
        """``$connect``: ``websocket_auth`` has already verified the token (or refused).

        The identity it set is saved with the connection once this returns 2xx.
        """
        _identity(ctx)

    def join(self, ctx: Context) -> None:
        """``join``: move into a room; history to the sender, presence to the room."""
        user_id, tenant_id = _identity(ctx)
        room = _body(ctx).get("room")
        if not isinstance(room, str) or not _ROOM_NAME.fullmatch(room):
            raise LiftError(
                400, "INVALID_ROOM", "A room name is 1-32 lowercase letters, digits, - or _"
            )
        ws = ctx.websocket
        previous = self.rooms.join(Member(ws.connection_id, user_id, tenant_id, room))
        if previous is not None and previous.room != room:
            self._left(ctx, previous)
        history = self.rooms.history(tenant_id, room)
        ws.send({"type": "joined", "room": room, "history": history})
        self._presence(ctx, tenant_id, room)

    def leave(self, ctx: Context) -> None:
        """``leave``: leave the room."""
        _identity(ctx)
        self._left(ctx, self.rooms.leave(ctx.websocket.connection_id))

    def message(self, ctx: Context) -> None:
        """``message``: to everyone in the room (the sender too), and into the history."""
        user_id, tenant_id = _identity(ctx)
        text = _body(ctx).get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            raise LiftError(
                400, "INVALID_TEXT", f"A message needs a text of 1-{MAX_TEXT} characters"
            )
        member = self._member(ctx)
        at = ctx.websocket.request_time
        frame = {
            "type": "message",
            "room": member.room,
            "user": user_id,
            "text": text,
            "at": int(at.timestamp() * 1000) if at else int(time.time() * 1000),
        }
        self.rooms.add_message(tenant_id, member.room, frame)
        self._to_room(ctx, tenant_id, member.room, frame)

    def typing(self, ctx: Context) -> None:
        """``typing``: to everyone in the room but the sender."""
        user_id, tenant_id = _identity(ctx)
        value = _body(ctx).get("typing", True)
        if not isinstance(value, bool):
            raise LiftError(400, "INVALID_TYPING", "'typing' must be true or false")
        member = self._member(ctx)
        frame = {"type": "typing", "room": member.room, "user": user_id, "typing": value}
        self._to_room(ctx, tenant_id, member.room, frame, exclude=member.connection_id)

    def unknown(self, ctx: Context) -> None:
        """``$default``: an action this chat does not have."""
        raise LiftError(400, "UNKNOWN_ACTION", "Unknown action: use join, leave, message or typing")

    def disconnect(self, ctx: Context) -> None:
        """``$disconnect``: leave the room (auto_connections then deletes the record)."""
        self._left(ctx, self.rooms.leave(ctx.websocket.connection_id))

    # -- helpers -------------------------------------------------------------------
    def _member(self, ctx: Context) -> Member:
        member = self.rooms.membership(ctx.websocket.connection_id)
        if member is None:
            raise LiftError(409, "NOT_IN_ROOM", "Join a room first")
        return member

    def _to_room(
        self, ctx: Context, tenant_id: str, room: str, data: Any, *, exclude: str | None = None
    ) -> None:
        """Broadcast to a room (concurrently); connections found gone leave it."""
        ids = [m.connection_id for m in self.rooms.members(tenant_id, room)]
        ids = [connection_id for connection_id in ids if connection_id != exclude]
        if ids:
            result = ctx.websocket.broadcast(ids, data)
            for connection_id in result.gone:
                self.rooms.leave(connection_id)

    def _presence(self, ctx: Context, tenant_id: str, room: str) -> None:
        users = sorted({m.user_id for m in self.rooms.members(tenant_id, room)})
        self._to_room(ctx, tenant_id, room, {"type": "presence", "room": room, "users": users})

    def _left(self, ctx: Context, member: Member | None) -> None:
        if member is not None:
            self._presence(ctx, member.tenant_id, member.room)


TOKEN_SOURCES = ("query:token",)


def token_config(jwt_secret: str | None = None) -> JWTConfig:
    """How chat tokens are checked: HS256, our audience, a tenant in every token."""
    return JWTConfig(
        secret=jwt_secret or secret(),
        algorithms=["HS256"],
        audience=AUDIENCE,
        required_claims=("sub", "exp", "tenant_id"),
    )


def create_app(
    *,
    store: ConnectionStore | None = None,
    rooms: RoomStore | None = None,
    jwt_secret: str | None = None,
) -> App:
    """Build the chat app (tests build fresh ones; Lambda uses the module's ``app``).

    Without a ``store``, Lift tracks connections in the DynamoDB table named by
    ``LIFT_CONNECTIONS_TABLE`` (which ``lift template`` sets when deployed), else in memory.
    """
    app = App(websocket=WebSocketOptions(auto_connections=True, store=store))
    jwt_config = token_config(jwt_secret)
    # The first middleware added is the outermost: log and measure everything,
    # authenticate, then turn errors of authenticated messages into error frames.
    app.use(request_logging())
    app.use(websocket_metrics())
    app.use(
        # Browsers cannot set headers on a WebSocket, so the page passes ?token=.
        websocket_auth(jwt_config, token_sources=TOKEN_SOURCES)
    )
    app.use(reply_errors)

    chat = ChatHandlers(rooms if rooms is not None else MemoryRoomStore())
    (
        app.websocket("$connect", chat.connect)
        .websocket("join", chat.join)
        .websocket("leave", chat.leave)
        .websocket("message", chat.message)
        .websocket("typing", chat.typing)
        .websocket("$default", chat.unknown)
        .websocket("$disconnect", chat.disconnect)
    )
    return app


app = create_app()
"""The Lambda handler: ``examples.chat.app.app``."""

authorizer = lift.websocket.authorizer(token_config(), token_sources=TOKEN_SOURCES)
"""The REQUEST authorizer ``lift template`` puts on ``$connect``: ``examples.chat.app.authorizer``.

With it, API Gateway refuses bad tokens before the chat function runs, and puts the
identity on every later event of the connection.
"""
