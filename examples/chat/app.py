"""A multi-tenant chat on API Gateway WebSockets, built on Lift's channels.

Run it locally with its page (http://127.0.0.1:8000/)::

    python -m examples.chat

or without the page, with the gateway's inspector only::

    lift dev examples.chat.app:app

Nothing lives in process memory: connections, room membership (channels), presence and
history are in the connection store (DynamoDB when deployed), and every frame goes
through the ``@connections`` Management API, so any number of Lambda instances can serve
the same room.

The protocol (JSON text frames; API Gateway routes on ``action``):

* connect with ``?token=<JWT>``: ``sub`` is the user, ``tenant_id`` the tenant. A missing
  or bad token refuses the connection with 401 (``websocket_auth``).
* ``{"action": "join", "room": "general", "after": 12}``: the sender gets
  ``{"type": "joined", "room", "members", "history"}``: the room's members and its kept
  messages (the last 50), or only those after sequence number ``after`` when given (a
  page that reconnects resumes this way). The others in the room get a presence event.
  A connection sits in one room; joining another leaves the first.
* ``{"action": "message", "text": "hi"}``: everyone in the room, the sender included,
  gets a message event whose ``data`` is ``{"type": "message", "user", "text", "at"}``
  (``at`` in epoch ms).
* ``{"action": "typing", "typing": true}``: everyone else in the room gets a message
  event (not numbered, not kept) whose ``data`` is ``{"type": "typing", "user", "typing"}``.
* ``{"action": "leave"}``: leave the room (as closing the connection does).
* anything else, or a bad request: the sender gets one ``{"type": "error", "code",
  "message"}`` frame, with or without route responses.

Channel events are ``{"event": "message", "channel", "seq", "data"}`` and
``{"event": "presence", "channel", "joined": [member], "left": [member]}`` with members
``{"connection_id", "user_id", "joined_at", "metadata"}``. Rooms belong to a tenant:
users of different tenants never see each other, even in rooms with the same name.
"""

from __future__ import annotations

import contextlib
import re
import time
from typing import Any

import lift.websocket
from lift import App, Context, Handler, LiftError, Response
from lift.middleware import JWTConfig, request_logging, websocket_auth, websocket_metrics
from lift.websocket import ChannelOptions, ConnectionGoneError, ConnectionStore, WebSocketOptions

from .tokens import AUDIENCE, secret

__all__ = ["HISTORY_SIZE", "MAX_TEXT", "app", "create_app", "reply_errors"]

MAX_TEXT = 2000
"""The longest message text, in characters."""

HISTORY_SIZE = 50
"""How many messages of each room are kept (replayed on join and on resume)."""

_ROOM_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


def reply_errors(handler: Handler) -> Handler:
    """Middleware: tell the sender why a message failed, as one ``error`` frame.

    The frame goes through ``@connections``, so it arrives whether or not the route has
    a route response; the result is then the error's status with no body, so a route
    response (every message route has one unless ``WebSocketOptions(route_responses=
    False)``) sends nothing more. Used outermost, so logging and metrics inside it still see the
    error itself, with its code.
    """

    def replying(ctx: Context) -> Any:
        try:
            return handler(ctx)
        except LiftError as exc:
            if not (ctx.is_websocket and ctx.websocket.is_message):
                raise
            with contextlib.suppress(ConnectionGoneError):
                ctx.websocket.send({"type": "error", "code": exc.code, "message": exc.message})
            return Response(status_code=exc.status_code)

    return replying


def _body(ctx: Context) -> dict[str, Any]:
    body = ctx.json()
    if not isinstance(body, dict):
        raise LiftError(400, "INVALID_MESSAGE", "A message must be a JSON object")
    return body


def _user(ctx: Context) -> str:
    """The user that ``websocket_auth`` restored for this connection."""
    if not ctx.user_id or not ctx.tenant_id:
        raise LiftError(401, "UNAUTHORIZED", "Not authenticated")
    return ctx.user_id


def _room(ctx: Context) -> str:
    """The room this connection sits in (409 ``NOT_IN_ROOM``)."""
    rooms = ctx.websocket.subscriptions()
    if not rooms:
        raise LiftError(409, "NOT_IN_ROOM", "Join a room first")
    return rooms[0]


def connect(ctx: Context) -> None:
    """``$connect``: ``websocket_auth`` has already verified the token (or refused).

    The identity it set is saved with the connection once this returns 2xx.
    """
    _user(ctx)


