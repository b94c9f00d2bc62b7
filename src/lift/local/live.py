"""The local gateway's per-connection state and the Lambda context it passes to the app."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..apigw.lambda_context import LambdaContext
from ..apigw.limits import INTEGRATION_TIMEOUT

if TYPE_CHECKING:
    from aiohttp import web

    from ..apigw import Invoke, Reply
    from ..testing.events import ConnectionOptions

__all__ = [
    "LAMBDA_TIMEOUT_MS",
    "CloseRequest",
    "LiveConnection",
    "LocalLambdaContext",
    "Outgoing",
]

LAMBDA_TIMEOUT_MS = int(INTEGRATION_TIMEOUT * 1000)


class LocalLambdaContext(LambdaContext):
    """The Lambda context handed to the app for each local invocation: the model's
    :class:`~lift.apigw.LambdaContext` with the local function's name and settings, its
    deadline the invocation's (``time.monotonic()`` when API Gateway stops waiting)."""

    def __init__(self, deadline: float | None = None) -> None:
        super().__init__(
            "lift-dev",
            memory_limit_in_mb=1024,
            timeout=LAMBDA_TIMEOUT_MS / 1000,
            region="local",
            account_id="000000000000",
            deadline=deadline,
        )


class CloseRequest:
    """An outbox item: close the socket with ``code`` and ``reason``."""

    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


Outgoing = str | bytes | CloseRequest
"""What a connection's writer sends: a text frame, a binary frame, or the close."""


class LiveConnection:
    """One accepted client connection (mutated on the loop thread, read anywhere).

    ``event_options`` is what every event of the connection carries (its ``$connect``
    event's connection, API, caller and authorizer context); ``user_id`` and
    ``tenant_id`` are what the app stored for it (the inspector's columns).
    """

    def __init__(
        self,
        ws: web.WebSocketResponse,
        event_options: ConnectionOptions,
        *,
        user_id: str | None,
        tenant_id: str | None,
    ) -> None:
        self.ws = ws
        self.event_options = event_options
        self.id = str(event_options.get("connection_id"))
        self.connected_ms = int(event_options.get("connected_at") or 0)
        self.connected_at = datetime.fromtimestamp(self.connected_ms / 1000, timezone.utc)
        self.user_id = user_id
        self.tenant_id = tenant_id
        self.outbox: asyncio.Queue[Outgoing] = asyncio.Queue()
        self.inbox: asyncio.Queue[tuple[str, Invoke | Reply] | None] = asyncio.Queue()
        """Each text message with the model's answer to it, in order; ``None`` ends it."""
        self.closing = False
        self.close_code: int | None = None
        self.close_reason = ""
        self.finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @property
    def source_ip(self) -> str:
        """The client's address."""
        return self.event_options.get("source_ip") or ""

    @property
    def user_agent(self) -> str | None:
        """The client's ``User-Agent``, if it sent one."""
        return self.event_options.get("user_agent")

    def summary(self) -> dict[str, Any]:
        """The inspector's view of the connection."""
        return {
            "id": self.id,
            "user": self.user_id,
            "tenant": self.tenant_id,
            "connectedAt": self.connected_ms,
            "sourceIp": self.source_ip,
            "userAgent": self.user_agent,
        }
