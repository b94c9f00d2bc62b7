"""Connections: send, broadcast and disconnect through ``@connections``, from anywhere.

A WebSocket handler gets one through ``ctx.websocket`` (which knows the API from the
event). Code that handles no WebSocket event (an SQS worker, a scheduled job) gets one
from ``app.connections(endpoint)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import LiftError
from ..response import json_dumps
from ..tracing.hook import span
from .broadcast import DEFAULT_WORKERS, BroadcastResult, broadcast
from .errors import ConnectionGoneError
from .payload import encode_payload

if TYPE_CHECKING:
    from ..observability import Logger
    from .connection import ConnectionStore
    from .fanout import Listing
    from .management import ManagementAPI

__all__ = ["ConnectionInfo", "Connections"]


@dataclass(frozen=True)
class ConnectionInfo:
    """What the Management API knows of a connection (``GetConnection``)."""

    connection_id: str
    connected_at: datetime | None
    last_active_at: datetime | None
    source_ip: str | None
    user_agent: str | None


class Connections:
    """The ``@connections`` operations of one WebSocket API stage.

    Payloads: dict/list are sent as JSON, str as text, bytes as is; over 128 KiB raises
    :class:`~lift.websocket.PayloadTooLargeError` before any call. A gone connection
    raises :class:`~lift.websocket.ConnectionGoneError` (``broadcast`` reports it
    instead) and is removed from ``store``. ``deadline`` (a :func:`time.monotonic`
    time, such as the Lambda's remaining time) bounds every call made through a
    :class:`~lift.websocket.ManagementClient`, on top of its own timeouts.
    """

    def __init__(
        self,
        api: ManagementAPI,
        store: ConnectionStore | None,
        logger: Logger,
        *,
        deadline: float | None = None,
        app: Any = None,
        endpoint: str | None = None,
        lambda_context: Any = None,
    ) -> None:
        self.api = api
        self.store = store
        self.logger = logger
        self.deadline = deadline
        self.app = app
        """The :class:`~lift.App` (its fan-out options, queue and records)."""
        self.endpoint = endpoint
        """The Management API endpoint (carried by fan-out shards to their workers)."""
        self.lambda_context = lambda_context
        """The invocation's Lambda context (the time left bounds inline sends)."""

    def _bounded(self) -> dict[str, Any]:
        """The ``deadline`` keyword for an API that takes one."""
        if self.deadline is None:
            return {}
        from .management import ManagementClient

        return {"deadline": self.deadline} if isinstance(self.api, ManagementClient) else {}

    def send(self, connection_id: str, data: Any) -> None:
        """Send ``data`` to one connection."""
        payload = encode_payload(data)
        try:
            with span("lift.connections.post", {"lift.connection_id": connection_id}):
                self.api.post_to_connection(connection_id, payload, **self._bounded())
        except ConnectionGoneError:
            self.prune([connection_id])
            raise

    def send_json(self, connection_id: str, obj: Any) -> None:
        """Send ``obj`` as JSON (whatever its type) to one connection."""
        self.send(connection_id, json_dumps(obj))

    def broadcast(
        self, connection_ids: Iterable[str], data: Any, *, workers: int = DEFAULT_WORKERS
    ) -> BroadcastResult:
        """Send ``data`` to every id concurrently; gone ids are pruned from the store.

        More ids than ``FanoutOptions.inline_limit`` go through the fan-out queue (a
        :class:`~lift.websocket.FanoutResult` is returned); an inline send that cannot
        finish in the invocation's time left raises 503 ``FANOUT_NEEDS_QUEUE``.
        """
        return self.fan_out(connection_ids, data, workers=workers)

    def fan_out(
        self, audience: Iterable[str] | Listing, data: Any, *, workers: int = DEFAULT_WORKERS
    ) -> BroadcastResult:
        """Send ``data`` to ids or a :class:`~lift.websocket.Listing`, inline or queued.

        The one entry point of every send to many connections (see
        :func:`lift.websocket.fanout.fan_out`); a channel publish calls it with its
        subscribers' ids, or with a ``Listing`` when the audience may be huge.
        """
        payload = encode_payload(data)
        from .fanout import FanoutOptions, fan_out

        ws_options = getattr(self.app, "websocket_options", None)
        options = getattr(ws_options, "fanout", None) or FanoutOptions()
        return fan_out(
            self,
            audience,
            payload,
            options=options,
            lambda_context=self.lambda_context,
            workers=workers,
        )

    def broadcast_now(
        self, connection_ids: Iterable[str], payload: bytes, *, workers: int = DEFAULT_WORKERS
    ) -> BroadcastResult:
        """Send encoded ``payload`` from this invocation (no queue, no time check)."""
        with span("lift.connections.broadcast") as handle:
            result = broadcast(
                self.api, connection_ids, payload, workers=workers, deadline=self.deadline
            )
            if handle is not None:
                _counts(handle, result)
        if result.gone:
            self.prune(result.gone)
        if result.failed:
            self.logger.warning(
                "Broadcast had failures",
                failed=len(result.failed),
                delivered=len(result.delivered),
                gone=len(result.gone),
            )
        return result

    def broadcast_to_user(self, user_id: str, data: Any) -> BroadcastResult:
        """Send to every connection of ``user_id`` in the store."""
        store = self._require_store()
        with span("lift.store.list_by_user"):
            ids = [c.connection_id for c in store.list_by_user(user_id)]
        return self.broadcast(ids, data)

    def broadcast_to_tenant(self, tenant_id: str, data: Any) -> BroadcastResult:
        """Send to every connection of ``tenant_id`` in the store."""
        store = self._require_store()
        with span("lift.store.list_by_tenant", {"lift.tenant_id": tenant_id}):
            ids = [c.connection_id for c in store.list_by_tenant(tenant_id)]
        return self.broadcast(ids, data)

    def disconnect(self, connection_id: str) -> None:
        """Close a connection; one that is already gone counts as closed."""
        try:
            with span("lift.connections.delete", {"lift.connection_id": connection_id}):
                self.api.delete_connection(connection_id, **self._bounded())
        except ConnectionGoneError:
            self.prune([connection_id])

    def connection_info(self, connection_id: str) -> ConnectionInfo:
        """What API Gateway knows of a connection; :class:`ConnectionGoneError` when gone."""
        try:
            with span("lift.connections.get", {"lift.connection_id": connection_id}):
                raw = self.api.get_connection(connection_id, **self._bounded())
        except ConnectionGoneError:
            self.prune([connection_id])
            raise
        identity = raw.get("Identity") or {}
        return ConnectionInfo(
            connection_id=connection_id,
            connected_at=raw.get("ConnectedAt"),
            last_active_at=raw.get("LastActiveAt"),
            source_ip=identity.get("SourceIp"),
            user_agent=identity.get("UserAgent"),
        )

    def prune(self, connection_ids: list[str]) -> None:
        """Remove gone connections from the store (best effort, failures logged)."""
        store = self.store
        if store is None:
            return
        for connection_id in connection_ids:
            try:
                with span("lift.store.delete", {"lift.connection_id": connection_id}):
                    store.delete(connection_id)
            except Exception:  # the send outcome stands; the record expires by TTL
                self.logger.exception("Could not remove a gone connection from the store")

    def _require_store(self) -> ConnectionStore:
        if self.store is None:
            raise LiftError(
                500, "NO_CONNECTION_STORE", "No connection store is configured for this app"
            )
        return self.store


def _counts(handle: Any, result: BroadcastResult) -> None:
    from ..tracing.hook import active

    backend = active()
    if backend is not None:
        backend.set_attributes(
            handle,
            {
                "lift.delivered": len(result.delivered),
                "lift.gone": len(result.gone),
                "lift.failed": len(result.failed),
            },
        )
