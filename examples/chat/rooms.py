"""Room membership and history: the chat's own data layer.

Lift tracks *connections* (who is connected, as which user and tenant). Which room a
connection sits in, and what was said there, belong to the app, so the chat keeps them
behind the small :class:`RoomStore` interface. :class:`MemoryRoomStore` keeps them in
the process, which is right for ``lift dev`` and tests. On Lambda every invocation may
run in a different container, so a deployed chat implements the same interface on
DynamoDB: one item per membership (partition key ``tenant#room``, sort key the
connection id, plus an index on the connection id) and one per message with a TTL.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["HISTORY_SIZE", "Member", "MemoryRoomStore", "RoomStore"]

HISTORY_SIZE = 50
"""How many messages of each room are kept and replayed on join."""


@dataclass(frozen=True)
class Member:
    """One connection sitting in one room of one tenant."""

    connection_id: str
    user_id: str
    tenant_id: str
    room: str


class RoomStore(Protocol):
    """Room membership (one room per connection) and per-room history.

    Rooms are scoped by tenant: room ``general`` of tenant ``acme`` and room ``general``
    of tenant ``globex`` share nothing.
    """

    def join(self, member: Member) -> Member | None:
        """Put the connection in ``member.room``; returns the membership it replaced."""

    def leave(self, connection_id: str) -> Member | None:
        """Take the connection out of its room; returns the membership it had."""

    def membership(self, connection_id: str) -> Member | None:
        """The room the connection is in, if any."""

    def members(self, tenant_id: str, room: str) -> list[Member]:
        """Every connection in a room."""

    def add_message(self, tenant_id: str, room: str, message: dict[str, Any]) -> None:
        """Append to the room's history (only the last :data:`HISTORY_SIZE` are kept)."""

    def history(self, tenant_id: str, room: str) -> list[dict[str, Any]]:
        """The room's recent messages, oldest first."""


class MemoryRoomStore:
    """A thread-safe, per-process :class:`RoomStore`."""

    def __init__(self, history_size: int = HISTORY_SIZE) -> None:
        self._lock = threading.Lock()
        self._by_connection: dict[str, Member] = {}
        self._rooms: dict[tuple[str, str], dict[str, Member]] = {}
        self._history: dict[tuple[str, str], deque[dict[str, Any]]] = {}
        self._history_size = history_size

    def join(self, member: Member) -> Member | None:
        with self._lock:
            previous = self._remove(member.connection_id)
            self._by_connection[member.connection_id] = member
            self._rooms.setdefault((member.tenant_id, member.room), {})[member.connection_id] = (
                member
            )
            return previous

    def leave(self, connection_id: str) -> Member | None:
        with self._lock:
            return self._remove(connection_id)

    def membership(self, connection_id: str) -> Member | None:
        with self._lock:
            return self._by_connection.get(connection_id)

    def members(self, tenant_id: str, room: str) -> list[Member]:
        with self._lock:
            return list(self._rooms.get((tenant_id, room), {}).values())

    def add_message(self, tenant_id: str, room: str, message: dict[str, Any]) -> None:
        with self._lock:
            key = (tenant_id, room)
            if key not in self._history:
                self._history[key] = deque(maxlen=self._history_size)
            self._history[key].append(message)

    def history(self, tenant_id: str, room: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._history.get((tenant_id, room), ()))

    def _remove(self, connection_id: str) -> Member | None:
        member = self._by_connection.pop(connection_id, None)
        if member is not None:
            key = (member.tenant_id, member.room)
            room = self._rooms.get(key)
            if room is not None:
                room.pop(connection_id, None)
                if not room:
                    del self._rooms[key]
        return member
