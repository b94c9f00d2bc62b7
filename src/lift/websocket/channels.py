"""Channels: subscribe, publish, presence and history over the store and ``@connections``.

Nothing here lives in process memory: who listens to what is in the
:class:`~lift.websocket.channel.ChannelStore`, messages go out through the Management
API, so any Lambda instance can serve any connection.

What subscribers receive (JSON text frames)::

    {"event": "message", "channel": "general", "seq": 42, "data": ...}
    {"event": "presence", "channel": "general", "joined": [member...], "left": [member...]}

``seq`` is ``null`` unless the channel keeps history. A member is
``{"connection_id", "user_id", "joined_at", "metadata"}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from itertools import islice
from typing import TYPE_CHECKING, Any

from ..errors import LiftError
from ..response import json_dumps
from .channel import (
    HISTORY_LIMIT_MAX,
    ChannelMessage,
    ChannelStore,
    Member,
    PublishResult,
    validate_channel,
    validate_metadata,
)
from .fanout import CHANNEL_LISTER, FanoutOptions, Listing, register_lister
from .payload import encode_payload

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .connection import Connection, ConnectionStore
    from .connections import Connections
    from .options import ChannelOptions

__all__ = ["ChannelService", "message_frame", "presence_frame", "require_channel_store"]

PRESENCE_BATCH = 50
"""The most members one presence event names (larger changes are split)."""

_LEAVE_ROUNDS = 3
"""Leave events may find more gone connections; after this many rounds they go quietly."""

_SEQ_PLACEHOLDER = 10**20 - 1


def message_frame(channel: str, seq: int | None, data: Any) -> dict[str, Any]:
    """The frame subscribers receive for a published message."""
    return {"event": "message", "channel": channel, "seq": seq, "data": data}


def presence_frame(
    channel: str, *, joined: Iterable[Member] = (), left: Iterable[Member] = ()
) -> dict[str, Any]:
    """The frame subscribers receive when members join or leave."""
    return {
        "event": "presence",
        "channel": channel,
        "joined": [m.public() for m in joined],
        "left": [m.public() for m in left],
    }


def require_channel_store(store: ConnectionStore | None) -> ChannelStore:
    """``store`` when it keeps channels, else 500 ``NO_CHANNEL_STORE``."""
    if store is None or not isinstance(store, ChannelStore):
        raise LiftError(
            500, "NO_CHANNEL_STORE", "Channels need a connection store that keeps channels"
        )
    return store


def _normalise(data: Any) -> Any:
    """``data`` as the JSON value subscribers will see (refuses what JSON cannot hold)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("Channel messages are JSON values; bytes cannot be published")
    return json.loads(json_dumps(data))


