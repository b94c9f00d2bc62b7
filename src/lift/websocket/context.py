"""WebSocketContext: facts about a WebSocket event, and sending through ``@connections``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..errors import LiftError
from .broadcast import DEFAULT_WORKERS, BroadcastResult
from .connections import ConnectionInfo, Connections

if TYPE_CHECKING:
    from ..context import Context
    from .connection import Connection, ConnectionStore
    from .options import WebSocketOptions

__all__ = ["ConnectionInfo", "WebSocketContext"]

_MISSING: Any = object()


def _epoch_ms(value: Any) -> datetime | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, timezone.utc)
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class WebSocketContext:
    """The WebSocket side of a :class:`~lift.Context`.

    Properties read the event's ``requestContext``; ``send``/``broadcast``/
    ``disconnect`` call the ``@connections`` Management API through a client created
    once per process.
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._rc = ctx.request.request_context
        self._endpoint: str | None = None
        self._region: str | None = None
        self._connection: Any = _MISSING
        self._connections: Connections | None = None
        self.metadata: dict[str, Any] = {}
        """Saved with the connection on ``$connect`` when connections are tracked."""

    # -- facts about the event -------------------------------------------------
    @property
    def connection_id(self) -> str:
        """This connection's id."""
        return str(self._rc["connectionId"])

    @property
    def route_key(self) -> str:
        """The route key (``$connect``, ``$default``, ``chat``...)."""
        return self.ctx.request.route_key

    @property
    def event_type(self) -> str:
        """``CONNECT``, ``MESSAGE`` or ``DISCONNECT``."""
        return self.ctx.request.method

    @property
    def is_connect(self) -> bool:
        """Whether this is the ``$connect`` event."""
        return self.ctx.request.method == "CONNECT"

    @property
    def is_disconnect(self) -> bool:
        """Whether this is the ``$disconnect`` event."""
        return self.ctx.request.method == "DISCONNECT"

    @property
    def is_message(self) -> bool:
        """Whether this is a message event."""
        return self.ctx.request.method == "MESSAGE"

    @property
    def stage(self) -> str | None:
        """The API stage."""
        return _str(self._rc.get("stage"))

    @property
    def domain_name(self) -> str | None:
        """The domain the client connected to."""
        return _str(self._rc.get("domainName"))

    @property
    def api_id(self) -> str | None:
        """The WebSocket API's id."""
        return _str(self._rc.get("apiId"))

    @property
    def message_id(self) -> str | None:
        """The message id (message events only)."""
        return _str(self._rc.get("messageId"))

    @property
    def connected_at(self) -> datetime | None:
        """When the connection was opened (aware, UTC)."""
        return _epoch_ms(self._rc.get("connectedAt"))

    @property
    def request_time(self) -> datetime | None:
        """When API Gateway received this event (aware, UTC)."""
        return _epoch_ms(self._rc.get("requestTimeEpoch"))

    @property
    def source_ip(self) -> str | None:
        """The client's IP address."""
        return self.ctx.request.source_ip

    @property
    def user_agent(self) -> str | None:
        """The client's user agent (from the identity, else the header)."""
        identity = self._rc.get("identity")
        if isinstance(identity, dict) and isinstance(identity.get("userAgent"), str):
            return str(identity["userAgent"])
        return self.ctx.request.headers.get("user-agent")

    @property
    def disconnect_status_code(self) -> int | None:
        """The close code (``$disconnect`` only)."""
        value = self._rc.get("disconnectStatusCode")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def disconnect_reason(self) -> str | None:
        """The close reason (``$disconnect`` only)."""
        return _str(self._rc.get("disconnectReason"))

    @property
    def authorizer(self) -> dict[str, Any]:
        """The authorizer context API Gateway attached to the event (empty when none)."""
        value = self._rc.get("authorizer")
        return value if isinstance(value, dict) else {}

    @property
    def requested_subprotocols(self) -> list[str]:
        """Subprotocols the client offered in ``Sec-WebSocket-Protocol`` (``$connect``)."""
        header = self.ctx.request.headers.get("sec-websocket-protocol")
        if not header:
            return []
        return [part.strip() for part in header.split(",") if part.strip()]

    def accept_subprotocol(self, name: str) -> None:
        """Answer ``$connect`` with ``Sec-WebSocket-Protocol: name``.

        The name must be one the client offered (400 ``SUBPROTOCOL_NOT_OFFERED``).
        """
        if not self.is_connect:
            raise LiftError(400, "NOT_CONNECT", "Subprotocols are chosen on $connect only")
        if name not in self.requested_subprotocols:
            raise LiftError(
                400, "SUBPROTOCOL_NOT_OFFERED", "The client did not offer that subprotocol"
            )
        self.ctx.set_header("Sec-WebSocket-Protocol", name)

    # -- configuration ---------------------------------------------------------
    @property
    def options(self) -> WebSocketOptions | None:
        """The app's :class:`WebSocketOptions`, if any."""
        app = self.ctx.app
        return app.websocket_options if app is not None else None

    @property
    def management_endpoint(self) -> str:
        """Where ``@connections`` calls go (see DESIGN: option, env, domain, apiId)."""
        if self._endpoint is None:
            from .management import resolve_endpoint

            options = self.options
            self._endpoint = resolve_endpoint(
                self._rc,
                option=options.management_endpoint if options else None,
                region=options.region if options else None,
            )
        return self._endpoint

    @property
    def region(self) -> str:
        """The AWS region of the API (option, env, or parsed from the domain)."""
        if self._region is None:
            from .management import resolve_region

            options = self.options
            self._region = resolve_region(
                self.management_endpoint, option=options.region if options else None
            )
        return self._region

    @property
    def store(self) -> ConnectionStore | None:
        """The configured connection store (the app makes a memory store for tracking)."""
        options = self.options
        if options is None:
            return None
        store: ConnectionStore | None = options.store
        return store

    @property
    def connection(self) -> Connection | None:
        """This connection's stored record (``None`` without a store or record)."""
        if self._connection is _MISSING:
            store = self.store
            if store is None:
                self._connection = None
            else:
                from ..tracing.hook import span

                with span("lift.store.get", {"lift.connection_id": self.connection_id}):
                    self._connection = store.get(self.connection_id)
        connection: Connection | None = self._connection
        return connection

    @property
    def connections(self) -> Connections:
        """The ``@connections`` operations of this event's API stage."""
        if self._connections is None:
            app = self.ctx.app
            api = app.management_api if app is not None else None
            if api is None:
                from .management import client_for

                api = client_for(self.management_endpoint, self.region)
            from .management.policy import lambda_deadline

            self._connections = Connections(
                api,
                self.store,
                self.ctx.logger,
                deadline=lambda_deadline(self.ctx.lambda_context),
                app=app,
                endpoint=self._endpoint_or_none(),
                lambda_context=self.ctx.lambda_context,
            )
        return self._connections

    def _endpoint_or_none(self) -> str | None:
        try:
            return self.management_endpoint
        except LiftError:
            return None

    # -- sending -----------------------------------------------------------------
    def send(self, data: Any) -> None:
        """Send to this connection (dict/list as JSON, str as text, bytes as is)."""
        self.connections.send(self.connection_id, data)

    def send_json(self, obj: Any) -> None:
        """Send ``obj`` as JSON to this connection."""
        self.connections.send_json(self.connection_id, obj)

    def post_to(self, connection_id: str, data: Any) -> None:
        """Send to any connection; a gone connection raises and leaves the store."""
        self.connections.send(connection_id, data)

    def broadcast(
        self, connection_ids: Iterable[str], data: Any, *, workers: int = DEFAULT_WORKERS
    ) -> BroadcastResult:
        """Send ``data`` to every id concurrently; gone ids are pruned from the store."""
        return self.connections.broadcast(connection_ids, data, workers=workers)

    def broadcast_to_user(self, user_id: str, data: Any) -> BroadcastResult:
        """Send to every connection of ``user_id`` in the store."""
        return self.connections.broadcast_to_user(user_id, data)

    def broadcast_to_tenant(self, tenant_id: str, data: Any) -> BroadcastResult:
        """Send to every connection of ``tenant_id`` in the store."""
        return self.connections.broadcast_to_tenant(tenant_id, data)

    def disconnect(self, connection_id: str | None = None) -> None:
        """Close a connection (this one by default); an already gone one is fine."""
        self.connections.disconnect(connection_id or self.connection_id)

    def connection_info(self, connection_id: str | None = None) -> ConnectionInfo:
        """What API Gateway knows of a connection; :class:`ConnectionGoneError` when gone."""
        return self.connections.connection_info(connection_id or self.connection_id)

    def __repr__(self) -> str:
        return f"<WebSocketContext {self.event_type} {self.route_key} {self.connection_id}>"
