"""Who made a request: set by auth on ``$connect``, restored on every later WebSocket event.

A deployed WebSocket app runs in many Lambda instances, so the identity of a connection
never lives in memory. On a WebSocket event it comes from ``requestContext.authorizer``
(a Lambda authorizer's context) when present, else, after ``$connect``, from the stored
connection record. Both are read lazily, the first time the identity is asked for, and
at most once per invocation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType

from .request import TriggerType

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

    from .context import Context

__all__ = [
    "ANONYMOUS",
    "Identity",
    "claim_text",
    "identity_from_authorizer",
    "known_identity",
    "parse_roles",
    "restore_identity",
]

_WEBSOCKET = TriggerType.WEBSOCKET


class Identity:
    """A user id, a tenant id and the claims that came with them (read-only)."""

    __slots__ = ("claims", "tenant_id", "user_id")

    def __init__(
        self, user_id: str | None, tenant_id: str | None, claims: Mapping[str, Any]
    ) -> None:
        self.user_id = user_id
        self.tenant_id = tenant_id
        self.claims = claims

    def __repr__(self) -> str:
        return f"Identity(user_id={self.user_id!r}, tenant_id={self.tenant_id!r})"


ANONYMOUS = Identity(None, None, MappingProxyType({}))
"""No identity: the claims are a read-only empty mapping."""


def parse_roles(value: Any) -> list[str]:
    """Roles from a claim or an authorizer context value.

    Accepts a list, a JSON list string (``'["a","b"]'``) or a comma or space separated
    string (``"a,b"``, ``"a b"``).
    """
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except (ValueError, RecursionError):
                value = text.strip("[]")
        if isinstance(value, str):
            return [part for part in value.replace(",", " ").split() if part]
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value if isinstance(item, (str, int)) and str(item)]
    return []


def claim_text(value: Any) -> str | None:
    """A claim as a non-empty string: numbers as text, booleans and empties as ``None``."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return str(value)
    return value if isinstance(value, str) and value else None


def identity_from_authorizer(
    authorizer: Mapping[str, Any],
) -> tuple[str, str | None, dict[str, Any]] | None:
    """``(user_id, tenant_id, claims)`` from a Lambda authorizer's context, or ``None``.

    The user id is ``user_id``, else ``principalId``. API Gateway turns context values
    into strings, so ``roles`` may be ``"a,b"`` or a JSON list; it becomes a list.
    """
    user_id = claim_text(authorizer.get("user_id")) or claim_text(authorizer.get("principalId"))
    if user_id is None:
        return None
    claims = {k: v for k, v in authorizer.items() if k != "integrationLatency"}
    claims["sub"] = user_id
    if "roles" in claims:
        claims["roles"] = parse_roles(claims["roles"])
    return user_id, claim_text(authorizer.get("tenant_id")), claims


def _from_authorizer(ctx: Context) -> Identity | None:
    authorizer = ctx.request.request_context.get("authorizer")
    if not isinstance(authorizer, dict):
        return None
    found = identity_from_authorizer(authorizer)
    return Identity(*found) if found is not None else None


def known_identity(ctx: Context) -> Identity:
    """The identity as far as it is known without I/O (never reads the store).

    What was set or restored already, else the authorizer's context, else anonymous.
    Used by logging, which must not add a store read to every event.
    """
    identity = ctx._identity
    if identity is not None:
        return identity
    if ctx.request.trigger is _WEBSOCKET:
        return _from_authorizer(ctx) or ANONYMOUS
    return ANONYMOUS


def restore_identity(ctx: Context, *, use_store: bool = True) -> Identity:
    """The identity of ``ctx``, restored once and kept on the context.

    Set through ``ctx.set_identity`` wins. On a WebSocket event the authorizer's context
    comes next; then, on events after ``$connect`` and with ``use_store``, the connection
    record in the app's store (read through ``ctx.websocket.connection``, which keeps
    it for the invocation). Without any of these the identity is anonymous. A store
    failure propagates (``ConnectionStoreError`` is a 503) and nothing is cached, except
    on ``$disconnect``, which is logged and treated as anonymous so cleanup still runs.
    """
    identity = ctx._identity
    if identity is not None:
        return identity
    identity = ANONYMOUS
    if ctx.request.trigger is _WEBSOCKET:
        found = _from_authorizer(ctx)
        if found is not None:
            identity = found
        elif use_store and ctx.request.method != "CONNECT" and _has_store(ctx):
            identity = _from_store(ctx)
        elif not use_store:
            return identity  # not cached: a later lookup with the store may still find one
    ctx._identity = identity
    return identity


def _from_store(ctx: Context) -> Identity:
    try:
        record = ctx.websocket.connection
    except Exception:
        if ctx.request.method != "DISCONNECT":
            raise
        # $disconnect must always reach its handler and cleanup: anonymous, logged
        ctx.logger.warning(
            "Could not restore the identity on $disconnect",
            connection_id=ctx.request.request_context.get("connectionId"),
        )
        return ANONYMOUS
    if record is None or not record.user_id:
        return ANONYMOUS
    claims = dict(record.claims) if record.claims else {}
    return Identity(record.user_id, record.tenant_id, claims)


def _has_store(ctx: Context) -> bool:
    options = ctx.app.websocket_options if ctx.app is not None else None
    return options is not None and options.store is not None
