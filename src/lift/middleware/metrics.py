"""``websocket_metrics``: per-event WebSocket metrics, written as CloudWatch EMF.

Also the outcome helpers the observability middleware share (:func:`outcome_of`,
:func:`error_of`) and an adapter for a Powertools for AWS Lambda ``Metrics`` sink.
"""

from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING, Any

from ..errors import LiftError
from ..response import Response

if TYPE_CHECKING:
    from ..context import Context
    from ..observability import Metrics
    from ..request import Request
    from ..types import Handler, Middleware

__all__ = [
    "PowertoolsMetricsAdapter",
    "error_of",
    "is_powertools_metrics",
    "outcome_of",
    "websocket_metrics",
]

_Key = tuple[tuple[str, str], ...]


# -- outcome of a handler call ------------------------------------------------------
def outcome_of(result: Any, ctx: Context) -> tuple[int, str | None]:
    """The status a handler's ``result`` becomes, and an error type when it is not 2xx.

    Mirrors :func:`lift.response.to_response` without serialising anything: ``None``
    means what the handler wrote through the context (else 200), a ``Response`` its own
    status, anything else 200. The error type is the body's ``error.code``, else
    ``HTTP_<status>``.
    """
    response = ctx.response if result is None else result
    if not isinstance(response, Response):
        return 200, None
    status = response.status_code
    if 200 <= status < 300:
        return status, None
    return status, _error_code(response.body) or f"HTTP_{status}"


def error_of(exc: BaseException) -> tuple[int, str]:
    """The status the app answers ``exc`` with, and its error type.

    A :class:`~lift.LiftError` gives its status and code; anything else 500 and the
    exception's class name (never its message).
    """
    if isinstance(exc, LiftError):
        return exc.status_code, exc.code
    return 500, type(exc).__name__


def _error_code(body: str | bytes | None) -> str | None:
    if not body:
        return None
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) and code else None


# -- Powertools sink ----------------------------------------------------------------
def is_powertools_metrics(obj: object) -> bool:
    """Whether ``obj`` looks like a Powertools ``Metrics`` (``add_metric``, no ``add``)."""
    return (
        hasattr(obj, "add_metric")
        and hasattr(obj, "add_dimension")
        and hasattr(obj, "flush_metrics")
        and not hasattr(obj, "add")
    )


class PowertoolsMetricsAdapter:
    """Lift's ``Metrics`` protocol on top of a Powertools for AWS Lambda ``Metrics``.

    Powertools keeps one dimension set per flush, shared by every metric of the flush
    (and by every ``Metrics`` instance of the process). Adding ``route_key`` or
    ``error_type`` there would re-dimension the application's own metrics and give
    every Lift metric the ``error_type`` of one of them. So, like Powertools'
    ``single_metric``, :meth:`flush` writes a separate EMF document per dimension set,
    built by a fresh provider of the target's class with the target's namespace,
    service and default dimensions; the target's own buffer is left untouched.
    Units are passed by name (``"Count"``, ``"Milliseconds"``, ``"Bytes"``), which are
    the values of Powertools' ``MetricUnit``. Powertools itself is never imported.
    """

    def __init__(self, target: Any) -> None:
        if not is_powertools_metrics(target):
            raise TypeError("Expected a Powertools Metrics object (add_metric/add_dimension)")
        self.target = target
        self._buffer: dict[_Key, list[tuple[str, float, str]]] = {}
        self._lock = threading.Lock()

    def add(
        self,
        name: str,
        value: float,
        unit: str = "Count",
        dimensions: dict[str, str] | None = None,
    ) -> None:
        """Buffer one value of ``name`` under ``dimensions``."""
        key: _Key = tuple(sorted((str(k), str(v)) for k, v in (dimensions or {}).items()))
        with self._lock:
            self._buffer.setdefault(key, []).append((name, value, unit))

    def flush(self) -> None:
        """Write one EMF document per dimension set through Powertools (stdout)."""
        with self._lock:
            buffered, self._buffer = self._buffer, {}
        for key, values in buffered.items():
            document = self._new_document()
            for name, value, unit in values:
                document.add_metric(name=name, unit=unit, value=value)
            for dimension, label in key:
                document.add_dimension(name=dimension, value=label)
            document.flush_metrics()

    def for_invocation(self) -> PowertoolsMetricsAdapter:
        """An adapter with its own buffer on the same Powertools ``Metrics``."""
        return PowertoolsMetricsAdapter(self.target)

    def _new_document(self) -> Any:
        target = self.target
        provider = getattr(target, "provider", target)
        defaults = getattr(target, "default_dimensions", None) or {}
        return type(provider)(
            namespace=target.namespace,
            service=target.service,
            default_dimensions=dict(defaults),
        )


