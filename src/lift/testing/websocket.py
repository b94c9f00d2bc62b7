"""One test connection (:class:`TestWebSocket`) and what it raises."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..websocket.errors import ConnectionGoneError

if TYPE_CHECKING:
    from ..apigw import Inbox
    from .client import WebSocketTestClient
    from .events import ConnectionOptions

__all__ = ["TestWebSocket", "WebSocketClosed", "WebSocketRefused"]


class WebSocketRefused(Exception):
    """``$connect`` answered a non-2xx status: the connection was refused.

    ``status_code``, ``body`` (text, or ``None``) and ``headers`` are the integration
    response.
    """

    def __init__(self, status_code: int, body: str | None, headers: dict[str, str]) -> None:
        detail = f": {body[:300]}" if body else ""
        super().__init__(f"$connect refused the connection with status {status_code}{detail}")
        self.status_code = status_code
        self.body = body
        self.headers = headers

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body or "null")


class WebSocketClosed(Exception):
    """The connection is closed and every message that arrived before was read."""

    def __init__(self, code: int | None, reason: str | None) -> None:
        super().__init__(f"The WebSocket connection is closed (code {code}, reason {reason!r})")
        self.code = code
        self.reason = reason


# -- the test connection ---------------------------------------------------------------
class TestWebSocket:
    """One client connection; use it as a context manager (closes with 1000 on exit)."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        client: WebSocketTestClient,
        event_options: ConnectionOptions,
        *,
        authorizer: Mapping[str, Any] | None,
        connect_response: dict[str, Any],
        accepted_subprotocol: str | None,
        inbox: Inbox,
    ) -> None:
        self.client = client
        self.event_options = event_options
        """What every event of the connection carries: its id, API and caller
        (:func:`lift.testing.events.connection_options` of its ``$connect`` event)."""
        self.connection_id = inbox.connection_id
        self.authorizer = dict(authorizer) if authorizer is not None else None
        """The authorizer context given to :meth:`WebSocketTestClient.connect`."""
        self.connect_response = connect_response
        """The ``$connect`` integration response (``{}`` when ``$connect`` is not deployed)."""
        self.accepted_subprotocol = accepted_subprotocol
        """The subprotocol the app chose (``Sec-WebSocket-Protocol``), if any."""
        self._inbox = inbox

    # -- state ----------------------------------------------------------------------
    @property
    def connected_at_ms(self) -> int:
        """When ``$connect`` arrived (epoch milliseconds)."""
        return int(self.event_options.get("connected_at") or 0)

    @property
    def user_agent(self) -> str | None:
        """The client's ``User-Agent`` (``identity.userAgent`` of every event)."""
        return self.event_options.get("user_agent")

    @property
    def closed(self) -> bool:
        """Whether the connection is closed (by the client or the server)."""
        return self._inbox.closed

    @property
    def close_code(self) -> int | None:
        """The close code, once closed."""
        return self._inbox.close_code

    @property
    def close_reason(self) -> str | None:
        """The close reason, once closed."""
        return self._inbox.close_reason

    @property
    def pending(self) -> int:
        """How many received messages have not been read yet."""
        return len(self._inbox)

    # -- sending ----------------------------------------------------------------------
    def send_text(self, text: str) -> dict[str, Any] | None:
        """Send a text message; returns the app's integration response.

        ``None`` when API Gateway would not invoke the app (no route matched and there
        is no ``$default``). Raises :class:`ConnectionGoneError` on a closed connection
        and :class:`WebSocketClosed` when API Gateway closes it for this message (1009).
        """
        if self.closed:
            raise ConnectionGoneError(self.connection_id)
        return self.client._message(self, text)

    def send_json(self, obj: Any) -> dict[str, Any] | None:
        """Send ``obj`` encoded as JSON (see :meth:`send_text`)."""
        return self.send_text(json.dumps(obj, separators=(",", ":")))

    def send_bytes(self, data: bytes) -> None:
        """Send a binary frame: API Gateway closes the connection with 1003."""
        if self.closed:
            raise ConnectionGoneError(self.connection_id)
        self.client._binary(self, bytes(data))

    # -- receiving -----------------------------------------------------------------------
    def receive_bytes(self, timeout: float | None = 1.0) -> bytes:
        """The next message as bytes.

        Raises :class:`TimeoutError` when nothing arrives within ``timeout`` seconds and
        :class:`WebSocketClosed` once the connection is closed and drained.
        """
        data = self._inbox.get(timeout)
        if data is None:
            raise WebSocketClosed(self.close_code, self.close_reason)
        return data

    def receive_text(self, timeout: float | None = 1.0) -> str:
        """The next message decoded as UTF-8 (see :meth:`receive_bytes`)."""
        return self.receive_bytes(timeout).decode("utf-8")

    def receive_json(self, timeout: float | None = 1.0) -> Any:
        """The next message parsed as JSON (see :meth:`receive_bytes`)."""
        return json.loads(self.receive_bytes(timeout))

    # -- closing -------------------------------------------------------------------------
    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection; the app gets ``$disconnect`` with ``code`` and ``reason``.

        Closing a closed connection does nothing.
        """
        self.client._close(self, code, reason)

    def __enter__(self) -> TestWebSocket:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<TestWebSocket {self.connection_id} {state}>"
