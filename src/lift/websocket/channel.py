"""Channel records, names, and the ChannelStore protocol.

A channel (a room, a topic) is named by a short string and scoped to a tenant: the
channel ``general`` of tenant ``acme`` and the channel ``general`` of tenant ``globex``
share nothing. Connections without a tenant share one namespace of their own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..errors import LiftError
from .connection import Connection, utc_now
from .results import BroadcastResult

if TYPE_CHECKING:
    from .fanout import FanoutResult

__all__ = [
    "CHANNEL_NAME_MAX",
    "HISTORY_LIMIT_MAX",
    "MEMBER_METADATA_MAX",
    "ChannelMessage",
    "ChannelStore",
    "Member",
    "PublishResult",
    "validate_channel",
    "validate_metadata",
]

CHANNEL_NAME_MAX = 128
"""The longest channel name, in characters."""

HISTORY_LIMIT_MAX = 1000
"""The most messages one ``history`` call returns."""

MEMBER_METADATA_MAX = 1024
"""The largest member metadata, in bytes of compact JSON (presence events carry it)."""

_CHANNEL_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:@=+/-]*")


def validate_channel(channel: Any) -> str:
    """``channel`` if it is a valid name, else 400 ``INVALID_CHANNEL``.

    A name is 1-128 ASCII letters, digits and ``_ . : @ = + / -``, not starting with
    punctuation other than ``_``. (``#`` is never part of a name: the DynamoDB store uses
    it as a separator.)
    """
    if (
        not isinstance(channel, str)
        or not 0 < len(channel) <= CHANNEL_NAME_MAX
        or not _CHANNEL_NAME.fullmatch(channel)
    ):
        raise LiftError(
            400,
            "INVALID_CHANNEL",
            f"A channel name is 1-{CHANNEL_NAME_MAX} letters, digits or _ . : @ = + / -",
        )
    return channel


def validate_metadata(metadata: Any, limit: int = MEMBER_METADATA_MAX) -> dict[str, Any]:
    """``metadata`` as a dict of JSON values of at most ``limit`` bytes, else 400."""
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise LiftError(400, "INVALID_METADATA", "Metadata must be a JSON object")
    try:
        size = len(json.dumps(metadata, separators=(",", ":"), allow_nan=False).encode())
    except (TypeError, ValueError):
        raise LiftError(400, "INVALID_METADATA", "Metadata must be JSON values") from None
    if size > limit:
        raise LiftError(
            400, "INVALID_METADATA", f"Metadata is {size} bytes; the limit is {limit} bytes"
        )
    return dict(metadata)


@dataclass
class Member:
    """One connection subscribed to one channel.

    ``metadata`` is what was given to ``subscribe``. ``channel`` and ``tenant_id`` name
    the channel; ``expires_at`` is the connection's expiry (the subscription ends with it).
    """

    connection_id: str
    user_id: str | None = None
    joined_at: datetime = field(default_factory=utc_now)
    metadata: dict[str, Any] = field(default_factory=dict)
    channel: str = ""
    tenant_id: str | None = None
    expires_at: datetime | None = None

    def is_expired(self, now: datetime | None = None) -> bool:
        """Whether the subscription's connection has expired."""
        return self.expires_at is not None and self.expires_at <= (now or utc_now())

    def public(self) -> dict[str, Any]:
        """What presence events and ``members`` answers show of a member."""
        return {
            "connection_id": self.connection_id,
            "user_id": self.user_id,
            "joined_at": self.joined_at.isoformat(),
            "metadata": self.metadata,
        }


@dataclass(frozen=True)
class ChannelMessage:
    """One message of a channel's history; ``data`` is the published JSON value."""

    seq: int
    published_at: datetime
    data: Any


@dataclass
class PublishResult(BroadcastResult):
    """What happened to each subscriber of a publish (the broadcast to them), and the
    message's ``seq``.

    ``seq`` is the per-channel sequence number when the channel keeps history, else
    ``None``. ``gone`` lists subscribers found closed (or expired) and removed.
    ``fanout`` is the fan-out's result when the publish went through the queue: ``ok``
    is false when a part of it was not queued (see :class:`FanoutResult`).
    """

    seq: int | None = None
    fanout: FanoutResult | None = None

    @property
    def ok(self) -> bool:
        """Whether nothing failed and everything queued was (gone ones are no failure)."""
        return not self.failed and (self.fanout is None or self.fanout.ok)

    @classmethod
    def of(cls, result: BroadcastResult, seq: int | None) -> PublishResult:
        """A publish result from the broadcast (or fan-out) that delivered it."""
        from .fanout import FanoutResult  # loaded with the channels already

        return cls(
            delivered=list(result.delivered),
            gone=list(result.gone),
            failed=dict(result.failed),
            seq=seq,
            fanout=result if isinstance(result, FanoutResult) else None,
        )


@runtime_checkable
class ChannelStore(Protocol):
    """Subscriptions and history, kept beside the connections (one store, one table).

    Both built-in stores implement it next to :class:`~lift.websocket.ConnectionStore`.
    ``delete(connection_id)`` of such a store also removes every subscription of the
    connection; :meth:`remove_connection` does the same and says what it removed.
    """

    def subscribe(
        self, connection: Connection, channel: str, metadata: dict[str, Any]
    ) -> tuple[Member, bool]:
        """Subscribe ``connection`` (in its tenant); the member and whether it is new.

        Its record must be in the store: a subscribe that finds it gone (the connection's
        ``$disconnect`` ran meanwhile) leaves nothing behind and raises 409 ``NOT_CONNECTED``.
        """

    def unsubscribe(self, connection_id: str, tenant_id: str | None, channel: str) -> Member | None:
        """Remove one subscription; the member removed, or ``None`` if there was none."""

    def channels_of(self, connection_id: str) -> list[str]:
        """The channels the connection is subscribed to, sorted."""

    def members(
        self, tenant_id: str | None, channel: str, *, expired: list[Member] | None = None
    ) -> Iterator[Member]:
        """Every live subscriber; expired ones go to ``expired`` when it is given."""

    def member_ids(
        self, tenant_id: str | None, channel: str, *, expired: list[str] | None = None
    ) -> Iterator[str]:
        """The ids of live subscribers only (what a publish needs; cheaper to read)."""

    def member_ids_page(
        self, tenant_id: str | None, channel: str, cursor: str | None, limit: int
    ) -> tuple[list[str], str | None]:
        """One page of live subscriber ids in a stable order, and the cursor of the next
        page (``None`` after the last): fan-out workers list a huge channel this way."""

    def remove_connection(self, connection_id: str) -> list[Member]:
        """Delete the connection's record and every subscription; the members removed.

        Idempotent: a repeated call finds nothing more and returns ``[]``. A member is
        returned by exactly one of several concurrent calls.
        """

    def append_history(
        self, tenant_id: str | None, channel: str, data: Any, *, keep: int, ttl: timedelta
    ) -> ChannelMessage:
        """Assign the channel's next sequence number (atomically) and keep the message."""

    def history(
        self, tenant_id: str | None, channel: str, *, after: int = 0, limit: int = 100
    ) -> list[ChannelMessage]:
        """Kept messages with ``seq > after``, oldest first, at most ``limit``."""

    def update_metadata(self, connection_id: str, fields: dict[str, Any]) -> Connection | None:
        """Merge ``fields`` into the record's metadata; the updated record or ``None``."""
