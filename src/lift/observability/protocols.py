"""The logger and metrics protocols every sink of :mod:`lift.observability` follows."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["Logger", "Metrics"]


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
