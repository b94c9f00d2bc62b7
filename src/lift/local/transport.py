"""An in-process ``@connections`` transport: the Management API without HTTP.

When the app runs inside the local gateway's process, the gateway sets
``app.management_api`` to a :class:`RegistryManagementAPI` over its live sockets, so
``ctx.websocket.send`` skips boto3, signing and a loopback HTTP round trip. The HTTP
``@connections`` endpoint stays up for other processes and for code that builds its
own boto3 client.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..apigw.limits import MAX_FRAME_BYTES as MAX_PAYLOAD_BYTES
from ..apigw.management import ConnectionRegistry
from ..websocket.errors import ConnectionGoneError, PayloadTooLargeError

__all__ = ["RegistryManagementAPI"]


def _datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, str) and value:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return None


def _pick(mapping: Any, *names: str) -> Any:
    if not isinstance(mapping, dict):
        return None
    return next((mapping[name] for name in names if name in mapping), None)


class RegistryManagementAPI:
    """:class:`~lift.websocket.management.ManagementAPI` over a :class:`ConnectionRegistry`.

    Raises what the boto3-backed client raises: ``ConnectionGoneError`` for an unknown
    or closed connection and ``PayloadTooLargeError`` over 128 KiB (nothing sent).
    """

    def __init__(self, registry: ConnectionRegistry) -> None:
        self.registry = registry

    def post_to_connection(self, connection_id: str, data: bytes) -> None:
        """Send one frame to the connection."""
        payload = bytes(data)
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise PayloadTooLargeError(len(payload), MAX_PAYLOAD_BYTES)
        if not self.registry.post(connection_id, payload):
            raise ConnectionGoneError(connection_id)

    def get_connection(self, connection_id: str) -> dict[str, Any]:
        """``ConnectedAt``/``LastActiveAt`` (aware datetimes) and ``Identity``."""
        info = self.registry.info(connection_id)
        if info is None:
            raise ConnectionGoneError(connection_id)
        identity = _pick(info, "Identity", "identity") or {}
        return {
            "ConnectedAt": _datetime(_pick(info, "ConnectedAt", "connectedAt")),
            "LastActiveAt": _datetime(_pick(info, "LastActiveAt", "lastActiveAt")),
            "Identity": {
                "SourceIp": _pick(identity, "SourceIp", "sourceIp"),
                "UserAgent": _pick(identity, "UserAgent", "userAgent"),
            },
        }

    def delete_connection(self, connection_id: str) -> None:
        """Close the connection."""
        if not self.registry.delete(connection_id):
            raise ConnectionGoneError(connection_id)
