"""The API Gateway WebSocket model, sans I/O: events in, actions out.

A driver (the test client, the local gateway) owns the sockets, threads and clocks. It
tells :class:`WebSocketApi` what happened (a client asked to connect, sent a frame,
closed; the function answered) and performs the action it gets back:

* :class:`Invoke`: call the function with this route (the driver builds the event);
* :class:`Accept` / :class:`Refuse`: finish the WebSocket handshake, or answer it with
  an HTTP status;
* :class:`Reply`: send this frame to the client;
* :class:`Close`: close the client's socket with this code and reason.

Nothing here reads a clock it was not given, sleeps, or touches a socket. Frames the
function posts through ``@connections`` land in :attr:`WebSocketApi.connections` (a
:class:`~lift.apigw.connections.ConnectionTable`), which the driver drains.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime, timezone
from typing import Any

from .connections import ConnectionTable, Inbox
from .definition import ApiDefinition
from .limits import IDLE_TIMEOUT, MAX_FRAME_BYTES, MAX_LIFETIME, CloseCode, close_reason
from .responses import (
    FORBIDDEN,
    INTERNAL_ERROR,
    TIMED_OUT,
    IntegrationResponse,
    MalformedResponseError,
    gateway_message,
    new_request_id,
)

__all__ = [
    "Accept",
    "Action",
    "Close",
    "Invoke",
    "Refuse",
    "Reply",
    "WebSocketApi",
]

_HOP_BY_HOP = frozenset({"connection", "content-length", "transfer-encoding", "upgrade"})


@dataclass(frozen=True)
class Invoke:
    """Call the function for ``route_key``: ``body`` for a message, the close code and
    reason for ``$disconnect``; ``request_id`` for the event."""

    route_key: str
    body: str | None = None
    request_id: str = field(default_factory=new_request_id)
    close_code: int | None = None
    close_reason: str | None = None


@dataclass(frozen=True)
class Accept:
    """Complete the handshake, answering ``subprotocol`` when the function chose one."""

    subprotocol: str | None = None
    response: IntegrationResponse = field(default_factory=IntegrationResponse)


@dataclass(frozen=True)
class Refuse:
    """Answer the upgrade request with ``status``, ``headers`` and ``body``."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Reply:
    """Send ``data`` to the client (a route response or API Gateway's own message)."""

    data: bytes


@dataclass(frozen=True)
class Close:
    """Close the client's socket with ``code`` and ``reason``."""

    code: int
    reason: str


