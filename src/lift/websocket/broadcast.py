"""Concurrent fan-out of one payload to many connections."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import ConnectionGoneError

if TYPE_CHECKING:
    from .management import ManagementAPI

__all__ = ["DEFAULT_WORKERS", "BroadcastResult", "broadcast"]

DEFAULT_WORKERS = 32
"""Sized for Lambda: enough to hide network latency, few enough for one vCPU's GIL."""

_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


@dataclass
class BroadcastResult:
    """What happened to each connection of a broadcast."""

    delivered: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    failed: dict[str, Exception] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether nothing failed (gone connections are not failures)."""
        return not self.failed

    @property
    def total(self) -> int:
        """How many connections were addressed."""
        return len(self.delivered) + len(self.gone) + len(self.failed)


def _pool(workers: int) -> ThreadPoolExecutor:
    """One pool per size per process, reused across invocations."""
    pool = _pools.get(workers)
    if pool is None:
        with _pools_lock:
            pool = _pools.get(workers)
            if pool is None:
                pool = ThreadPoolExecutor(workers, thread_name_prefix="lift-broadcast")
                _pools[workers] = pool
    return pool


def broadcast(
    api: ManagementAPI,
    connection_ids: Iterable[str],
    payload: bytes,
    *,
    workers: int = DEFAULT_WORKERS,
) -> BroadcastResult:
    """Send ``payload`` (already encoded) to every id, ``workers`` at a time.

    An API with ``post_many`` (:class:`~lift.websocket.management.ManagementClient`)
    fans out on its event loop; others are called from a thread pool kept per process.
    One failure never stops the others; gone connections are reported in ``gone``.
    """
    ids = list(dict.fromkeys(connection_ids))
    result = BroadcastResult()
    if not ids:
        return result

    def send(connection_id: str) -> Exception | None:
        try:
            api.post_to_connection(connection_id, payload)
        except Exception as exc:  # noqa: BLE001 - every failure is reported per connection
            return exc
        return None

    post_many = getattr(api, "post_many", None)
    if len(ids) == 1:
        outcomes = [send(ids[0])]
    elif post_many is not None:
        outcomes = post_many(ids, payload, concurrency=workers)
    else:
        outcomes = list(_pool(max(1, min(workers, len(ids)))).map(send, ids))
    for connection_id, error in zip(ids, outcomes, strict=True):
        if error is None:
            result.delivered.append(connection_id)
        elif isinstance(error, ConnectionGoneError):
            result.gone.append(connection_id)
        else:
            result.failed[connection_id] = error
    return result
