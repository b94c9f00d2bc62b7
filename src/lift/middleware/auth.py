"""``websocket_auth``: JWT authentication for API Gateway WebSocket APIs.

``$connect`` validates the token; later events restore the identity without state in
memory (from the Lambda authorizer's context, else from the connection store).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import LiftError
from ..identity import identity_from_authorizer, restore_identity
from ..request import TriggerType
from ..response import Response
from .jwt import REASON_MESSAGES, JWTConfig, TokenError, TokenValidator

if TYPE_CHECKING:
    from ..context import Context
    from ..types import Handler, Middleware

__all__ = [
    "DEFAULT_TOKEN_SOURCES",
    "ErrorHook",
    "TokenSource",
    "WebSocketAuth",
    "find_token",
    "identity_from_authorizer",
    "looks_like_jwt",
    "parse_token_sources",
    "pick_subprotocol",
    "websocket_auth",
]

DEFAULT_TOKEN_SOURCES = (
    "query:Authorization",
    "query:token",
    "header:Authorization",
    "subprotocol",
)
"""Where tokens are looked for, in order."""

ErrorHook = Callable[["Context", str], Any]
"""``on_error(ctx, reason)``: return a result to send instead of the 401, or ``None``."""

_JWT_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_SUBPROTOCOL_HEADER = "sec-websocket-protocol"


@dataclass(frozen=True)
class TokenSource:
    """One place a token may be: ``query:<name>``, ``header:<name>`` or ``subprotocol``."""

    kind: str
    name: str = ""

    @property
    def label(self) -> str:
        """The source as written in ``token_sources``."""
        return f"{self.kind}:{self.name}" if self.name else self.kind


def parse_token_sources(sources: str | Iterable[str]) -> tuple[TokenSource, ...]:
    """Parse ``token_sources``; :class:`ValueError` for an unknown form.

    ``query:<name>`` reads a query parameter (exact name), ``header:<name>`` a header
    (any case; a ``Bearer`` scheme is stripped), ``subprotocol`` the
    ``Sec-WebSocket-Protocol`` entry that looks like a JWT.
    """
    items = [sources] if isinstance(sources, str) else list(sources)
    if not items:
        raise ValueError("token_sources must name at least one source")
    parsed: list[TokenSource] = []
    for item in items:
        kind, _, name = str(item).partition(":")
        kind = kind.strip().lower()
        name = name.strip()
        if kind == "subprotocol" and not name:
            parsed.append(TokenSource("subprotocol"))
        elif kind == "query" and name:
            parsed.append(TokenSource("query", name))
        elif kind == "header" and name:
            parsed.append(TokenSource("header", name.lower()))
        else:
            raise ValueError(
                f"Unknown token source {item!r}: use 'query:<name>', 'header:<name>' "
                "or 'subprotocol'"
            )
    return tuple(parsed)


def looks_like_jwt(value: str) -> bool:
    """Whether ``value`` has the shape of a compact JWT (three base64url segments)."""
    return _JWT_SHAPE.fullmatch(value) is not None


def _credential(value: str) -> str | None:
    """The token in ``value``: as is, or after a ``Bearer`` scheme; ``None`` otherwise."""
    value = value.strip()
    if not value:
        return None
    scheme, space, rest = value.partition(" ")
    if not space:
        return value
    if scheme.lower() != "bearer":
        return None
    return rest.strip() or None


def _subprotocols(headers: Mapping[str, str]) -> list[str]:
    header = headers.get(_SUBPROTOCOL_HEADER) or ""
    return [part.strip() for part in header.split(",") if part.strip()]


def find_token(
    sources: Sequence[TokenSource], query: Mapping[str, str], headers: Mapping[str, str]
) -> tuple[str | None, TokenSource | None]:
    """The first token found in ``sources`` and where it came from.

    ``headers`` must have lower-cased names. An empty value counts as absent.
    """
    for source in sources:
        if source.kind == "query":
            raw = query.get(source.name)
            token = _credential(raw) if raw else None
        elif source.kind == "header":
            raw = headers.get(source.name)
            token = _credential(raw) if raw else None
        else:
            token = next((p for p in _subprotocols(headers) if looks_like_jwt(p)), None)
        if token:
            return token, source
    return None, None


def pick_subprotocol(headers: Mapping[str, str], token: str) -> str | None:
    """The subprotocol to accept when the token came as one: the first other offer.

    Never the token itself, nor anything shaped like a token.
    """
    for offer in _subprotocols(headers):
        if offer != token and not looks_like_jwt(offer):
            return offer
    return None


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return str(value)
    return value if isinstance(value, str) and value else None


def _response_header(result: Any, ctx: Context) -> str | None:
    if isinstance(result, Response):
        value = result.header("Sec-WebSocket-Protocol")
        if value is not None:
            return value
    headers = ctx.response_headers or {}
    return next((v for k, v in headers.items() if k.lower() == _SUBPROTOCOL_HEADER), None)


def _scrub_subprotocol(result: Any, ctx: Context, token: str, accepted: str | None) -> None:
    """Make sure the response never echoes the token as the accepted subprotocol."""
    if _response_header(result, ctx) != token:
        return
    targets = [ctx.response_headers or {}]
    if isinstance(result, Response):
        targets.append(result.headers)
    for headers in targets:
        for name in [k for k in headers if k.lower() == _SUBPROTOCOL_HEADER]:
            del headers[name]
        if accepted is not None and headers is ctx.response_headers:
            headers["Sec-WebSocket-Protocol"] = accepted


class WebSocketAuth:
    """The middleware :func:`websocket_auth` returns; holds the validator built once."""

    def __init__(
        self,
        config: JWTConfig,
        *,
        token_sources: str | Iterable[str] = DEFAULT_TOKEN_SOURCES,
        skip_routes: str | Iterable[str] = (),
        on_error: ErrorHook | None = None,
        store_lookup: bool = True,
    ) -> None:
        self.config = config
        self.validator = TokenValidator(config)
        self.sources = parse_token_sources(token_sources)
        self.skip_routes = frozenset([skip_routes] if isinstance(skip_routes, str) else skip_routes)
        self.on_error = on_error
        self.store_lookup = store_lookup

    def __call__(self, handler: Handler) -> Handler:
        skip = self.skip_routes

        def authenticated(ctx: Context) -> Any:
            request = ctx.request
            if request.trigger is not TriggerType.WEBSOCKET or request.route_key in skip:
                return handler(ctx)
            event_type = request.method
            if event_type == "CONNECT":
                return self._connect(ctx, handler)
            if event_type == "DISCONNECT":
                try:
                    self._restore(ctx)
                except Exception:  # noqa: BLE001 - $disconnect must always reach its handler
                    ctx.logger.warning(
                        "Could not restore the identity on $disconnect",
                        connection_id=request.request_context.get("connectionId"),
                    )
                return handler(ctx)
            if self._restore(ctx):
                return handler(ctx)
            return self._refuse(ctx, "unauthenticated")

        return authenticated

    def _refuse(
        self, ctx: Context, reason: str, error_type: str = "", source: TokenSource | None = None
    ) -> Any:
        request = ctx.request
        fields: dict[str, Any] = {
            "reason": reason,
            "connection_id": request.request_context.get("connectionId"),
            "route_key": request.route_key,
        }
        if error_type:
            fields["error_type"] = error_type
        if source is not None:
            fields["token_source"] = source.label
        ctx.logger.warning("WebSocket authentication failed", **fields)
        if self.on_error is not None:
            result = self.on_error(ctx, reason)
            if result is not None:
                return result
        raise LiftError(401, "UNAUTHORIZED", REASON_MESSAGES[reason])

    def _connect(self, ctx: Context, handler: Handler) -> Any:
        request = ctx.request
        token, source = find_token(self.sources, request.query, request.headers)
        if token is None or source is None:
            return self._refuse(ctx, "missing")
        try:
            claims = self.validator.validate(token)
        except TokenError as exc:
            return self._refuse(ctx, exc.reason, exc.error_type, source)
        user_id = claims.get("sub")
        if not isinstance(user_id, str) or not user_id:
            return self._refuse(ctx, "invalid", "MissingSubject", source)
        tenant_id = _scalar(claims.get(self.config.tenant_claim))
        ctx.set_identity(user_id=user_id, tenant_id=tenant_id, claims=claims)
        if source.kind != "subprotocol":
            return handler(ctx)
        accepted = pick_subprotocol(request.headers, token)
        if accepted is not None:
            ctx.set_header("Sec-WebSocket-Protocol", accepted)
        result = handler(ctx)
        _scrub_subprotocol(result, ctx, token, accepted)
        return result

    def _restore(self, ctx: Context) -> bool:
        return restore_identity(ctx, use_store=self.store_lookup).user_id is not None

    def __repr__(self) -> str:
        return f"<WebSocketAuth {self.config.key_source} {','.join(self.config.algorithms)}>"


def websocket_auth(
    config: JWTConfig,
    *,
    token_sources: str | Iterable[str] = DEFAULT_TOKEN_SOURCES,
    skip_routes: str | Iterable[str] = (),
    on_error: ErrorHook | None = None,
    store_lookup: bool = True,
) -> Middleware:
    """JWT authentication for WebSocket routes.

    On ``$connect`` the token (looked for in ``token_sources``, see
    :func:`parse_token_sources`) is validated and the identity set with
    ``ctx.set_identity(sub, claims[tenant_claim], claims)``; a missing or bad token
    raises 401 ``UNAUTHORIZED`` before the handler runs, so nothing is stored. When the
    token came as a subprotocol, another offered subprotocol is accepted (never the
    token). Later events restore the identity from ``requestContext.authorizer``, else
    (``store_lookup``) from the stored connection; a message without identity gets 401
    and ``$disconnect`` always reaches its handler. Routes in ``skip_routes`` and
    non-WebSocket events pass through untouched. ``on_error(ctx, reason)`` may return
    a result to use instead of the 401. The validator is built here, once; a bad
    config raises :class:`ValueError` now. Tokens are never logged.
    """
    return WebSocketAuth(
        config,
        token_sources=token_sources,
        skip_routes=skip_routes,
        on_error=on_error,
        store_lookup=store_lookup,
    )
