"""Pacing fan-out sends: a token bucket per worker process that backs off when throttled."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["Pacer", "pacer_for"]


class Pacer:
    """A token bucket at ``rate`` per second that halves when throttled and creeps back.

    One per worker process and rate; ``take(n)`` sleeps until ``n`` tokens are there.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ceiling = rate
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._tokens = 0.0
        self._stamp = clock()
        self._lock = threading.Lock()

    def take(self, count: int) -> None:
        """Wait for ``count`` tokens (a step may borrow: the debt is waited off first)."""
        with self._lock:
            now = self._clock()
            burst = max(float(count), self.rate / 10)
            self._tokens = min(burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= count
            debt = -self._tokens
        if debt > 0:
            self._sleep(debt / self.rate)

    def throttled(self) -> None:
        """Halve the rate (not below a tenth of the ceiling)."""
        with self._lock:
            self.rate = max(self.ceiling / 10, self.rate / 2)

    def succeeded(self) -> None:
        """Win back a twentieth of the ceiling."""
        with self._lock:
            self.rate = min(self.ceiling, self.rate + self.ceiling / 20)


_pacers: dict[float, Pacer] = {}
_pacers_lock = threading.Lock()


def pacer_for(rate: float) -> Pacer:
    """The process-wide pacer for ``rate``."""
    with _pacers_lock:
        pacer = _pacers.get(rate)
        if pacer is None:
            pacer = _pacers[rate] = Pacer(rate)
        return pacer
