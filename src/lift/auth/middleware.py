"""``websocket_auth``: JWT authentication for API Gateway WebSocket APIs.

``$connect`` validates the token; later events restore the identity without state in
memory (from the Lambda authorizer's context, else from the connection store).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..errors import LiftError
from ..identity import claim_text, identity_from_authorizer, restore_identity
from ..request import TriggerType
from ..response import Response, to_response
from .jwt import REASON_MESSAGES, JWTConfig, TokenError, TokenValidator
from .tokens import (
    DEFAULT_TOKEN_SOURCES,
    TokenSource,
    find_token,
    looks_like_jwt,
    parse_token_sources,
    pick_subprotocol,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

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

ErrorHook = Callable[["Context", str], "Any"]
"""``on_error(ctx, reason)``: a result to send instead of the 401, or ``None``.

On ``$connect`` the answer stays a refusal whatever the hook returns: a result that
is not a 4xx/5xx :class:`~lift.response.Response` is sent with status 401.
"""

_SUBPROTOCOL_HEADER = "sec-websocket-protocol"


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


def _connect_refusal(ctx: Context, result: Any, reason: str) -> Response:
    """The answer to a refused ``$connect``: always 4xx/5xx, so nothing is stored.

    ``result`` (what ``on_error`` returned) is kept when it is such a response;
    anything else becomes the body of a 401. A response the hook wrote through the
    context is dropped unless it is a refusal too.
    """
    written = ctx.response
    if written is not None and written.status_code < 400:
        ctx.response = written = None
    if _is_awaitable(result):
        close = getattr(result, "close", None)
        if close is not None:
            close()
        ctx.logger.warning("websocket_auth on_error must not be async; its result is ignored")
        result = None
    if result is None:
        if written is not None:
            return written
        raise LiftError(401, "UNAUTHORIZED", REASON_MESSAGES[reason])
    response = to_response(result)
    if response.status_code < 400:
        response = Response(response.body, 401, dict(response.headers), list(response.cookies))
    return response


def _is_awaitable(value: Any) -> bool:
    """Whether ``value`` is awaitable (generator-based coroutines included)."""
    if value is None or isinstance(value, (dict, list, str, bytes, Response)):
        return False
    import inspect  # a refusal path only

    return inspect.isawaitable(value)


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
        connect = request.method == "CONNECT"
        try:
            result = None if self.on_error is None else self.on_error(ctx, reason)
        except LiftError as exc:
            if connect and exc.status_code < 400:
                raise LiftError(401, "UNAUTHORIZED", REASON_MESSAGES[reason]) from None
            raise
        if connect:
            return _connect_refusal(ctx, result, reason)
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
        tenant_id = claim_text(claims.get(self.config.tenant_claim))
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
