"""An in-memory ``@connections`` Management API for tests.

:class:`FakeManagementAPI` implements :class:`lift.websocket.management.ManagementAPI`.
Install it as ``app.management_api`` and every ``send``/``broadcast``/``disconnect``/
``connection_info`` of the app lands here instead of AWS. Each open connection has an
:class:`Inbox` that receives what is posted to it. Unknown and closed connections
answer :class:`~lift.websocket.errors.ConnectionGoneError`, as API Gateway answers
``GoneException`` (410). Safe to call from many threads (broadcasts post from a pool).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ..websocket.errors import ConnectionGoneError, PayloadTooLargeError
from ..websocket.payload import MAX_PAYLOAD_BYTES

__all__ = ["SERVER_CLOSE_CODE", "SERVER_CLOSE_REASON", "FakeManagementAPI", "Inbox"]

SERVER_CLOSE_CODE = 1000
"""The close code API Gateway reports on ``$disconnect`` after ``DeleteConnection``."""

SERVER_CLOSE_REASON = "Connection Closed Normally"
"""The close reason API Gateway reports on ``$disconnect`` after ``DeleteConnection``."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


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


class FakeManagementAPI:
    """In-memory ``PostToConnection``/``GetConnection``/``DeleteConnection``.

    ``open()`` registers a connection (the test client does it once ``$connect`` is
    accepted, so, as on AWS, posting during ``$connect`` is answered Gone);
    ``inbox(id)`` reads what was posted. ``on_delete`` is called with the id after a
    ``DeleteConnection`` closed a connection (outside any lock). ``calls`` records
    ``(operation, connection_id)`` for every Management API call, in order.
    """

    def __init__(self, *, on_delete: Callable[[str], None] | None = None) -> None:
        self.on_delete = on_delete
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._records: dict[str, _Record] = {}

    # -- connections -------------------------------------------------------------
    def open(
        self,
        connection_id: str,
        *,
        source_ip: str = "127.0.0.1",
        user_agent: str = "testclient",
        connected_at: datetime | None = None,
    ) -> Inbox:
        """Register an open connection and return its (new) inbox."""
        moment = connected_at or _now()
        record = _Record(Inbox(connection_id), source_ip, user_agent, moment, moment)
        with self._lock:
            self._records[connection_id] = record
        return record.inbox

    def close(self, connection_id: str, code: int = 1000, reason: str = "") -> bool:
        """Close a connection from the client side; ``False`` if unknown or closed."""
        with self._lock:
            record = self._records.get(connection_id)
        return record is not None and record.inbox.close(code, reason)

    def is_open(self, connection_id: str) -> bool:
        """Whether ``connection_id`` is open."""
        with self._lock:
            record = self._records.get(connection_id)
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

    def touch(self, connection_id: str) -> None:
        """Mark the connection active now (the client sent something)."""
        with self._lock:
            record = self._records.get(connection_id)
            if record is not None:
                record.last_active_at = _now()

    def deliver(self, connection_id: str, data: bytes) -> bool:
        """Put a frame in the inbox without a Management API call (a route response).

        ``False`` when the connection is unknown or closed.
        """
        with self._lock:
            record = self._records.get(connection_id)
        return record is not None and record.inbox.put(data)

    # -- the Management API ------------------------------------------------------
    def _open_record(self, operation: str, connection_id: str) -> _Record:
        with self._lock:
            self.calls.append((operation, connection_id))
            record = self._records.get(connection_id)
        if record is None or record.inbox.closed:
            raise ConnectionGoneError(connection_id)
        return record

    def post_to_connection(self, connection_id: str, data: bytes) -> None:
        """Deliver ``data`` to the connection's inbox."""
        payload = bytes(data)
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise PayloadTooLargeError(len(payload), MAX_PAYLOAD_BYTES)
        record = self._open_record("post_to_connection", connection_id)
        if not record.inbox.put(payload):  # closed between the check and the put
            raise ConnectionGoneError(connection_id)
        with self._lock:
            record.last_active_at = _now()

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
        if self.on_delete is not None:
            self.on_delete(connection_id)

    def __repr__(self) -> str:
        return f"<FakeManagementAPI open={len(self.open_connections())}>"
