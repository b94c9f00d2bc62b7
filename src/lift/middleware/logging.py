"""``request_logging``: one structured log line per event."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..identity import known_identity
from ..request import TriggerType
from .metrics import error_of, outcome_of

if TYPE_CHECKING:
    from ..context import Context
    from ..observability import Logger
    from ..types import Handler, Middleware

__all__ = ["request_logging"]

MESSAGE = "Request completed"


def request_logging(logger: Logger | None = None) -> Middleware:
    """Log one INFO line per event when the handler has finished (or raised).

    WebSocket events: ``route_key``, ``event_type``, ``connection_id``, ``status``,
    ``latency_ms`` and ``user_id``/``tenant_id`` when known (set, restored already, or
    in the authorizer's context: logging never reads the connection store). HTTP:
    ``method``, ``path`` (without the query string), ``status``, ``latency_ms``. Other
    events: ``source``, ``records`` and ``latency_ms``. A failure adds ``error`` (the
    error code or the exception class name, never its message). Headers, query
    strings, bodies and tokens are never logged.

    ``logger`` defaults to the context's logger (the app's, bound to the request id).
    Exceptions are re-raised unchanged.
    """

    def middleware(handler: Handler) -> Handler:
        def logged(ctx: Context) -> Any:
            start = time.perf_counter()
            status: int | None = None
            error: str | None = None
            try:
                result = handler(ctx)
            except Exception as exc:
                status, error = error_of(exc)
                raise
            else:
                status, error = outcome_of(result, ctx)
                return result
            finally:
                latency_ms = round((time.perf_counter() - start) * 1000, 3)
                _log(logger, ctx, status, error, latency_ms)

        return logged

    return middleware


def _log(
    logger: Logger | None, ctx: Context, status: int | None, error: str | None, latency: float
) -> None:
    request = ctx.request
    trigger = request.trigger
    fields: dict[str, Any] = {"trigger": trigger.value}
    if trigger is TriggerType.WEBSOCKET:
        fields["route_key"] = request.route_key
        fields["event_type"] = request.method
        fields["connection_id"] = request.request_context.get("connectionId")
    elif trigger is TriggerType.HTTP:
        fields["method"] = request.method
        fields["path"] = request.path
    else:
        fields["source"] = request.source
        if request.detail_type:
            fields["detail_type"] = request.detail_type
        if request.records:
            fields["records"] = len(request.records)
    if trigger in (TriggerType.WEBSOCKET, TriggerType.HTTP) and status is not None:
        fields["status"] = status
    fields["latency_ms"] = latency
    identity = known_identity(ctx)  # never a store read just to log
    if identity.user_id:
        fields["user_id"] = identity.user_id
    if identity.tenant_id:
        fields["tenant_id"] = identity.tenant_id
    if error is not None:
        fields["error"] = error
    target = logger.bind(request_id=ctx.request_id) if logger is not None else ctx.logger
    target.info(MESSAGE, **fields)
