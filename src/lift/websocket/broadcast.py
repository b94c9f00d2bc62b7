"""Concurrent fan-out of one payload to many connections, under a deadline."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import TYPE_CHECKING, Any

from .errors import ConnectionGoneError, ManagementTimeoutError
from .results import BroadcastResult

if TYPE_CHECKING:
    from .management import ManagementAPI

__all__ = [
    "DEFAULT_BROADCAST_TIMEOUT",
    "DEFAULT_WORKERS",
    "MAX_WORKERS",
    "BroadcastResult",
    "broadcast",
    "fan_out",
]

DEFAULT_WORKERS = 32
"""Sized for Lambda: enough to hide network latency, few enough for one vCPU's GIL."""

MAX_WORKERS = 64
"""Threads kept for every fan-out of the process together; ``workers`` is capped to it."""

DEFAULT_BROADCAST_TIMEOUT = 20.0
"""Seconds a broadcast may take through an API that sets no deadline of its own."""

_GRACE = 0.25
"""How long past the deadline to wait for sends that are ending on their own."""

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """One bounded pool per process, reused across invocations (threads start lazily)."""
    global _executor
    if _executor is None:
        with _executor_lock:
            if _executor is None:
                _executor = ThreadPoolExecutor(MAX_WORKERS, thread_name_prefix="lift-broadcast")
    return _executor


_WAITING: Any = object()
_SENDING: Any = object()


def fan_out(
    send: Callable[[str], object],
    ids: list[str],
    *,
    workers: int,
    deadline: float,
    inline: bool = False,
) -> list[Exception | None]:
    """Call ``send(id)`` for every id, ``workers`` at a time; one outcome per id.

    Returns by ``deadline`` (a :func:`time.monotonic` time, plus a short grace for
    sends that end on their own): an id whose send had not started by then gets a
    :class:`ManagementTimeoutError` with ``maybe_delivered=False``, one still running
    gets one with ``maybe_delivered=True``. An exception from ``send`` is its outcome.
    ``inline``: a single id is sent from the calling thread (for a ``send`` that is
    bounded by the deadline itself).
    """
    outcomes: list[Any] = [_WAITING] * len(ids)
    cursor = iter(range(len(ids)))
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                index = next(cursor, None)
                if index is None:
                    return
                if time.monotonic() >= deadline:
                    continue  # left as waiting: reported below, never sent
                outcomes[index] = _SENDING
            try:
                send(ids[index])
            except Exception as exc:  # noqa: BLE001 - every failure is reported per id
                outcomes[index] = exc
            else:
                outcomes[index] = None

    if inline and len(ids) == 1:
        worker()
        return [
            ManagementTimeoutError(maybe_delivered=False)
            if outcomes[0] is _WAITING
            else outcomes[0]
        ]
    pool = _pool()
    futures = [pool.submit(worker) for _ in range(max(1, min(workers, MAX_WORKERS, len(ids))))]
    wait_futures(futures, timeout=max(0.0, deadline - time.monotonic()) + _GRACE)
    with lock:
        for future in futures:
            future.cancel()
        for _ in cursor:  # workers stop taking ids
            pass
        result: list[Exception | None] = []
        for outcome in outcomes:
            if outcome is _WAITING:
                result.append(ManagementTimeoutError(maybe_delivered=False))
            elif outcome is _SENDING:
                result.append(ManagementTimeoutError(maybe_delivered=True))
            else:
                result.append(outcome)
    return result


def broadcast(
    api: ManagementAPI,
    connection_ids: Iterable[str],
    payload: bytes,
    *,
    workers: int = DEFAULT_WORKERS,
    deadline: float | None = None,
) -> BroadcastResult:
    """Send ``payload`` (already encoded) to every id, ``workers`` at a time.

    An API with ``post_many`` (:class:`~lift.websocket.management.ManagementClient`)
    fans out under its own retry policy and ``broadcast_timeout``; any other API is
    called from the process's bounded thread pool for at most
    ``DEFAULT_BROADCAST_TIMEOUT`` seconds. ``deadline`` (monotonic, such as the
    Lambda's remaining time) cuts either shorter. One failure never stops the others;
    gone connections are reported in ``gone``, ids not done in time in ``failed``.
    """
    ids = list(dict.fromkeys(connection_ids))
    result = BroadcastResult()
    if not ids:
        return result
    post_many = getattr(api, "post_many", None)
    if post_many is not None:
        outcomes: list[Exception | None] = post_many(
            ids, payload, concurrency=workers, deadline=deadline
        )
    else:
        end = time.monotonic() + DEFAULT_BROADCAST_TIMEOUT
        end = end if deadline is None else min(end, deadline)
        outcomes = fan_out(
            lambda connection_id: api.post_to_connection(connection_id, payload),
            ids,
            workers=workers,
            deadline=end,
        )
    for connection_id, error in zip(ids, outcomes, strict=True):
        if error is None:
            result.delivered.append(connection_id)
        elif isinstance(error, ConnectionGoneError):
            result.gone.append(connection_id)
        else:
            result.failed[connection_id] = error
    return result
