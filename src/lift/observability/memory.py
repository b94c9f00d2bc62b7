"""An in-memory metrics sink for tests."""

from __future__ import annotations

import threading
from typing import NamedTuple

__all__ = ["MemoryMetrics", "MetricRecord"]


class MetricRecord(NamedTuple):
    """One recorded value."""

    name: str
    value: float
    unit: str
    dimensions: dict[str, str]


class MemoryMetrics:
    """Keeps every value; ``flushes`` counts calls to :meth:`flush`."""

    def __init__(self) -> None:
        self.records: list[MetricRecord] = []
        self.flushes = 0
        self._lock = threading.Lock()

    def add(
        self,
        name: str,
        value: float,
        unit: str = "Count",
        dimensions: dict[str, str] | None = None,
    ) -> None:
        """Record one value."""
        with self._lock:
            self.records.append(MetricRecord(name, value, unit, dict(dimensions or {})))

    def flush(self) -> None:
        """Count the flush; values are kept for assertions."""
        self.flushes += 1

    def values(self, name: str, **dimensions: str) -> list[float]:
        """Values of ``name`` whose dimensions include ``dimensions``."""
        return [
            r.value
            for r in self.records
            if r.name == name and all(r.dimensions.get(k) == v for k, v in dimensions.items())
        ]

    def total(self, name: str, **dimensions: str) -> float:
        """Sum of :meth:`values`."""
        return sum(self.values(name, **dimensions))

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self.records.clear()
            self.flushes = 0
