"""MemoryConnectionStore: a thread-safe, in-process connection store."""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from ..connection import Connection, utc_now

__all__ = ["MemoryConnectionStore"]


def _clone(value: Any) -> Any:
    """A deep copy of JSON-like data (dicts, lists, scalars); much cheaper than deepcopy."""
    if isinstance(value, dict):
        return {key: _clone(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clone(item) for item in value]
    return value


def _copy(connection: Connection) -> Connection:
    """A copy whose claims and metadata share nothing with ``connection``."""
    return replace(
        connection, claims=_clone(connection.claims), metadata=_clone(connection.metadata)
    )


class MemoryConnectionStore:
    """Connections kept in a dict, with user and tenant indexes.

    Safe to share between threads. Records are copied on the way in and out, so
    mutating a saved or returned :class:`Connection` never changes the store. Empty
    ``user_id``/``tenant_id`` are stored as ``None`` (as in the DynamoDB store).
    Naive datetimes are taken as UTC. Expired records are never returned nor counted
    and are dropped as they are found.
    ``clock`` returns the current aware datetime (tests pass their own).
    """

    def __init__(self, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._records: dict[str, Connection] = {}
        self._by_user: dict[str, set[str]] = {}
        self._by_tenant: dict[str, set[str]] = {}
        # (expires_at, connection_id) of every record that has an expiry; entries left
        # behind by overwrites and deletes are skipped when popped.
        self._expiries: list[tuple[datetime, str]] = []

    def save(self, connection: Connection) -> None:
        """Insert or overwrite the record, moving index entries when identity changes."""
        if not connection.connection_id:
            raise ValueError("connection_id must be a non-empty string")
        record = replace(
            _copy(connection),
            user_id=connection.user_id or None,
            tenant_id=connection.tenant_id or None,
            connected_at=_aware(connection.connected_at),
            expires_at=None if connection.expires_at is None else _aware(connection.expires_at),
        )
        with self._lock:
            old = self._records.get(record.connection_id)
            if old is not None:
                self._unindex(old)
            self._records[record.connection_id] = record
            _add(self._by_user, record.user_id, record.connection_id)
            _add(self._by_tenant, record.tenant_id, record.connection_id)
            if record.expires_at is not None:
                heapq.heappush(self._expiries, (record.expires_at, record.connection_id))
                if len(self._expiries) > 2 * len(self._records) + 64:
                    self._rebuild_expiries()

    def get(self, connection_id: str) -> Connection | None:
        """A copy of the record, or ``None`` when absent or expired."""
        with self._lock:
            self._purge_expired()
            record = self._records.get(connection_id)
        # Stored records are replaced, never mutated, so copying outside the lock is safe.
        return None if record is None else _copy(record)

    def delete(self, connection_id: str) -> None:
        """Remove the record; deleting an absent record does nothing."""
        with self._lock:
            record = self._records.pop(connection_id, None)
            if record is not None:
                self._unindex(record)

    def list_by_user(self, user_id: str) -> Iterator[Connection]:
        """Every live connection of ``user_id``, oldest first."""
        return self._list(self._by_user, user_id)

    def list_by_tenant(self, tenant_id: str) -> Iterator[Connection]:
        """Every live connection of ``tenant_id``, oldest first."""
        return self._list(self._by_tenant, tenant_id)

    def count_active(self) -> int:
        """The exact number of live (unexpired) connections."""
        with self._lock:
            self._purge_expired()
            return len(self._records)

    def _list(self, index: dict[str, set[str]], key: str) -> Iterator[Connection]:
        with self._lock:
            self._purge_expired()
            records = [self._records[cid] for cid in index.get(key, ())]
        records.sort(key=lambda r: (r.connected_at, r.connection_id))
        return (_copy(record) for record in records)

    def _unindex(self, record: Connection) -> None:
        _discard(self._by_user, record.user_id, record.connection_id)
        _discard(self._by_tenant, record.tenant_id, record.connection_id)

    def _purge_expired(self) -> None:
        """Drop every record whose ``expires_at`` has passed (lock held)."""
        now = self._clock()
        expiries = self._expiries
        while expiries and expiries[0][0] <= now:
            expires_at, connection_id = heapq.heappop(expiries)
            record = self._records.get(connection_id)
            if record is not None and record.expires_at == expires_at:
                del self._records[connection_id]
                self._unindex(record)

    def _rebuild_expiries(self) -> None:
        self._expiries = [
            (r.expires_at, r.connection_id)
            for r in self._records.values()
            if r.expires_at is not None
        ]
        heapq.heapify(self._expiries)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _add(index: dict[str, set[str]], key: str | None, connection_id: str) -> None:
    if key:
        index.setdefault(key, set()).add(connection_id)


def _discard(index: dict[str, set[str]], key: str | None, connection_id: str) -> None:
    if key and (ids := index.get(key)) is not None:
        ids.discard(connection_id)
        if not ids:
            del index[key]
