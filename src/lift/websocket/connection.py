"""Connection records and the ConnectionStore protocol."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol, runtime_checkable

from ..errors import LiftError

__all__ = [
    "CONNECTION_ID_MAX_BYTES",
    "Connection",
    "ConnectionStore",
    "ConnectionStoreError",
    "check_connection_id",
    "utc_now",
]

CONNECTION_ID_MAX_BYTES = 1024
"""The longest connection id a store keeps (UTF-8; DynamoDB's sort-key limit)."""


def utc_now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """``value`` as an aware datetime: a naive one is taken to be UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def expiry(connection: Connection, ttl: timedelta) -> datetime:
    """When ``connection``'s record expires: its own ``expires_at``, else ``ttl`` after
    it connected (aware, UTC)."""
    if connection.expires_at is not None:
        return as_utc(connection.expires_at)
    return as_utc(connection.connected_at) + ttl


def check_connection_id(connection_id: Any) -> str:
    """``connection_id`` when a store can keep it, else :class:`ValueError`.

    Checked before any write, so an id a store cannot key is refused whole rather
    than failing halfway through a subscription.
    """
    if not isinstance(connection_id, str) or not connection_id:
        raise ValueError("connection_id must be a non-empty string")
    if len(connection_id.encode("utf-8", "surrogatepass")) > CONNECTION_ID_MAX_BYTES:
        raise ValueError(f"connection_id must be at most {CONNECTION_ID_MAX_BYTES} bytes")
    return connection_id


@dataclass
class Connection:
    """One open WebSocket connection as the store keeps it.

    ``user_id`` and ``tenant_id`` are ``None`` for anonymous or tenant-less connections.
    ``claims`` is the saved subset of the token's claims; ``endpoint`` the Management
    API endpoint that reaches this connection. ``expires_at`` bounds how long a record
    outlives a lost ``$disconnect`` (API Gateway closes connections after 2 hours).
    """

    connection_id: str
    user_id: str | None = None
    tenant_id: str | None = None
    connected_at: datetime = field(default_factory=utc_now)
    endpoint: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    expires_at: datetime | None = None

    def is_expired(self, now: datetime | None = None) -> bool:
        """Whether ``expires_at`` has passed."""
        return self.expires_at is not None and self.expires_at <= (now or utc_now())


class ConnectionStoreError(LiftError):
    """The connection store failed (503 ``CONNECTION_STORE_ERROR``).

    The client sees a generic message; the backend's own error stays on the exception
    chain (``__cause__``) for the log. ``operation`` names the failed call and
    ``aws_code`` is the backend's error code when it gave one.
    """

    def __init__(self, operation: str = "", aws_code: str = "") -> None:
        super().__init__(503, "CONNECTION_STORE_ERROR", "The connection store is unavailable")
        self.operation = operation
        self.aws_code = aws_code


@runtime_checkable
class ConnectionStore(Protocol):
    """Where connections are tracked across stateless invocations.

    ``list_by_user``/``list_by_tenant`` iterate every match (implementations page
    through results); expired records are never returned nor counted.
    """

    def save(self, connection: Connection) -> None:
        """Insert or overwrite the record of ``connection.connection_id``."""

    def get(self, connection_id: str) -> Connection | None:
        """The record, or ``None`` when absent or expired."""

    def delete(self, connection_id: str) -> None:
        """Remove the record; deleting an absent record is not an error."""

    def list_by_user(self, user_id: str) -> Iterator[Connection]:
        """Every live connection of ``user_id``."""

    def list_by_tenant(self, tenant_id: str) -> Iterator[Connection]:
        """Every live connection of ``tenant_id``."""

    def count_active(self) -> int:
        """How many live connections there are."""
