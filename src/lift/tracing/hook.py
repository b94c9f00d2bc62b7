"""The tracing hook: child spans and trace carriers for any call site, at no cost when off.

Code that does I/O for an invocation (``@connections`` calls, connection store calls,
channel stores, fan-out shards) opens a span through :func:`span`; nothing is recorded
unless the invocation runs under :class:`lift.tracing.Tracing` (``App(tracing=...)``).
Off, :func:`span` is one context-variable read returning a shared no-op context
manager; nothing here imports OpenTelemetry.

Across invocations a trace continues through a *carrier*, a small ``dict[str, str]``
(W3C ``traceparent``/``tracestate``): :func:`carrier` gives the current one, to save
with work handed to a later invocation (a fan-out shard, a connection record); that
invocation links back to it with ``span(..., links=[carrier])`` or
:func:`shard_span`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, Protocol

__all__ = [
    "CARRIER_KEY",
    "Backend",
    "activate",
    "active",
    "carrier",
    "shard_span",
    "span",
]

CARRIER_KEY = "lift.trace"
"""Where a carrier is kept: connection metadata and fan-out shard bodies use this key."""

Carrier = Mapping[str, str]


class Backend(Protocol):
    """What a tracer must do for Lift (OpenTelemetry and Powertools adapters exist)."""

    def span(
        self,
        name: str,
        attributes: Mapping[str, Any],
        links: Sequence[Carrier],
        *,
        root: bool = False,
    ) -> contextlib.AbstractContextManager[Any]:
        """Open a span (the current one while the block runs); yields a handle for
        :meth:`set_attributes` and :meth:`record_error`."""

    def set_attributes(self, handle: Any, attributes: Mapping[str, Any]) -> None:
        """Add attributes to an open span."""

    def record_error(self, handle: Any, error: BaseException, *, expected: bool) -> None:
        """Mark the span failed (``expected``: an answered client error, not a fault)."""

    def carrier(self) -> dict[str, str]:
        """The current trace context as a carrier (``{}`` when there is none)."""


_ACTIVE: ContextVar[Backend | None] = ContextVar("lift_tracing", default=None)
_OFF = contextlib.nullcontext()


def active() -> Backend | None:
    """The tracer of the running invocation, or ``None`` (tracing off)."""
    return _ACTIVE.get()


@contextlib.contextmanager
def activate(backend: Backend) -> Iterator[None]:
    """Make ``backend`` the tracer of the code run in the block (this context only)."""
    token = _ACTIVE.set(backend)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def span(
    name: str,
    attributes: Mapping[str, Any] | None = None,
    *,
    links: Sequence[Carrier] = (),
) -> contextlib.AbstractContextManager[Any]:
    """A child span named ``name`` of the current one; a no-op when tracing is off.

    ``links``: carriers of other traces this work belongs to. An exception leaving the
    block marks the span failed and propagates.
    """
    backend = _ACTIVE.get()
    if backend is None:
        return _OFF
    return _child(backend, name, attributes or {}, links)


@contextlib.contextmanager
def _child(
    backend: Backend, name: str, attributes: Mapping[str, Any], links: Sequence[Carrier]
) -> Iterator[Any]:
    with backend.span(name, attributes, links) as handle:
        try:
            yield handle
        except BaseException as exc:
            backend.record_error(handle, exc, expected=False)
            raise


def carrier() -> dict[str, str]:
    """The current trace context to save with later work; ``{}`` when tracing is off."""
    backend = _ACTIVE.get()
    return backend.carrier() if backend is not None else {}


def shard_span(
    shard: Mapping[str, Any], attributes: Mapping[str, Any] | None = None
) -> contextlib.AbstractContextManager[Any]:
    """The span of one fan-out shard, linked to the invocation that published it.

    ``shard`` is the shard's body; the publisher put :func:`carrier` under
    :data:`CARRIER_KEY` in it.
    """
    saved = shard.get(CARRIER_KEY) if isinstance(shard, Mapping) else None
    links: list[Carrier] = [saved] if saved is not None and _is_carrier(saved) else []
    return span("lift.fanout.shard", attributes, links=links)


def _is_carrier(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and 0 < len(value) <= 8
        and all(
            isinstance(k, str) and isinstance(v, str) and len(v) <= 512 for k, v in value.items()
        )
    )
