"""A ``logging.Formatter`` that writes one JSON object per record.

Lift's own records, botocore's and the application's go through the same stdlib
``logging`` pipeline; with this formatter on a handler they all come out as the same
JSON lines: ``timestamp`` (UTC, milliseconds, from the record's one clock read),
``level``, ``message``, ``logger`` (for records not from ``lift``), the record's
fields (redacted) and, for an exception, ``exception_type`` and ``traceback``.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from typing import Any

from .redaction import redact

__all__ = ["FIELDS_ATTRIBUTE", "JSONFormatter", "StdoutHandler", "configure_logging"]

FIELDS_ATTRIBUTE = "lift_fields"
"""The ``LogRecord`` attribute holding the fields of a ``JSONLogger`` call."""

# Attributes every LogRecord has; anything else on a record came through ``extra=``.
_RECORD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()
    | {"message", "asctime", "taskName", FIELDS_ATTRIBUTE}
)


def format_timestamp(created: float) -> str:
    """``created`` (epoch seconds) as ``YYYY-MM-DDTHH:MM:SS.mmmZ``, from that one value."""
    seconds = int(created)
    millis = min(int((created - seconds) * 1000), 999)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


class JSONFormatter(logging.Formatter):
    """Formats a ``LogRecord`` as one JSON line (see the module's description).

    Fields come from a ``JSONLogger`` call and from ``extra=`` of a stdlib call
    (``logging.getLogger("app").info("Paid", extra={"order": 7})``); credential-like
    names are redacted at any depth.
    """

    def format(self, record: logging.LogRecord) -> str:
        """The record as one JSON object."""
        line: dict[str, Any] = {
            "timestamp": format_timestamp(record.created),
            "level": record.levelname,
            "message": record.getMessage(),
        }
        name = record.name
        if name != "lift" and not name.startswith("lift."):
            line["logger"] = name
        extra = {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES}
        if extra:
            line.update(redact(extra))
        fields = getattr(record, FIELDS_ATTRIBUTE, None)
        if fields:
            line.update(redact(fields))
        if record.exc_info and record.exc_info[0] is not None:
            line["exception_type"] = record.exc_info[0].__name__
            line["traceback"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["traceback"] = record.exc_text
        return json.dumps(line, default=str, ensure_ascii=False)

    def formatException(self, ei: Any) -> str:
        """The traceback, ending with a newline as ``traceback.format_exc`` does."""
        text = super().formatException(ei)
        return text if text.endswith("\n") else text + "\n"


class StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A ``StreamHandler`` that writes to whatever ``sys.stdout`` is at each record."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    def emit(self, record: logging.LogRecord) -> None:
        """Write ``record`` to the current ``sys.stdout`` (called under the handler lock)."""
        self.stream = sys.stdout
        super().emit(record)


_setup_lock = threading.Lock()
_configured = False
_LIFT = logging.getLogger("lift")


def lift_logger() -> logging.Logger:
    """The ``lift`` logger, given a JSON stdout handler unless it was configured already.

    When the application configured ``lift`` (a handler on it) or called
    :func:`configure_logging`, nothing is added.
    """
    if not _configured:
        _default_setup(_LIFT)
    return _LIFT


def _default_setup(logger: logging.Logger) -> None:
    global _configured
    with _setup_lock:
        if _configured:
            return
        if not logger.handlers:
            handler = StdoutHandler()
            handler.setFormatter(JSONFormatter())
            logger.addHandler(handler)
            logger.propagate = False  # Lambda's root handler would print the line twice
        _configured = True


def configure_logging(level: int | str = "INFO", *, stream: Any = None) -> logging.Handler:
    """Send every logger (Lift, botocore, the application's) through one JSON handler.

    The root logger gets a handler writing JSON lines to ``stream`` (``sys.stdout`` at
    each record by default) at ``level``, replacing the handlers it had (such as the
    Lambda runtime's); the ``lift`` logger drops its own handler and propagates to it.
    Returns the handler.
    """
    global _configured
    handler: logging.Handler = StdoutHandler() if stream is None else logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger()
    with _setup_lock:
        for old in list(root.handlers):
            root.removeHandler(old)
        root.addHandler(handler)
        root.setLevel(level.upper() if isinstance(level, str) else level)
        lift = logging.getLogger("lift")
        for old in list(lift.handlers):
            if isinstance(old, StdoutHandler):
                lift.removeHandler(old)
        lift.propagate = True
        _configured = True
    return handler
