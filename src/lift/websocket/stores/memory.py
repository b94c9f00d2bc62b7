"""MemoryConnectionStore: a thread-safe, in-process connection store."""

from __future__ import annotations

import bisect
import heapq
import json
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from ...errors import LiftError
from ..channel import ChannelMessage, Member
from ..connection import Connection, as_utc, check_connection_id, utc_now

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
    """Connections, channel subscriptions and channel history kept in dicts.

    Safe to share between threads. Records are copied on the way in and out, so
    mutating a saved or returned :class:`Connection` never changes the store. Empty
    ``user_id``/``tenant_id`` are stored as ``None`` (as in the DynamoDB store).
    Naive datetimes are taken as UTC. Expired records are never returned nor counted
    and are dropped as they are found.
    ``clock`` returns the current aware datetime (tests pass their own).

    It is also a :class:`~lift.websocket.channel.ChannelStore`: subscriptions are kept
    per ``(tenant, channel)`` and per connection, sequence numbers are assigned under the
    lock, and ``delete`` removes a connection from every channel.
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
        self._members: dict[tuple[str, str], dict[str, Member]] = {}
        self._channels_of: dict[str, set[tuple[str, str]]] = {}
        self._history: dict[tuple[str, str], deque[tuple[ChannelMessage, datetime]]] = {}
        self._seq: dict[tuple[str, str], int] = {}

    def save(self, connection: Connection) -> None:
        """Insert or overwrite the record, moving index entries when identity changes."""
        check_connection_id(connection.connection_id)
        record = replace(
            _copy(connection),
            user_id=connection.user_id or None,
            tenant_id=connection.tenant_id or None,
            connected_at=as_utc(connection.connected_at),
            expires_at=None if connection.expires_at is None else as_utc(connection.expires_at),
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
        """Remove the record and its subscriptions; deleting an absent record does nothing."""
        self.remove_connection(connection_id)

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

    # -- ChannelStore ----------------------------------------------------------------

    def subscribe(
        self, connection: Connection, channel: str, metadata: dict[str, Any]
    ) -> tuple[Member, bool]:
        """Subscribe the connection in its tenant; the member and whether it is new.

        The connection's record must be live (409 ``NOT_CONNECTED`` otherwise).
        """
        check_connection_id(connection.connection_id)
        key = (connection.tenant_id or "", channel)
        member = Member(
            connection_id=connection.connection_id,
            user_id=connection.user_id or None,
            joined_at=self._clock(),
            metadata=_clone(_json_object(metadata)),
            channel=channel,
            tenant_id=connection.tenant_id or None,
            expires_at=None if connection.expires_at is None else as_utc(connection.expires_at),
        )
        with self._lock:
            self._purge_expired()
            if member.connection_id not in self._records:
                raise LiftError(
                    409, "NOT_CONNECTED", "This connection is not in the connection store"
                )
            members = self._members.setdefault(key, {})
            old = members.get(member.connection_id)
            if old is not None:
                member.joined_at = old.joined_at
            members[member.connection_id] = member
            self._channels_of.setdefault(member.connection_id, set()).add(key)
        return _copy_member(member), old is None

    def unsubscribe(self, connection_id: str, tenant_id: str | None, channel: str) -> Member | None:
        """Remove one subscription; the member removed, if any."""
        key = (tenant_id or "", channel)
        with self._lock:
            member = self._drop_member(key, connection_id)
        return None if member is None else _copy_member(member)

    def channels_of(self, connection_id: str) -> list[str]:
        """The live channels of the connection, sorted."""
        now = self._clock()
        with self._lock:
            return sorted(
                key[1]
                for key in self._channels_of.get(connection_id, ())
                if not self._members[key][connection_id].is_expired(now)
            )

    def members(
        self, tenant_id: str | None, channel: str, *, expired: list[Member] | None = None
    ) -> Iterator[Member]:
        """Live subscribers, first joined first; expired ones go to ``expired``."""
        now = self._clock()
        with self._lock:
            found = list(self._members.get((tenant_id or "", channel), {}).values())
        found.sort(key=lambda m: (m.joined_at, m.connection_id))
        live = []
        for member in found:
            if member.is_expired(now):
                if expired is not None:
                    expired.append(_copy_member(member))
            else:
                live.append(member)
        return (_copy_member(member) for member in live)

    def member_ids(
        self, tenant_id: str | None, channel: str, *, expired: list[str] | None = None
    ) -> Iterator[str]:
        """Ids of live subscribers; expired ones go to ``expired``."""
        now = self._clock()
        with self._lock:
            found = list(self._members.get((tenant_id or "", channel), {}).values())
        live = []
        for member in found:
            if not member.is_expired(now):
                live.append(member.connection_id)
            elif expired is not None:
                expired.append(member.connection_id)
        return iter(live)

    def member_ids_page(
        self, tenant_id: str | None, channel: str, cursor: str | None, limit: int
    ) -> tuple[list[str], str | None]:
        """Live subscriber ids in id order after ``cursor`` (the last id of a page)."""
        ids = sorted(self.member_ids(tenant_id, channel))
        start = bisect.bisect_right(ids, cursor) if cursor is not None else 0
        page = ids[start : start + max(1, limit)]
        more = start + len(page) < len(ids)
        return page, (page[-1] if more and page else None)

    def remove_connection(self, connection_id: str) -> list[Member]:
        """Delete the record and every subscription; the members removed."""
        with self._lock:
            record = self._records.pop(connection_id, None)
            if record is not None:
                self._unindex(record)
            removed = [
                member
                for key in sorted(self._channels_of.get(connection_id, ()))
                if (member := self._drop_member(key, connection_id)) is not None
            ]
        return [_copy_member(member) for member in removed]

    def append_history(
        self, tenant_id: str | None, channel: str, data: Any, *, keep: int, ttl: timedelta
    ) -> ChannelMessage:
        """The channel's next sequence number (under the lock) and the kept message."""
        key = (tenant_id or "", channel)
        now = self._clock()
        copied = json.loads(json.dumps(data, allow_nan=False))
        with self._lock:
            seq = self._seq.get(key, 0) + 1
            self._seq[key] = seq
            message = ChannelMessage(seq=seq, published_at=now, data=copied)
            kept = self._history.get(key)
            if kept is None or kept.maxlen != keep:
                kept = deque(kept or (), maxlen=max(keep, 1))
                self._history[key] = kept
            if keep > 0:
                kept.append((message, now + ttl))
        return ChannelMessage(seq=seq, published_at=now, data=_clone(copied))

    def history(
        self, tenant_id: str | None, channel: str, *, after: int = 0, limit: int = 100
    ) -> list[ChannelMessage]:
        """Kept, unexpired messages with ``seq > after``, oldest first, at most ``limit``."""
        now = self._clock()
        with self._lock:
            kept = list(self._history.get((tenant_id or "", channel), ()))
        out: list[ChannelMessage] = []
        for message, expires_at in kept:
            if message.seq > after and expires_at > now and len(out) < limit:
                out.append(replace(message, data=_clone(message.data)))
        return out

    def update_metadata(self, connection_id: str, fields: dict[str, Any]) -> Connection | None:
        """Merge ``fields`` into the record's metadata; the updated record or ``None``."""
        additions = _clone(_json_object(fields))
        with self._lock:
            self._purge_expired()
            record = self._records.get(connection_id)
            if record is None:
                return None
            updated = replace(record, metadata={**record.metadata, **additions})
            self._records[connection_id] = updated
        return _copy(updated)

    def _drop_member(self, key: tuple[str, str], connection_id: str) -> Member | None:
        members = self._members.get(key)
        member = members.pop(connection_id, None) if members is not None else None
        if members is not None and not members:
            del self._members[key]
        keys = self._channels_of.get(connection_id)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._channels_of[connection_id]
        return member

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


def _json_object(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` if it is a JSON-serialisable dict (as the DynamoDB store requires)."""
    if not isinstance(value, dict):
        raise TypeError("metadata must be a dict")
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError("metadata must be JSON-serialisable") from exc
    return value


def _copy_member(member: Member) -> Member:
    return replace(member, metadata=_clone(member.metadata))


def _add(index: dict[str, set[str]], key: str | None, connection_id: str) -> None:
    if key:
        index.setdefault(key, set()).add(connection_id)


def _discard(index: dict[str, set[str]], key: str | None, connection_id: str) -> None:
    if key and (ids := index.get(key)) is not None:
        ids.discard(connection_id)
        if not ids:
            del index[key]
