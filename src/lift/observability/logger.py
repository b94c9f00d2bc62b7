"""``JSONLogger``: Lift's structured logger, a thin front over stdlib ``logging``.

``logger.info("Sent", connection_id=cid)`` makes one ``LogRecord`` carrying the fields
and hands it to a stdlib logger, so the application's handlers and filters see Lift's
records too, and :class:`~lift.observability.formatter.JSONFormatter` writes them (and
botocore's, and the application's) as the same JSON lines. ``logging`` itself is
imported on the first record, not when Lift is imported.
"""

from __future__ import annotations

import _thread
import os
import sys

from .redaction import SENSITIVE_KEYS, redact

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    import logging
    from typing import Any, TextIO

__all__ = ["SENSITIVE_KEYS", "JSONLogger", "redact"]

_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}


class _Target:
    """The stdlib logger a ``JSONLogger`` and its bound children write to, made once."""

    __slots__ = ("_lock", "_logger", "_spec", "_stream")

    def __init__(self, spec: logging.Logger | str | None, stream: TextIO | None) -> None:
        self._spec = spec
        self._stream = stream
        self._logger: logging.Logger | None = None
        self._lock = _thread.allocate_lock()

    def get(self) -> logging.Logger:
        if self._spec is None and self._stream is None:
            from .formatter import lift_logger  # set up once, unless configured otherwise

            return lift_logger()
        logger = self._logger
        if logger is None:
            with self._lock:
                if self._logger is None:
                    self._logger = self._build()
                logger = self._logger
        return logger

    def _build(self) -> logging.Logger:
        import logging

        from .formatter import JSONFormatter

        spec = self._spec
        if isinstance(spec, logging.Logger):
            return spec
        if isinstance(spec, str):
            return logging.getLogger(spec)
        # A private logger (outside the logging tree) that writes only to this stream.
        private = logging.Logger("lift")
        handler = logging.StreamHandler(self._stream)
        handler.setFormatter(JSONFormatter())
        private.addHandler(handler)
        private.propagate = False
        return private


class JSONLogger:
    """Structured logging: a message plus fields, one JSON object per line.

    By default records go to the stdlib ``lift`` logger, which (unless the application
    configured it) writes JSON lines to stdout. ``stream`` writes to that stream only;
    ``logger`` (a ``logging.Logger`` or a name) hands records to the application's own
    logger and handlers. The level comes from ``level``, else ``LIFT_LOG_LEVEL``, else
    ``AWS_LAMBDA_LOG_LEVEL``, else ``INFO``. Fields named like credentials
    (``authorization``, ``token``...) are redacted; ``**fields`` go on every line.
    """

    __slots__ = ("_fields", "_level", "_target")

    def __init__(
        self,
        level: str | None = None,
        stream: TextIO | None = None,
        *,
        logger: logging.Logger | str | None = None,
        **fields: Any,
    ) -> None:
        name = level or os.environ.get("LIFT_LOG_LEVEL") or os.environ.get("AWS_LAMBDA_LOG_LEVEL")
        self._level = _LEVELS.get((name or "INFO").upper(), 20)
        self._target = _Target(logger, stream)
        self._fields = fields

    @property
    def level(self) -> int:
        """The numeric threshold (DEBUG 10 ... CRITICAL 50)."""
        return self._level

    @property
    def stdlib_logger(self) -> logging.Logger:
        """The ``logging.Logger`` records are handed to."""
        return self._target.get()

    def bind(self, **fields: Any) -> JSONLogger:
        """A logger that adds ``fields`` to every line."""
        child = JSONLogger.__new__(JSONLogger)
        child._level = self._level
        child._target = self._target
        child._fields = {**self._fields, **fields}
        return child

    def _write(
        self, level: int, message: str, fields: dict[str, Any], exc_info: Any = None
    ) -> None:
        if level < self._level:
            return
        logger = self._target.get()
        merged = {**self._fields, **fields} if self._fields else fields
        record = logger.makeRecord(
            logger.name, level, "", 0, message, (), exc_info, None, {"lift_fields": merged}
        )
        logger.handle(record)

    def debug(self, message: str, **fields: Any) -> None:
        """Log at DEBUG."""
        self._write(10, message, fields)

    def info(self, message: str, **fields: Any) -> None:
        """Log at INFO."""
        self._write(20, message, fields)

    def warning(self, message: str, **fields: Any) -> None:
        """Log at WARNING."""
        self._write(30, message, fields)

    def error(self, message: str, **fields: Any) -> None:
        """Log at ERROR."""
        self._write(40, message, fields)

    def exception(self, message: str, **fields: Any) -> None:
        """Log at ERROR with the current exception's type and traceback."""
        exc_info = sys.exc_info()
        self._write(40, message, fields, exc_info if exc_info[0] is not None else None)
