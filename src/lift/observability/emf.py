"""CloudWatch Embedded Metric Format: metrics written as structured log lines."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, TextIO

__all__ = ["EMFMetrics", "build_documents"]

_Key = tuple[tuple[str, str], ...]


def build_documents(
    namespace: str,
    buffered: dict[_Key, dict[str, tuple[str, list[float]]]],
    timestamp_ms: int,
) -> list[dict[str, Any]]:
    """One EMF document per dimension set, each holding every metric recorded with it."""
    documents = []
    for key, metrics in buffered.items():
        dimensions = dict(key)
        document: dict[str, Any] = {
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [
                    {
                        "Namespace": namespace,
                        "Dimensions": [list(dimensions)],
                        "Metrics": [
                            {"Name": name, "Unit": unit} for name, (unit, _) in metrics.items()
                        ],
                    }
                ],
            },
            **dimensions,
        }
        for name, (_, values) in metrics.items():
            document[name] = values[0] if len(values) == 1 else values
        documents.append(document)
    return documents


class EMFMetrics:
    """Buffers metrics and writes them as EMF JSON lines on :meth:`flush`.

    CloudWatch turns each line into metrics, with no API call and no background thread.
    ``namespace`` defaults to ``LIFT_METRICS_NAMESPACE`` or ``"Lift"``.
    """

    def __init__(
        self,
        namespace: str | None = None,
        stream: TextIO | None = None,
        default_dimensions: dict[str, str] | None = None,
    ) -> None:
        self.namespace = namespace or os.environ.get("LIFT_METRICS_NAMESPACE") or "Lift"
        self._stream = stream
        self._defaults = dict(default_dimensions or {})
        self._buffer: dict[_Key, dict[str, tuple[str, list[float]]]] = {}

    def add(
        self,
        name: str,
        value: float,
        unit: str = "Count",
        dimensions: dict[str, str] | None = None,
    ) -> None:
        """Buffer one value of ``name`` under ``dimensions``."""
        merged = {**self._defaults, **dimensions} if dimensions else self._defaults
        key: _Key = tuple(sorted((str(k), str(v)) for k, v in merged.items()))
        metrics = self._buffer.setdefault(key, {})
        entry = metrics.get(name)
        if entry is None:
            metrics[name] = (unit, [value])
        else:
            entry[1].append(value)

    def flush(self) -> None:
        """Write the buffered metrics (nothing when none were added)."""
        if not self._buffer:
            return
        buffered, self._buffer = self._buffer, {}
        stream = self._stream if self._stream is not None else sys.stdout
        for document in build_documents(self.namespace, buffered, int(time.time() * 1000)):
            stream.write(json.dumps(document, separators=(",", ":")) + "\n")
        stream.flush()
