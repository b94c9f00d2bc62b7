"""Tracing: one span per invocation, child spans for the I/O it does, links across invocations.

X-Ray does not trace API Gateway WebSocket APIs, so Lift carries the trace itself.
``App(tracing=True)`` (the global OpenTelemetry tracer provider), ``App(tracing=tracer)``
(an OpenTelemetry ``Tracer`` or a Powertools ``Tracer``) or ``App(tracing=Tracing(...))``
turns it on; off, nothing is imported and dispatch is unchanged.

Each invocation gets a span (``lift.websocket <route key>``, ``lift.http <method>``,
``lift.<trigger>``) with the route key, connection id, tenant, status code and outcome.
``@connections`` calls, connection store calls and fan-out shards open child spans
through :mod:`lift.tracing.hook`. On ``$connect`` the trace context is saved on the
connection record (metadata ``lift.trace``); later events of that connection link to it,
and fan-out shards carry the publisher's context so their delivery links back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import LiftError
from ..response import Response
from .hook import _ACTIVE, CARRIER_KEY, Backend, carrier, shard_span, span

if TYPE_CHECKING:
    from ..context import Context
    from ..types import Handler

__all__ = ["CARRIER_KEY", "Backend", "Tracing", "carrier", "resolve", "shard_span", "span"]


class Tracing:
    """The invocation span around every route (``App(tracing=...)`` installs it outermost).

    ``backend`` adapts a tracer (see :func:`resolve`). ``link_connection``: on events
    after ``$connect``, link to the trace saved on the connection record (one store read,
    shared with identity restore).
    """

    def __init__(self, backend: Backend, *, link_connection: bool = True) -> None:
        self.backend = backend
        self.link_connection = link_connection

    def __call__(self, handler: Handler) -> Handler:
        backend = self.backend

        def traced(ctx: Context) -> Any:
            token = _ACTIVE.set(backend)
            try:
                name, attributes = _describe(ctx)
                with backend.span(name, attributes, (), root=True) as handle:
                    return self._run(handler, ctx, handle)
            finally:
                _ACTIVE.reset(token)

        return traced

    def _run(self, handler: Handler, ctx: Context, handle: Any) -> Any:
        backend = self.backend
        websocket = ctx.is_websocket
        if websocket:
            method = ctx.request.method
            if method == "CONNECT":
                saved = backend.carrier()
                if saved:  # X-Ray (Powertools) has no links, so nothing to save
                    ctx.websocket.metadata[CARRIER_KEY] = saved
            elif self.link_connection:
                self._link_connection(ctx, handle)
        try:
            result = handler(ctx)
        except LiftError as exc:
            backend.set_attributes(handle, _outcome(exc.status_code))
            backend.record_error(handle, exc, expected=exc.status_code < 500)
            raise
        except BaseException as exc:
            backend.set_attributes(handle, _outcome(500))
            backend.record_error(handle, exc, expected=False)
            raise
        outcome = _outcome(_status(result, ctx))
        if websocket or ctx.request.trigger.value == "http":
            outcome["lift.tenant_id"] = _quietly_tenant(ctx)
        backend.set_attributes(handle, outcome)
        return result

    def _link_connection(self, ctx: Context, handle: Any) -> None:
        ws = ctx.websocket
        if ws.store is None:
            return
        try:
            record = ws.connection
        except Exception:  # noqa: BLE001 - a trace link never fails an invocation
            return
        saved = record.metadata.get(CARRIER_KEY) if record is not None else None
        if isinstance(saved, Mapping) and saved:
            add = getattr(self.backend, "add_links", None)
            if add is not None:
                add(handle, [saved])


def _describe(ctx: Context) -> tuple[str, dict[str, Any]]:
    request = ctx.request
    trigger = request.trigger.value
    if ctx.is_websocket:
        attributes = {
            "faas.trigger": "websocket",
            "lift.route_key": request.route_key,
            "lift.event_type": request.method,
            "lift.connection_id": ctx.websocket.connection_id,
            "faas.invocation_id": ctx.request_id,
        }
        return f"lift.websocket {request.route_key}", attributes
    if trigger == "http":
        return f"lift.http {request.method}", {
            "faas.trigger": "http",
            "http.request.method": request.method,
            "url.path": request.path,
            "faas.invocation_id": ctx.request_id,
        }
    return f"lift.{trigger}", {"faas.trigger": trigger, "lift.source": request.source or None}


def _status(result: Any, ctx: Context) -> int:
    if isinstance(result, Response):
        return result.status_code
    if result is None and ctx.response is not None:
        return ctx.response.status_code
    return 200


def _outcome(status: int) -> dict[str, Any]:
    outcome = "ok" if status < 400 else "client_error" if status < 500 else "error"
    return {"http.response.status_code": status, "lift.outcome": outcome}


def _quietly_tenant(ctx: Context) -> str | None:
    try:
        return ctx.tenant_id
    except Exception:  # noqa: BLE001 - an attribute never fails an invocation
        return None


def resolve(tracing: Any) -> Tracing:
    """The :class:`Tracing` for ``App(tracing=...)``.

    ``True``: OpenTelemetry's global tracer provider. A :class:`Tracing` as it is. A
    Powertools ``Tracer`` (it has ``provider`` and ``put_annotation``): X-Ray
    subsegments. Anything else is taken for an OpenTelemetry ``Tracer``.
    """
    if isinstance(tracing, Tracing):
        return tracing
    if tracing is True:
        from .otel import OpenTelemetryBackend

        return Tracing(OpenTelemetryBackend())
    if hasattr(tracing, "provider") and hasattr(tracing, "put_annotation"):
        from .powertools import PowertoolsBackend

        return Tracing(PowertoolsBackend(tracing))
    if hasattr(tracing, "start_as_current_span"):
        from .otel import OpenTelemetryBackend

        return Tracing(OpenTelemetryBackend(tracing))
    raise TypeError(
        "tracing= takes True, an OpenTelemetry Tracer, a Powertools Tracer or a Tracing, "
        f"not {tracing!r}"
    )
