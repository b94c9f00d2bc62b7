"""A JSON structured logger: one line per record, sensitive fields redacted."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, TextIO

__all__ = ["SENSITIVE_KEYS", "JSONLogger", "redact"]

_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
SENSITIVE_KEYS = frozenset(
    {
        "authorization",
        "token",
        "access_token",
        "id_token",
        "refresh_token",
        "password",
        "secret",
        "cookie",
        "set-cookie",
        "sec-websocket-protocol",
        "x-api-key",
    }
)


def redact(value: Any) -> Any:
    """A copy of ``value`` with sensitive keys (at any depth) replaced by ``"[REDACTED]"``."""
    if isinstance(value, dict):
        return {
            key: "[REDACTED]" if str(key).lower() in SENSITIVE_KEYS else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact(item) for item in value]
    return value


class JSONLogger:
    """Writes one JSON object per line to ``stream`` (stdout by default).

    The level comes from ``level``, else ``LIFT_LOG_LEVEL``, else
    ``AWS_LAMBDA_LOG_LEVEL``, else ``INFO``. Fields named like credentials
    (``authorization``, ``token``...) are redacted.
    """

    __slots__ = ("_fields", "_level", "_stream")

    def __init__(
        self,
        level: str | None = None,
        stream: TextIO | None = None,
        **fields: Any,
    ) -> None:
        name = level or os.environ.get("LIFT_LOG_LEVEL") or os.environ.get("AWS_LAMBDA_LOG_LEVEL")
        self._level = _LEVELS.get((name or "INFO").upper(), 20)
        self._stream = stream
        self._fields = fields

    @property
    def level(self) -> int:
        """The numeric threshold (DEBUG 10 ... CRITICAL 50)."""
        return self._level

    def bind(self, **fields: Any) -> JSONLogger:
        """A logger that adds ``fields`` to every line."""
        child = JSONLogger.__new__(JSONLogger)
        child._level = self._level
        child._stream = self._stream
        child._fields = {**self._fields, **fields}
        return child

    def _write(self, level: str, message: str, fields: dict[str, Any]) -> None:
        if _LEVELS[level] < self._level:
            return
        record: dict[str, Any] = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
            + f".{int(time.time() * 1000) % 1000:03d}Z",
            "level": level,
            "message": message,
        }
        if self._fields:
            record.update(redact(self._fields))
        if fields:
            record.update(redact(fields))
        line = json.dumps(record, default=str, ensure_ascii=False)
        stream = self._stream if self._stream is not None else sys.stdout
        stream.write(line + "\n")
        stream.flush()

    def debug(self, message: str, **fields: Any) -> None:
        """Log at DEBUG."""
        self._write("DEBUG", message, fields)

    def info(self, message: str, **fields: Any) -> None:
        """Log at INFO."""
        self._write("INFO", message, fields)

    def warning(self, message: str, **fields: Any) -> None:
        """Log at WARNING."""
        self._write("WARNING", message, fields)

    def error(self, message: str, **fields: Any) -> None:
        """Log at ERROR."""
        self._write("ERROR", message, fields)

    def exception(self, message: str, **fields: Any) -> None:
        """Log at ERROR with the current exception's type and traceback."""
        import traceback

        exc_type, _, _ = sys.exc_info()
        if exc_type is not None:
            fields["exception_type"] = exc_type.__name__
            fields["traceback"] = traceback.format_exc()
        self._write("ERROR", message, fields)
