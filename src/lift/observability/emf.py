"""CloudWatch Embedded Metric Format: metrics written as structured log lines.

CloudWatch takes at most 100 metrics per document, 100 values per metric and 30
dimensions per dimension set. Buffers are split over as many documents as needed, so
nothing is dropped; a dimension set over 30 is refused when the value is added. Each
invocation buffers into its own :class:`InvocationMetrics` (``ctx.metrics``), so two
concurrent invocations never share a document; the writer is thread-safe.
"""

from __future__ import annotations

import _thread
import json
import os
import sys
import time
from abc import ABC, abstractmethod

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    import threading
    from typing import Any, TextIO

__all__ = [
    "MAX_DIMENSIONS",
    "MAX_METRICS",
    "MAX_VALUES",
    "EMFMetrics",
    "InvocationMetrics",
    "build_documents",
]

MAX_METRICS = 100
"""Metrics per EMF document."""
MAX_VALUES = 100
"""Values of one metric per EMF document."""
MAX_DIMENSIONS = 30
"""Dimensions per dimension set."""

_Key = tuple[tuple[str, str], ...]
_Buffer = dict[_Key, dict[str, tuple[str, list[float]]]]


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def build_documents(namespace: str, buffered: _Buffer, timestamp_ms: int) -> list[dict[str, Any]]:
    """EMF documents for ``buffered``, each within CloudWatch's limits.

    One document per dimension set when it fits; otherwise the set's metrics are spread
    over documents of at most 100 metrics, and a metric with more than 100 values is
    continued in further documents.
    """
    documents = []
    for key, metrics in buffered.items():
        dimensions = dict(key)
        rounds = max(-(-len(values) // MAX_VALUES) for _, values in metrics.values())
        for index in range(rounds):
            window = slice(index * MAX_VALUES, (index + 1) * MAX_VALUES)
            present = [
                (name, unit, values[window])
                for name, (unit, values) in metrics.items()
                if values[window]
            ]
            for group in _chunks(present, MAX_METRICS):
                document: dict[str, Any] = {
                    "_aws": {
                        "Timestamp": timestamp_ms,
                        "CloudWatchMetrics": [
                            {
                                "Namespace": namespace,
                                "Dimensions": [list(dimensions)],
                                "Metrics": [
                                    {"Name": name, "Unit": unit} for name, unit, _ in group
                                ],
                            }
                        ],
                    },
                    **dimensions,
                }
                for name, _, values in group:
                    document[name] = values[0] if len(values) == 1 else values
                documents.append(document)
    return documents


def _add(
    buffer: _Buffer,
    defaults: dict[str, str],
    name: str,
    value: float,
    *,
    unit: str,
    dimensions: dict[str, str] | None,
) -> None:
    """Check one value and add it to ``buffer`` (the caller holds the buffer's lock)."""
    if not isinstance(name, str) or not name:
        raise ValueError("A metric name must be a non-empty string")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value):
        raise ValueError(f"Metric {name!r}: the value must be a finite number, not {value!r}")
    merged = {**defaults, **dimensions} if dimensions else defaults
    if name == "_aws" or name in merged:
        raise ValueError(f"Metric {name!r}: the name is taken by the document's metadata")
    if len(merged) > MAX_DIMENSIONS:
        raise ValueError(
            f"Metric {name!r}: {len(merged)} dimensions, CloudWatch takes {MAX_DIMENSIONS}"
        )
    key: _Key = tuple(sorted((str(k), str(v)) for k, v in merged.items()))
    metrics = buffer.setdefault(key, {})
    entry = metrics.get(name)
    if entry is None:
        metrics[name] = (unit, [value])
    else:
        entry[1].append(value)


def _finite(value: float) -> bool:
    """``math.isfinite`` without loading :mod:`math` (inf - inf and nan - nan are nan)."""
    number = float(value)
    return number - number == 0.0


class _Buffered(ABC):
    """``add`` checks a value into a locked buffer; ``flush`` hands the buffer to ``write``."""

    __slots__ = ("_buffer", "_defaults", "_lock")
    _buffer: _Buffer
    _defaults: dict[str, str]
    _lock: threading.Lock

    def add(
        self,
        name: str,
        value: float,
        unit: str = "Count",
        dimensions: dict[str, str] | None = None,
    ) -> None:
        """Buffer one value of ``name`` under ``dimensions``.

        ``ValueError`` for an empty name, a value that is not a finite number, or more
        than 30 dimensions (with the defaults).
        """
        with self._lock:
            _add(self._buffer, self._defaults, name, value, unit=unit, dimensions=dimensions)

    def flush(self) -> None:
        """Write the buffered metrics (nothing when none were added)."""
        if not self._buffer:  # unlocked peek: the common, empty case costs no lock
            return
        with self._lock:
            buffered, self._buffer = self._buffer, {}
        self.write(buffered)

    @abstractmethod
    def write(self, buffered: _Buffer) -> None:
        """Write ``buffered`` as EMF documents."""


class EMFMetrics(_Buffered):
    """Buffers metrics and writes them as EMF JSON lines on :meth:`flush`.

    CloudWatch turns each line into metrics, with no API call and no background thread.
    ``namespace`` defaults to ``LIFT_METRICS_NAMESPACE`` or ``"Lift"``. ``add`` and
    ``flush`` are thread-safe; :meth:`for_invocation` gives one invocation its own
    buffer (the app does this for ``ctx.metrics``).
    """

    def __init__(
        self,
        namespace: str | None = None,
        stream: TextIO | None = None,
        default_dimensions: dict[str, str] | None = None,
    ) -> None:
        self.namespace = namespace or os.environ.get("LIFT_METRICS_NAMESPACE") or "Lift"
        self._stream = stream
        self._defaults = {str(k): str(v) for k, v in (default_dimensions or {}).items()}
        if len(self._defaults) > MAX_DIMENSIONS:
            raise ValueError(f"At most {MAX_DIMENSIONS} default dimensions")
        self._buffer = {}
        self._lock = _thread.allocate_lock()
        self._write_lock = _thread.allocate_lock()

    def for_invocation(self) -> InvocationMetrics:
        """A buffer for one invocation, written through this writer when flushed."""
        return InvocationMetrics(self)

    def write(self, buffered: _Buffer) -> None:
        """Write ``buffered`` as EMF documents, all at once (lines never interleave)."""
        if not buffered:
            return
        documents = build_documents(self.namespace, buffered, int(time.time() * 1000))
        text = "".join(json.dumps(d, separators=(",", ":")) + "\n" for d in documents)
        with self._write_lock:
            stream = self._stream if self._stream is not None else sys.stdout
            stream.write(text)
            stream.flush()


class InvocationMetrics(_Buffered):
    """One invocation's metrics: its own buffer, written by a shared :class:`EMFMetrics`."""

    __slots__ = ("writer",)

    def __init__(self, writer: EMFMetrics) -> None:
        self.writer = writer
        self._defaults = writer._defaults
        self._buffer = {}
        self._lock = _thread.allocate_lock()  # a handler may add from its own threads

    @property
    def namespace(self) -> str:
        """The writer's namespace."""
        return self.writer.namespace

    def write(self, buffered: _Buffer) -> None:
        """Write ``buffered`` through the shared writer."""
        self.writer.write(buffered)

    def for_invocation(self) -> InvocationMetrics:
        """A fresh buffer on the same writer."""
        return InvocationMetrics(self.writer)