def join(ctx: Context) -> None:
    """``join``: move into a room; members and history (or what was missed) to the sender."""
    _user(ctx)
    body = _body(ctx)
    room = body.get("room")
    if not isinstance(room, str) or not _ROOM_NAME.fullmatch(room):
        raise LiftError(
            400, "INVALID_ROOM", "A room name is 1-32 lowercase letters, digits, - or _"
        )
    after = body.get("after", 0)
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        raise LiftError(400, "INVALID_AFTER", "'after' must be a sequence number")
    ws = ctx.websocket
    for other in ws.subscriptions():
        if other != room:
            ws.unsubscribe(other)
    # Subscribe first, then read the history: a message published meanwhile is either
    # delivered live or found kept, never lost (the page drops sequence numbers it has).
    ws.subscribe(room)
    history = ws.history(room, after=after, limit=HISTORY_SIZE)
    ws.send(
        {
            "type": "joined",
            "room": room,
            "members": [m.public() for m in ws.members(room)],
            "history": [
                {"event": "message", "channel": room, "seq": m.seq, "data": m.data} for m in history
            ],
        }
    )


def leave(ctx: Context) -> None:
    """``leave``: leave the room."""
    _user(ctx)
    for room in ctx.websocket.subscriptions():
        ctx.websocket.unsubscribe(room)


def message(ctx: Context) -> None:
    """``message``: to everyone in the room (the sender too), numbered and kept."""
    user = _user(ctx)
    text = _body(ctx).get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
        raise LiftError(400, "INVALID_TEXT", f"A message needs a text of 1-{MAX_TEXT} characters")
    room = _room(ctx)
    at = ctx.websocket.request_time
    ctx.websocket.publish(
        room,
        {
            "type": "message",
            "user": user,
            "text": text,
            "at": int(at.timestamp() * 1000) if at else int(time.time() * 1000),
        },
    )


def typing(ctx: Context) -> None:
    """``typing``: to everyone in the room but the sender; not numbered, not kept."""
    user = _user(ctx)
    value = _body(ctx).get("typing", True)
    if not isinstance(value, bool):
        raise LiftError(400, "INVALID_TYPING", "'typing' must be true or false")
    room = _room(ctx)
    ctx.websocket.publish(
        room, {"type": "typing", "user": user, "typing": value}, exclude_self=True, ephemeral=True
    )


def unknown(ctx: Context) -> None:
    """``$default``: an action this chat does not have."""
    raise LiftError(400, "UNKNOWN_ACTION", "Unknown action: use join, leave, message or typing")


def disconnect(ctx: Context) -> None:
    """``$disconnect``: nothing to do; Lift removes the connection from its room and the
    room hears of it (presence events)."""


TOKEN_SOURCES = ("query:token",)


def token_config(jwt_secret: str | None = None) -> JWTConfig:
    """How chat tokens are checked: HS256, our audience, a tenant in every token."""
    return JWTConfig(
        secret=jwt_secret or secret(),
        algorithms=["HS256"],
        audience=AUDIENCE,
        required_claims=("sub", "exp", "tenant_id"),
    )


def create_app(*, store: ConnectionStore | None = None, jwt_secret: str | None = None) -> App:
    """Build the chat app (tests build fresh ones; Lambda uses the module's ``app``).

    Without a ``store``, Lift keeps connections and rooms in the DynamoDB table named by
    ``LIFT_CONNECTIONS_TABLE`` (which ``lift template`` sets when deployed), else in memory.
    """
    app = App(
        websocket=WebSocketOptions(
            auto_connections=True,
            store=store,
            channels=ChannelOptions(presence_events=True, history=HISTORY_SIZE),
        )
    )
    jwt_config = token_config(jwt_secret)
    # The first middleware added is the outermost: turn a failed message into one
    # error frame; inside it, log and measure everything (errors with their codes),
    # then authenticate.
    app.use(reply_errors)
    app.use(request_logging())
    app.use(websocket_metrics())
    app.use(
        # Browsers cannot set headers on a WebSocket, so the page passes ?token=.
        websocket_auth(jwt_config, token_sources=TOKEN_SOURCES)
    )
    (
        app.websocket("$connect", connect)
        .websocket("join", join)
        .websocket("leave", leave)
        .websocket("message", message)
        .websocket("typing", typing)
        .websocket("$default", unknown)
        .websocket("$disconnect", disconnect)
    )
    return app


app = create_app()
"""The Lambda handler: ``examples.chat.app.app``."""

authorizer = lift.websocket.authorizer(token_config(), token_sources=TOKEN_SOURCES)
"""The REQUEST authorizer ``lift template`` puts on ``$connect``: ``examples.chat.app.authorizer``.

With it, API Gateway refuses bad tokens before the chat function runs, and puts the
identity on every later event of the connection.
"""
