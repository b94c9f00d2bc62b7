"""Logging and metrics: protocols, a JSON logger over stdlib ``logging``, CloudWatch EMF
and an in-memory sink.

Every name is loaded on first use: creating an app builds the default logger and EMF
writer, and imports neither ``logging`` nor the protocols' :mod:`typing` machinery.
"""

from __future__ import annotations

from .._lazy import lazy_attributes

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from .emf import EMFMetrics, InvocationMetrics
    from .formatter import JSONFormatter, configure_logging
    from .logger import JSONLogger
    from .memory import MemoryMetrics
    from .protocols import Logger, Metrics

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
    __name__,
    {
        "EMFMetrics": ".emf",
        "InvocationMetrics": ".emf",
        "JSONFormatter": ".formatter",
        "configure_logging": ".formatter",
        "JSONLogger": ".logger",
        "MemoryMetrics": ".memory",
        "Logger": ".protocols",
        "Metrics": ".protocols",
    },
)

_logger: JSONLogger | None = None
_metrics: EMFMetrics | None = None


def default_logger() -> JSONLogger:
    """The process-wide JSON logger."""
    global _logger
    if _logger is None:
        from .logger import JSONLogger

        _logger = JSONLogger()
    return _logger


def default_metrics() -> EMFMetrics:
    """The process-wide EMF metrics writer (namespace from ``LIFT_METRICS_NAMESPACE``)."""
    global _metrics
    if _metrics is None:
        from .emf import EMFMetrics

        _metrics = EMFMetrics()
    return _metrics