class ChannelService:
    """Channel operations of one app: the store for state, ``Connections`` to deliver."""

    def __init__(
        self, connections: Connections, store: ChannelStore, options: ChannelOptions | None
    ) -> None:
        self.connections = connections
        self.store = store
        self.history_size = options.history if options is not None else 0
        self.history_ttl = options.history_ttl if options is not None else None
        self.presence_events = options.presence_events if options is not None else False

    # -- membership --------------------------------------------------------------------
    def subscribe(
        self, connection: Connection, channel: str, metadata: dict[str, Any] | None = None
    ) -> Member:
        """Subscribe ``connection``; a new member is announced to the others."""
        validate_channel(channel)
        metadata = validate_metadata(metadata)
        member, new = self.store.subscribe(connection, channel, metadata)
        if new and self.presence_events:
            self._announce(
                member.tenant_id, channel, joined=[member], exclude={connection.connection_id}
            )
        return member

    def unsubscribe(self, connection_id: str, tenant_id: str | None, channel: str) -> bool:
        """Leave one channel; whether the connection was subscribed (a leave is announced)."""
        validate_channel(channel)
        member = self.store.unsubscribe(connection_id, tenant_id, channel)
        if member is not None and self.presence_events:
            self._announce(tenant_id, channel, left=[member])
        return member is not None

    def members(self, tenant_id: str | None, channel: str) -> list[Member]:
        """Live subscribers; expired ones found on the way are removed (and announced)."""
        validate_channel(channel)
        expired: list[Member] = []
        members = list(self.store.members(tenant_id, channel, expired=expired))
        if expired:
            self.forget([m.connection_id for m in expired])
        return members

    # -- messages ----------------------------------------------------------------------
    def publish(
        self,
        tenant_id: str | None,
        channel: str,
        data: Any,
        *,
        exclude: Iterable[str] = (),
        ephemeral: bool = False,
    ) -> PublishResult:
        """Send ``data`` to every subscriber (but ``exclude``); see :meth:`deliver_to`.

        An ``ephemeral`` message (a typing indicator) is neither numbered nor kept.

        With history the message first gets its sequence number and is kept, then the
        subscribers are listed: a client that subscribes and then reads the history
        either is listed or finds the message kept, so it never misses one.
        """
        validate_channel(channel)
        value = _normalise(data)
        # Refuse an oversized message before anything is kept or sent.
        keep = bool(self.history_size) and not ephemeral
        widest = _SEQ_PLACEHOLDER if keep else None
        encode_payload(message_frame(channel, widest, value))
        seq: int | None = None
        if keep and self.history_ttl is not None:
            kept = self.store.append_history(
                tenant_id, channel, value, keep=self.history_size, ttl=self.history_ttl
            )
            seq = kept.seq
        payload = encode_payload(message_frame(channel, seq, value))
        skip = set(exclude)
        expired: list[str] = []
        listed = (
            connection_id
            for connection_id in self.store.member_ids(tenant_id, channel, expired=expired)
            if connection_id not in skip
        )
        queued_above = self._fanout_limit()
        if queued_above is not None:  # a fan-out queue: workers list a huge audience
            first = list(islice(listed, queued_above + 1))
            if len(first) <= queued_above:
                return self.deliver_to(first, payload, seq=seq, expired=expired)
            params = {"tenant_id": tenant_id, "channel": channel, "exclude": sorted(skip)}
            result = self.connections.fan_out(Listing(CHANNEL_LISTER, params), payload)
            if expired:
                self.forget(expired)
            return PublishResult.of(result, seq)
        # Listing is cheap next to delivering (the DynamoDB store reads some 37,000 ids per
        # 1 MB page of its index), so the ids are read first and sent in one broadcast.
        return self.deliver_to(list(listed), payload, seq=seq, expired=expired)

    def _fanout_limit(self) -> int | None:
        """``FanoutOptions.inline_limit`` when a fan-out queue is configured, else ``None``."""
        from .fanout_queue import queue_for

        app = self.connections.app
        options = getattr(getattr(app, "websocket_options", None), "fanout", None)
        options = options or FanoutOptions()
        return options.inline_limit if queue_for(app, options) is not None else None

    def deliver_to(
        self, connection_ids: list[str], payload: bytes, *, seq: int | None, expired: list[str]
    ) -> PublishResult:
        """Deliver an encoded frame to listed subscribers; gone and expired ones leave.

        Delivery goes through :meth:`Connections.fan_out`: inline within the
        invocation's time, or through the fan-out queue when the audience is larger than
        ``FanoutOptions.inline_limit``. Gone subscribers are pruned (and their leaves
        announced) there, by the worker that finds them when queued.
        """
        result = self.connections.fan_out(connection_ids, payload)
        if expired:
            self.forget(expired)
        published = PublishResult.of(result, seq)
        published.gone = [*result.gone, *expired]
        return published

    def history(
        self, tenant_id: str | None, channel: str, *, after: int = 0, limit: int = 100
    ) -> list[ChannelMessage]:
        """Kept messages with ``seq > after``, oldest first (at most ``limit``, max 1000)."""
        validate_channel(channel)
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise LiftError(400, "INVALID_SEQ", "'after' must be a non-negative integer")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
            raise LiftError(400, "INVALID_LIMIT", "'limit' must be a positive integer")
        if not self.history_size:
            return []
        return self.store.history(
            tenant_id, channel, after=after, limit=min(limit, HISTORY_LIMIT_MAX)
        )

    # -- leaving -----------------------------------------------------------------------
    def forget(self, connection_ids: Iterable[str]) -> None:
        """Remove connections from the store and every channel, announcing their leaves.

        Leave events may find more gone connections; they are removed too, announced for
        a few rounds and then quietly. Failures are logged: the caller's outcome stands
        and records left behind expire with the connection.
        """
        pending = list(dict.fromkeys(connection_ids))
        rounds = 0
        while pending:
            announce = self.presence_events and rounds < _LEAVE_ROUNDS
            left: dict[tuple[str | None, str], list[Member]] = {}
            for connection_id in pending:
                try:
                    removed = self.store.remove_connection(connection_id)
                except Exception as exc:
                    self.connections.logger.exception("Could not remove a gone connection")
                    # Subscriptions removed before the failure are still announced.
                    removed = list(getattr(exc, "removed", None) or ())
                for member in removed:
                    left.setdefault((member.tenant_id, member.channel), []).append(member)
            pending = []
            if not announce:
                return
            for (tenant_id, channel), members in left.items():
                pending.extend(self._announce(tenant_id, channel, left=members))
            rounds += 1

    def _announce(
        self,
        tenant_id: str | None,
        channel: str,
        *,
        joined: list[Member] | None = None,
        left: list[Member] | None = None,
        exclude: set[str] | None = None,
    ) -> list[str]:
        """Publish presence changes (in batches); the gone or expired ids found."""
        found: list[str] = []
        try:
            skip = exclude or set()
            ids = [
                connection_id
                for connection_id in self.store.member_ids(tenant_id, channel, expired=found)
                if connection_id not in skip
            ]
            changes = [("joined", m) for m in joined or ()] + [("left", m) for m in left or ()]
            for start in range(0, len(changes), PRESENCE_BATCH):
                batch = changes[start : start + PRESENCE_BATCH]
                frame = presence_frame(
                    channel,
                    joined=[m for kind, m in batch if kind == "joined"],
                    left=[m for kind, m in batch if kind == "left"],
                )
                result = self.connections.deliver(ids, encode_payload(frame))
                found.extend(result.gone)
                gone = set(result.gone)
                ids = [i for i in ids if i not in gone]
        except Exception:
            self.connections.logger.exception("Could not announce a presence change")
        return list(dict.fromkeys(found))


def list_channel_page(
    connections: Connections, params: Mapping[str, Any], cursor: str | None, limit: int
) -> tuple[list[str], str | None]:
    """The fan-out lister of a channel's subscribers (``Listing(CHANNEL_LISTER, ...)``)."""
    store = require_channel_store(connections.store)
    tenant_id, channel = params.get("tenant_id"), params.get("channel")
    if not (tenant_id is None or isinstance(tenant_id, str)) or not isinstance(channel, str):
        raise ValueError("a channel listing needs a channel and a tenant")
    validate_channel(channel)
    excluded = params.get("exclude")
    skip = set(excluded) if isinstance(excluded, list) else set()
    ids, following = store.member_ids_page(tenant_id, channel, cursor, limit)
    return [i for i in ids if i not in skip], following


register_lister(CHANNEL_LISTER, list_channel_page)
