"""The one in-memory ``@connections`` table: API Gateway's view of its open connections.

:class:`ConnectionTable` implements :class:`lift.websocket.management.ManagementAPI`
(``post_to_connection``/``get_connection``/``delete_connection``, raising
``ConnectionGoneError`` for an unknown or closed connection and
``PayloadTooLargeError`` over 128 KiB) and, for the HTTP ``@connections`` endpoint, the
registry form of the same operations (``post``/``info``/``delete`` answering
``False``/``None`` instead of raising). Each open connection has an :class:`Inbox` of the
frames delivered to it. It holds no sockets: a driver reads the inbox, or is told of
each delivery and close through ``on_post``/``on_delete``. Thread-safe.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..websocket.errors import ConnectionGoneError, PayloadTooLargeError
from .limits import CLOSE_REASONS, MAX_FRAME_BYTES, CloseCode

__all__ = [
    "SERVER_CLOSE_CODE",
    "SERVER_CLOSE_REASON",
    "ConnectionTable",
    "Inbox",
    "connection_info",
    "iso_timestamp",
]

SERVER_CLOSE_CODE = int(CloseCode.NORMAL)
"""The close code API Gateway reports on ``$disconnect`` after ``DeleteConnection``."""

SERVER_CLOSE_REASON = CLOSE_REASONS[CloseCode.NORMAL]
"""The close reason API Gateway reports on ``$disconnect`` after ``DeleteConnection``."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def iso_timestamp(moment: datetime) -> str:
    """``moment`` as API Gateway writes it: UTC, milliseconds, ``Z`` suffix."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def connection_info(
    connected_at: datetime, last_active_at: datetime, source_ip: str, user_agent: str
) -> dict[str, Any]:
    """``GetConnection`` facts in registry form (ISO-8601 timestamps)."""
    return {
        "ConnectedAt": iso_timestamp(connected_at),
        "LastActiveAt": iso_timestamp(last_active_at),
        "Identity": {"SourceIp": source_ip, "UserAgent": user_agent},
    }


class Inbox:
    """What the gateway delivered to one connection, oldest first, plus its close state."""

    def __init__(self, connection_id: str) -> None:
        self.connection_id = connection_id
        self._frames: deque[bytes] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self.close_code: int | None = None
        self.close_reason: str | None = None

    def put(self, data: bytes) -> bool:
        """Append a frame; ``False`` (and nothing kept) when the inbox is closed."""
        with self._cond:
            if self._closed:
                return False
            self._frames.append(bytes(data))
            self._cond.notify_all()
            return True

    def close(self, code: int, reason: str) -> bool:
        """Close the inbox; frames already in it can still be read. ``False`` if closed."""
        with self._cond:
            if self._closed:
                return False
            self._closed = True
            self.close_code = code
            self.close_reason = reason
            self._cond.notify_all()
            return True

    @property
    def closed(self) -> bool:
        """Whether the connection is closed."""
        with self._cond:
            return self._closed

    def get(self, timeout: float | None = 1.0) -> bytes | None:
        """The oldest frame, waiting up to ``timeout`` seconds (``None``: forever).

        Returns ``None`` once the connection is closed and every frame was read;
        raises :class:`TimeoutError` when nothing arrives in time.
        """
        with self._cond:
            ready = self._cond.wait_for(lambda: bool(self._frames) or self._closed, timeout)
            if self._frames:
                return self._frames.popleft()
            if ready:
                return None
        raise TimeoutError(
            f"No message arrived on connection {self.connection_id!r} within {timeout}s"
        )

    def __len__(self) -> int:
        with self._cond:
            return len(self._frames)


@dataclass
class _Record:
    inbox: Inbox
    source_ip: str
    user_agent: str
    connected_at: datetime
    last_active_at: datetime
    history: list[bytes] = field(default_factory=list)


@dataclass(eq=False, repr=False, kw_only=True)
class ConnectionTable:
    """The connections of one WebSocket API and the ``@connections`` operations on them.

    ``open()`` registers a connection (a driver does so once ``$connect`` is accepted,
    so, as on AWS, posting during ``$connect`` is answered Gone). ``on_post(id, data)``
    is called after each frame is delivered and ``on_delete(id)`` after a
    ``DeleteConnection`` closed a connection, both outside the lock. ``calls`` records
    ``(operation, connection_id)`` for every ``ManagementAPI`` call, in order;
    ``deleted`` the ids closed by ``DeleteConnection``. With ``keep_history`` every
    frame delivered is also kept for :meth:`messages` (after the connection closes too).
    A driver that delivers through ``on_post`` and runs for long passes
    ``buffer=False``, ``keep_history=False`` and ``record_calls=False``, so the table
    keeps no frames and no call log at all. ``clock`` gives the time (aware UTC).
    """

    on_delete: Callable[[str], None] | None = None
    on_post: Callable[[str, bytes], None] | None = None
    keep_history: bool = True
    record_calls: bool = True
    buffer: bool = True
    clock: Callable[[], datetime] = _now
    calls: list[tuple[str, str]] = field(default_factory=list, init=False)
    deleted: list[str] = field(default_factory=list, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _records: dict[str, _Record] = field(default_factory=dict, init=False)

    # -- the driver's side ----------------------------------------------------------
    def open(
        self,
        connection_id: str,
        source_ip: str = "127.0.0.1",
        user_agent: str = "testclient",
        *,
        connected_at: datetime | None = None,
    ) -> Inbox:
        """Register (or re-open) an open connection and return its new inbox."""
        moment = connected_at or self.clock()
        record = _Record(Inbox(connection_id), source_ip, user_agent, moment, moment)
        with self._lock:
            self._records[connection_id] = record
        return record.inbox

    def close(self, connection_id: str, code: int = 1000, reason: str = "") -> bool:
        """Close a connection as the client did; ``False`` if unknown or closed."""
        record = self._record(connection_id)
        return record is not None and record.inbox.close(code, reason)

    def forget(self, connection_id: str) -> None:
        """Drop a connection's record (and its history) altogether."""
        with self._lock:
            self._records.pop(connection_id, None)

    def is_open(self, connection_id: str) -> bool:
        """Whether ``connection_id`` is open."""
        record = self._record(connection_id)
        return record is not None and not record.inbox.closed

    def open_connections(self) -> list[str]:
        """The ids of every open connection."""
        with self._lock:
            records = list(self._records.items())
        return [cid for cid, record in records if not record.inbox.closed]

    def inbox(self, connection_id: str) -> Inbox:
        """The inbox of a connection opened here (``KeyError`` when unknown)."""
        with self._lock:
            return self._records[connection_id].inbox

    def messages(self, connection_id: str) -> list[bytes]:
        """Every frame delivered to ``connection_id``, oldest first (``keep_history``)."""
        record = self._record(connection_id)
        if record is None:
            return []
        with self._lock:
            return list(record.history)

    def activity(self, connection_id: str) -> tuple[datetime, datetime] | None:
        """``(connected_at, last_active_at)`` of an open connection, else ``None``."""
        record = self._record(connection_id)
        if record is None or record.inbox.closed:
            return None
        with self._lock:
            return record.connected_at, record.last_active_at

    def touch(self, connection_id: str) -> None:
        """Mark the connection active now (the client sent something)."""
        with self._lock:
            record = self._records.get(connection_id)
            if record is not None:
                record.last_active_at = self.clock()

    def deliver(self, connection_id: str, data: bytes) -> bool:
        """Deliver a frame (a post or a route response); ``False`` when gone.

        The 128 KiB limit is the caller's to check (see :meth:`post_to_connection`).
        """
        record = self._record(connection_id)
        payload = bytes(data)
        if record is None:
            return False
        if not (record.inbox.put(payload) if self.buffer else not record.inbox.closed):
            return False
        with self._lock:
            record.last_active_at = self.clock()
            if self.keep_history:
                record.history.append(payload)
        if self.on_post is not None:
            self.on_post(connection_id, payload)
        return True

    def _record(self, connection_id: str) -> _Record | None:
        with self._lock:
            return self._records.get(connection_id)

    # -- ManagementAPI: typed errors ------------------------------------------------
    def _open_record(self, operation: str, connection_id: str) -> _Record:
        with self._lock:
            if self.record_calls:
                self.calls.append((operation, connection_id))
            record = self._records.get(connection_id)
        if record is None or record.inbox.closed:
            raise ConnectionGoneError(connection_id)
        return record

    def post_to_connection(self, connection_id: str, data: bytes) -> None:
        """Deliver ``data``; ``PayloadTooLargeError`` over 128 KiB (nothing sent)."""
        payload = bytes(data)
        if len(payload) > MAX_FRAME_BYTES:
            raise PayloadTooLargeError(len(payload), MAX_FRAME_BYTES)
        self._open_record("post_to_connection", connection_id)
        if not self.deliver(connection_id, payload):  # closed between check and put
            raise ConnectionGoneError(connection_id)

    def get_connection(self, connection_id: str) -> dict[str, Any]:
        """``ConnectedAt``/``LastActiveAt`` (aware, UTC) and ``Identity``."""
        record = self._open_record("get_connection", connection_id)
        with self._lock:
            return {
                "ConnectedAt": record.connected_at,
                "LastActiveAt": record.last_active_at,
                "Identity": {"SourceIp": record.source_ip, "UserAgent": record.user_agent},
            }

    def delete_connection(self, connection_id: str) -> None:
        """Close the connection as the server (then ``on_delete`` is called)."""
        record = self._open_record("delete_connection", connection_id)
        if not record.inbox.close(SERVER_CLOSE_CODE, SERVER_CLOSE_REASON):
            raise ConnectionGoneError(connection_id)
        with self._lock:
            if self.record_calls:
                self.deleted.append(connection_id)
        if self.on_delete is not None:
            self.on_delete(connection_id)

    # -- the registry form (for the HTTP endpoint) ----------------------------------
    def post(self, connection_id: str, data: bytes) -> bool:
        """Deliver ``data`` to an open connection; ``False`` when it is gone."""
        return self.deliver(connection_id, data)

    def info(self, connection_id: str) -> dict[str, Any] | None:
        """``GetConnection`` facts with ISO-8601 timestamps, or ``None`` when gone."""
        record = self._record(connection_id)
        if record is None or record.inbox.closed:
            return None
        with self._lock:
            return connection_info(
                record.connected_at, record.last_active_at, record.source_ip, record.user_agent
            )

    def delete(self, connection_id: str) -> bool:
        """Close an open connection as the server; ``False`` when it is gone."""
        try:
            self.delete_connection(connection_id)
        except ConnectionGoneError:
            return False
        return True

    def __repr__(self) -> str:
        return f"<ConnectionTable open={len(self.open_connections())}>"