# -- the middleware -----------------------------------------------------------------
def websocket_metrics(metrics: Any = None) -> Middleware:
    """Record metrics for every WebSocket event; other events pass through untouched.

    Every metric has the dimensions ``route_key`` and ``event_type``:
    ``websocket.requests`` (Count), ``websocket.latency`` (Milliseconds),
    ``websocket.errors`` (Count, plus ``error_type``: the ``LiftError`` code, the
    exception class name, the error code of a non-2xx body, or ``HTTP_<status>``),
    ``websocket.connections.new`` (a 2xx ``$connect``), ``websocket.connections.closed``
    (``$disconnect``), ``websocket.messages`` and ``websocket.message.size`` (Bytes, the
    inbound body) for messages.

    ``metrics`` is a Lift ``Metrics`` sink or a Powertools ``Metrics``; by default the
    app's sink (``ctx.metrics``, EMF), which the app flushes once per invocation. Any
    other sink is flushed by this middleware at the end of each event. Exceptions are
    counted and re-raised for the app (or an outer middleware) to turn into a response.
    There are no gauges and no background work; a failure to record is logged and
    never fails the event.
    """
    sink: Metrics | None
    if metrics is None:
        sink = None
    elif is_powertools_metrics(metrics):
        sink = PowertoolsMetricsAdapter(metrics)
    else:
        sink = metrics

    def middleware(handler: Handler) -> Handler:
        def measured(ctx: Context) -> Any:
            if not ctx.is_websocket:
                return handler(ctx)
            start = time.perf_counter()
            try:
                result = handler(ctx)
            except Exception as exc:
                status, error_type = error_of(exc)
                _record(sink, ctx, status, error_type, start)
                raise
            status, maybe_error = outcome_of(result, ctx)
            _record(sink, ctx, status, maybe_error, start)
            return result

        return measured

    return middleware


def _record(
    sink: Metrics | None, ctx: Context, status: int, error_type: str | None, start: float
) -> None:
    latency_ms = round((time.perf_counter() - start) * 1000, 3)
    try:
        if sink is None:
            target = ctx.metrics
        else:  # this event's own buffer, so a concurrent event's values never join its flush
            scoped = getattr(sink, "for_invocation", None)
            target = scoped() if scoped is not None else sink
        request = ctx.request
        event_type = request.method
        dims = {"route_key": request.route_key, "event_type": event_type}
        target.add("websocket.requests", 1, "Count", dims)
        target.add("websocket.latency", latency_ms, "Milliseconds", dims)
        if error_type is not None:
            target.add("websocket.errors", 1, "Count", {**dims, "error_type": error_type})
        if event_type == "CONNECT":
            if 200 <= status < 300:
                target.add("websocket.connections.new", 1, "Count", dims)
        elif event_type == "DISCONNECT":
            target.add("websocket.connections.closed", 1, "Count", dims)
        elif event_type == "MESSAGE":
            target.add("websocket.messages", 1, "Count", dims)
            target.add("websocket.message.size", _body_size(request), "Bytes", dims)
        if sink is not None and sink is not ctx.metrics:
            target.flush()
    except Exception:
        ctx.logger.exception("Could not record WebSocket metrics")


def _body_size(request: Request) -> int:
    try:
        return len(request.body)
    except LiftError:  # a body that claims base64 but is not: count what arrived
        raw = request.event.get("body")
        return len(raw.encode("utf-8", "surrogatepass")) if isinstance(raw, str) else 0
