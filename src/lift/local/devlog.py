"""Readable ``lift dev`` output: the app's JSON log lines as short text, EMF hidden.

In a deployed function every line of stdout is a CloudWatch log record, so Lift writes
JSON logs and EMF documents there. On a developer's terminal that is noise: the
gateway already prints one line per invocation (route, status, milliseconds).
:class:`DevOutput` wraps ``sys.stdout`` in ``lift dev`` and, line by line:

* drops EMF documents (JSON objects with ``_aws``) unless ``metrics`` is set;
* drops Lift's per-request ``Request completed`` lines (the gateway's line says it);
* turns other JSON log lines into ``HH:MM:SS.mmm  LEVEL  message  key=value ...``
  (a traceback follows, indented);
* passes every other line through unchanged.

``lift dev --log-format json`` leaves stdout alone.
"""

from __future__ import annotations

import io
import json
import threading
from typing import Any, TextIO

__all__ = ["DevOutput", "render_line"]

_SKIPPED_FIELDS = frozenset({"timestamp", "level", "message", "traceback", "exception_type"})
_REQUEST_COMPLETED = "Request completed"
_MAX_VALUE = 200


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = text if " " not in text or text.startswith(("{", "[")) else json.dumps(text)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def render_line(line: str, *, metrics: bool = False) -> str | None:
    """The text to show for one line of output (without its newline), or ``None``."""
    if not line.startswith("{"):
        return line
    try:
        record = json.loads(line)
    except ValueError:
        return line
    if not isinstance(record, dict):
        return line
    if "_aws" in record:
        return line if metrics else None
    message, level, stamp = record.get("message"), record.get("level"), record.get("timestamp")
    if not isinstance(message, str) or not isinstance(level, str) or not isinstance(stamp, str):
        return line
    if message == _REQUEST_COMPLETED and "latency_ms" in record and "logger" not in record:
        return None
    clock = stamp[11:23] if len(stamp) >= 23 else stamp
    fields = "  ".join(
        f"{key}={_short(value)}" for key, value in record.items() if key not in _SKIPPED_FIELDS
    )
    text = f"{clock}  {level:<10}  {message}" + (f"  {fields}" if fields else "")
    trace = record.get("traceback")
    if isinstance(trace, str) and trace:
        text += "\n" + "\n".join("    " + part for part in trace.rstrip("\n").splitlines())
    return text


class DevOutput(io.TextIOBase):
    """A text stream that renders complete lines with :func:`render_line` into ``stream``."""

    def __init__(self, stream: TextIO, *, metrics: bool = False) -> None:
        super().__init__()
        self._stream = stream
        self._metrics = metrics
        self._partial = ""
        self._lock = threading.Lock()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        """The wrapped stream's encoding."""
        return getattr(self._stream, "encoding", None) or "utf-8"

    def isatty(self) -> bool:
        """Whether the wrapped stream is a terminal."""
        return self._stream.isatty()

    def fileno(self) -> int:
        """The wrapped stream's file descriptor."""
        return self._stream.fileno()

    def writable(self) -> bool:
        """Always."""
        return True

    def write(self, text: str) -> int:
        """Buffer ``text``; render and write every complete line."""
        with self._lock:
            pending = self._partial + text
            lines = pending.split("\n")
            self._partial = lines.pop()
            shown = [r for r in (render_line(line, metrics=self._metrics) for line in lines)]
            out = "".join(r + "\n" for r in shown if r is not None)
            if out:
                self._stream.write(out)
                self._stream.flush()
        return len(text)

    def flush(self) -> None:
        """Flush the wrapped stream (a partial line stays until its newline)."""
        with self._lock:
            self._stream.flush()
