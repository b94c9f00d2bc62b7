"""Automatic connection tracking: save on an accepted ``$connect``, delete on ``$disconnect``."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ..dispatch import run_handler
from ..errors import LiftError
from ..tracing.hook import span
from .connection import Connection, utc_now

if TYPE_CHECKING:
    from ..context import Context
    from ..types import Handler

__all__ = ["CONNECTION_LIFETIME", "SAVED_CLAIMS", "connection_lifecycle", "connection_record"]

CONNECTION_LIFETIME = timedelta(hours=2)
"""API Gateway closes every WebSocket connection after two hours."""

SAVED_CLAIMS = (
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "scope",
    "scp",
    "roles",
    "groups",
    "permissions",
    "email",
    "name",
    "tenant_id",
)
"""Claims kept on the stored connection; the rest of the token is not stored."""


def connection_record(ctx: Context) -> Connection:
    """The record to store for the connection of a ``$connect`` event."""
    ws = ctx.websocket
    connected_at = ws.connected_at or utc_now()
    try:
        endpoint: str | None = ws.management_endpoint
    except LiftError:
        endpoint = None
    claims = {key: ctx.claims[key] for key in SAVED_CLAIMS if key in ctx.claims}
    return Connection(
        connection_id=ws.connection_id,
        user_id=ctx.user_id,
        tenant_id=ctx.tenant_id,
        connected_at=connected_at,
        endpoint=endpoint,
        claims=claims,
        metadata=dict(ws.metadata),
        expires_at=connected_at + CONNECTION_LIFETIME,
    )


def connection_lifecycle(handler: Handler) -> Handler:
    """Wrap the composed chain of a WebSocket route to track connections.

    On ``$connect`` the chain runs first; only a final 2xx saves the connection, so a
    refused connection (by auth or the handler) stores nothing. If the save fails the
    connection is refused with 503, so nobody is connected without a record. On
    ``$disconnect`` the handler runs, then the record is deleted; a failed delete is
    logged and never fails the invocation (the record expires by TTL).
    """

    def tracked(ctx: Context) -> Any:
        method = ctx.request.method
        if method == "CONNECT":
            response = run_handler(handler, ctx)
            if response.ok:
                store = ctx.websocket.store
                if store is not None:
                    try:
                        with span(
                            "lift.store.save", {"lift.connection_id": ctx.websocket.connection_id}
                        ):
                            store.save(connection_record(ctx))
                    except Exception:
                        ctx.logger.exception("Could not save the connection; refusing it")
                        raise LiftError(
                            503, "CONNECTION_STORE_ERROR", "The connection could not be registered"
                        ) from None
            return response
        if method == "DISCONNECT":
            try:
                return handler(ctx)
            finally:
                _forget(ctx)
        return handler(ctx)

    return tracked


def _forget(ctx: Context) -> None:
    try:
        store = ctx.websocket.store
        if store is not None:
            connection_id = ctx.websocket.connection_id
            with span("lift.store.delete", {"lift.connection_id": connection_id}):
                store.delete(connection_id)
    except Exception:
        ctx.logger.exception("Could not delete the connection record on $disconnect")