Action = Invoke | Accept | Refuse | Reply | Close


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(eq=False)
class WebSocketApi:
    """One deployed WebSocket API: its definition, its connections and its rules.

    Thread-safe: a driver may report events of different connections from different
    threads. ``connections`` defaults to a new table; ``clock`` gives the current time
    (aware UTC) for the idle and lifetime limits; ``idle_timeout`` and ``max_lifetime``
    are in seconds.
    """

    definition: ApiDefinition
    _: KW_ONLY
    connections: ConnectionTable = field(default_factory=ConnectionTable)
    idle_timeout: float = IDLE_TIMEOUT
    max_lifetime: float = MAX_LIFETIME
    clock: Callable[[], datetime] = _utc_now
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _live: set[str] = field(default_factory=set, init=False, repr=False)

    @classmethod
    def for_app(
        cls, app: Any, *, route_responses: bool | None = None, **options: Any
    ) -> WebSocketApi:
        """The model of the API deployed for ``app`` (see :meth:`ApiDefinition.from_app`)."""
        return cls(ApiDefinition.from_app(app, route_responses=route_responses), **options)

    # -- $connect ---------------------------------------------------------------------
    def connect(self) -> Invoke | Accept:
        """A client asks to connect: invoke ``$connect``, or accept when not deployed."""
        if self.definition.invokes_connect:
            return Invoke("$connect")
        return Accept()

    def connect_answered(
        self, result: Any, *, failed: bool = False, timed_out: bool = False
    ) -> Accept | Refuse:
        """The function answered ``$connect`` (``failed``: it raised; ``timed_out``: it
        did not answer within the integration timeout).

        A 2xx answer accepts (with the ``Sec-WebSocket-Protocol`` it chose); any other
        status refuses with that status; a failure is 500, a malformed answer 502 and a
        timeout 504 (API Gateway's own messages).
        """
        if timed_out:
            return _refusal(504, {}, TIMED_OUT)
        if failed:
            return _refusal(500, {}, INTERNAL_ERROR)
        try:
            response = IntegrationResponse.decode(result)
        except MalformedResponseError:
            return _refusal(502, {}, INTERNAL_ERROR)
        if not response.ok:
            headers = {k: v for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP}
            return Refuse(response.status, headers, response.body or b"")
        return Accept(response.header("Sec-WebSocket-Protocol"), response)

    def opened(
        self,
        connection_id: str,
        *,
        source_ip: str,
        user_agent: str,
        connected_at: datetime | None = None,
    ) -> Inbox:
        """The handshake completed: the connection exists from now on."""
        inbox = self.connections.open(
            connection_id, source_ip, user_agent, connected_at=connected_at or self.clock()
        )
        with self._lock:
            self._live.add(connection_id)
        return inbox

    # -- messages ---------------------------------------------------------------------
    def receive_text(self, connection_id: str, text: str) -> Invoke | Reply | Close | None:
        """A text frame arrived. ``None`` when the connection is not open."""
        if not self.is_live(connection_id):
            return None
        size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_FRAME_BYTES:
            return _close(CloseCode.MESSAGE_TOO_BIG)
        self.connections.touch(connection_id)
        route_key = self.definition.select(text)
        if route_key is None:
            return Reply(gateway_message(FORBIDDEN, connection_id))
        return Invoke(route_key, text)

    def receive_binary(self, connection_id: str, data: bytes) -> Close | None:
        """A binary frame arrived: API Gateway closes with 1003."""
        if not self.is_live(connection_id):
            return None
        return _close(CloseCode.UNSUPPORTED_DATA)

    def answered(
        self,
        connection_id: str,
        invocation: Invoke,
        result: Any,
        *,
        failed: bool = False,
        timed_out: bool = False,
    ) -> Reply | None:
        """The function answered a message: the frame its sender gets, if any.

        A route with a route response sends the decoded body; a failure, a malformed
        or oversize answer sends API Gateway's internal-error message, a timeout its
        timeout message (whether or not the route has a route response).
        """
        if timed_out:
            return Reply(gateway_message(TIMED_OUT, connection_id, invocation.request_id))
        if failed:
            return Reply(gateway_message(INTERNAL_ERROR, connection_id, invocation.request_id))
        if not self.definition.returns_response(invocation.route_key):
            return None
        try:
            response = IntegrationResponse.decode(result)
        except MalformedResponseError:
            return Reply(gateway_message(INTERNAL_ERROR, connection_id, invocation.request_id))
        return Reply(response.body) if response.body is not None else None

    # -- closing ------------------------------------------------------------------------
    def closed(self, connection_id: str, code: int, reason: str = "") -> Invoke | None:
        """The connection ended (either side). ``$disconnect`` to invoke, once.

        ``None`` when it was already reported or ``$disconnect`` is not deployed.
        """
        with self._lock:
            if connection_id not in self._live:
                return None
            self._live.discard(connection_id)
        self.connections.close(connection_id, code, close_reason(code, reason))
        if not self.definition.invokes_disconnect:
            return None
        # The first close wins: a DeleteConnection already closed it with 1000.
        inbox = self.connections.inbox(connection_id)
        final = inbox.close_code if inbox.close_code is not None else code
        return Invoke(
            "$disconnect",
            close_code=final,
            close_reason=close_reason(final, inbox.close_reason or ""),
        )

    def is_live(self, connection_id: str) -> bool:
        """Whether the connection is open (accepted and not yet ended)."""
        with self._lock:
            live = connection_id in self._live
        return live and self.connections.is_open(connection_id)

    def expired(self) -> list[tuple[str, Close]]:
        """The connections past the idle timeout or the two-hour lifetime (close 1001)."""
        now = self.clock()
        with self._lock:
            live = list(self._live)
        found: list[tuple[str, Close]] = []
        for connection_id in live:
            times = self.connections.activity(connection_id)
            if times is None:
                continue
            connected_at, last_active_at = times
            if (now - connected_at).total_seconds() >= self.max_lifetime or (
                now - last_active_at
            ).total_seconds() >= self.idle_timeout:
                found.append((connection_id, _close(CloseCode.GOING_AWAY)))
        return found


def _close(code: CloseCode) -> Close:
    return Close(int(code), close_reason(code))


def _refusal(status: int, headers: dict[str, str], message: str) -> Refuse:
    body = f'{{"message": "{message}"}}'.encode()
    return Refuse(status, {"Content-Type": "application/json", **headers}, body)
