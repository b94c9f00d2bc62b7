"""The OpenTelemetry backend of the tracing hook (imported only when tracing is on)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = ["OpenTelemetryBackend"]

_PROPAGATOR = TraceContextTextMapPropagator()


def _value(value: Any) -> Any:
    return value if isinstance(value, (str, bool, int, float)) else str(value)


class OpenTelemetryBackend:
    """Spans through an OpenTelemetry ``Tracer`` (the global provider's by default)."""

    def __init__(self, tracer: Any = None) -> None:
        self.tracer = tracer if tracer is not None else trace.get_tracer("lift")

    @contextlib.contextmanager
    def span(
        self,
        name: str,
        attributes: Mapping[str, Any],
        links: Sequence[Mapping[str, str]],
        *,
        root: bool = False,
    ) -> Iterator[Any]:
        """See :meth:`lift.tracing.hook.Backend.span`."""
        linked = []
        for saved in links:
            context = trace.get_current_span(_PROPAGATOR.extract(dict(saved))).get_span_context()
            if context.is_valid:
                linked.append(Link(context))
        with self.tracer.start_as_current_span(
            name,
            kind=SpanKind.SERVER if root else SpanKind.INTERNAL,
            attributes={
                key: _value(value) for key, value in attributes.items() if value is not None
            },
            links=linked,
            record_exception=False,
            set_status_on_exception=False,
        ) as handle:
            yield handle

    def add_links(self, handle: Any, links: Sequence[Mapping[str, str]]) -> None:
        """Link an open span to the traces of ``links`` (carriers)."""
        for saved in links:
            context = trace.get_current_span(_PROPAGATOR.extract(dict(saved))).get_span_context()
            if context.is_valid:
                handle.add_link(context)

    def set_attributes(self, handle: Any, attributes: Mapping[str, Any]) -> None:
        """See :meth:`lift.tracing.hook.Backend.set_attributes`."""
        for key, value in attributes.items():
            if value is not None:
                handle.set_attribute(key, _value(value))

    def record_error(self, handle: Any, error: BaseException, *, expected: bool) -> None:
        """See :meth:`lift.tracing.hook.Backend.record_error`."""
        handle.set_attribute("error.type", type(error).__name__)
        if not expected:
            handle.record_exception(error)
            handle.set_status(Status(StatusCode.ERROR, type(error).__name__))

    def carrier(self) -> dict[str, str]:
        """See :meth:`lift.tracing.hook.Backend.carrier`."""
        saved: dict[str, str] = {}
        _PROPAGATOR.inject(saved)
        return saved
