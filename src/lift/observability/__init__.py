"""Logging and metrics: protocols, a JSON logger over stdlib ``logging``, CloudWatch EMF
and an in-memory sink.

``JSONFormatter`` and ``configure_logging`` are loaded on first use, so importing this
package does not import ``logging``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .._lazy import lazy_attributes
from .emf import EMFMetrics, InvocationMetrics
from .logger import JSONLogger
from .memory import MemoryMetrics

if TYPE_CHECKING:
    from .formatter import JSONFormatter, configure_logging

__all__ = [
    "EMFMetrics",
    "InvocationMetrics",
    "JSONFormatter",
    "JSONLogger",
    "Logger",
    "MemoryMetrics",
    "Metrics",
    "configure_logging",
    "default_logger",
    "default_metrics",
]


__getattr__ = lazy_attributes(
    __name__, {"JSONFormatter": ".formatter", "configure_logging": ".formatter"}
)


@runtime_checkable
class Logger(Protocol):
    """A structured logger: a message plus fields."""

    def debug(self, message: str, **fields: Any) -> None: ...
    def info(self, message: str, **fields: Any) -> None: ...
    def warning(self, message: str, **fields: Any) -> None: ...
    def error(self, message: str, **fields: Any) -> None: ...
    def exception(self, message: str, **fields: Any) -> None:
        """Log at ERROR with the current exception's traceback."""

    def bind(self, **fields: Any) -> Logger:
        """A logger that adds ``fields`` to every line."""


@runtime_checkable
class Metrics(Protocol):
    """A metrics sink; values are buffered and written by :meth:`flush`."""

    def add(
        self,
        name: str,
        value: float,
        unit: str = "Count",
        dimensions: dict[str, str] | None = None,
    ) -> None: ...

    def flush(self) -> None:
        """Write what was buffered (once per invocation).

        A sink may also have ``for_invocation()``, returning a sink with its own buffer;
        the app then gives each invocation one as ``ctx.metrics`` and flushes it at the
        end, so concurrent invocations never share a flush.
        """


_logger: JSONLogger | None = None
_metrics: EMFMetrics | None = None


def default_logger() -> JSONLogger:
    """The process-wide JSON logger."""
    global _logger
    if _logger is None:
        _logger = JSONLogger()
    return _logger


def default_metrics() -> EMFMetrics:
    """The process-wide EMF metrics writer (namespace from ``LIFT_METRICS_NAMESPACE``)."""
    global _metrics
    if _metrics is None:
        _metrics = EMFMetrics()
    return _metrics
