"""Two ways to reach an app as a WebSocket client, behind one interface.

``testclient`` drives the app through :class:`lift.testing.WebSocketTestClient`, in
process; ``gateway`` starts the local gateway (``lift dev``'s server) in process on
127.0.0.1 with an ephemeral port and talks to it with a real WebSocket client, the app's
own ``@connections`` calls crossing real HTTP. The conformance suite runs every rule
through both.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlencode

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from lift import App
from lift.local.gateway import Gateway
from lift.testing import WebSocketClosed, WebSocketRefused, WebSocketTestClient
from lift.testing.client import TestWebSocket

TIMEOUT = 5.0
USER_AGENT = "conformance/1"


class Refused(Exception):
    """The handshake was refused with ``status`` and ``body``."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"refused with {status}")
        self.status = status
        self.body = body


class Conn(Protocol):
    def send_text(self, text: str) -> None: ...
    def send_bytes(self, data: bytes) -> None: ...
    def receive_json(self, timeout: float = TIMEOUT) -> Any: ...
    def close(self, code: int = 1000, reason: str = "") -> None: ...
    def wait_closed(self, timeout: float = TIMEOUT) -> tuple[int | None, str | None]: ...
    @property
    def subprotocol(self) -> str | None: ...


class Driver(Protocol):
    name: str

    def start(self, app: App, **options: Any) -> None: ...
    def connect(
        self, query: Mapping[str, str] | None = None, subprotocols: Sequence[str] = ()
    ) -> Conn: ...
    def tick(self) -> None: ...
    def stop(self) -> None: ...


# -- the test client ---------------------------------------------------------------------
class _TestClientConn:
    def __init__(self, ws: TestWebSocket) -> None:
        self.ws = ws

    @property
    def subprotocol(self) -> str | None:
        return self.ws.accepted_subprotocol

    def send_text(self, text: str) -> None:
        with contextlib.suppress(WebSocketClosed):  # seen through wait_closed
            self.ws.send_text(text)

    def send_bytes(self, data: bytes) -> None:
        self.ws.send_bytes(data)

    def receive_json(self, timeout: float = TIMEOUT) -> Any:
        return self.ws.receive_json(timeout)

    def close(self, code: int = 1000, reason: str = "") -> None:
        self.ws.close(code, reason)

    def wait_closed(self, timeout: float = TIMEOUT) -> tuple[int | None, str | None]:
        try:
            while True:
                self.ws.receive_bytes(timeout)
        except WebSocketClosed as closed:
            return closed.code, closed.reason


class TestClientDriver:
    __test__ = False
    name = "testclient"

    def __init__(self) -> None:
        self.client: WebSocketTestClient | None = None

    def start(self, app: App, **options: Any) -> None:
        options.setdefault("user_agent", USER_AGENT)
        self.client = WebSocketTestClient(app, **options)

    def connect(
        self, query: Mapping[str, str] | None = None, subprotocols: Sequence[str] = ()
    ) -> Conn:
        assert self.client is not None
        try:
            return _TestClientConn(
                self.client.connect(query=query, subprotocols=list(subprotocols) or None)
            )
        except WebSocketRefused as refused:
            raise Refused(refused.status_code, (refused.body or "").encode()) from None

    def tick(self) -> None:
        """Let time-based rules act (the test client has no timer of its own)."""
        assert self.client is not None
        self.client.expire()

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()


# -- the local gateway -------------------------------------------------------------------
class _GatewayConn:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    @property
    def subprotocol(self) -> str | None:
        return self.ws.subprotocol

    def send_text(self, text: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            self.ws.send(text)

    def send_bytes(self, data: bytes) -> None:
        with contextlib.suppress(ConnectionClosed):
            self.ws.send(data)

    def receive_json(self, timeout: float = TIMEOUT) -> Any:
        return json.loads(self.ws.recv(timeout=timeout))

    def close(self, code: int = 1000, reason: str = "") -> None:
        self.ws.close(code, reason)

    def wait_closed(self, timeout: float = TIMEOUT) -> tuple[int | None, str | None]:
        deadline = time.monotonic() + timeout
        try:
            while True:
                self.ws.recv(timeout=max(0.01, deadline - time.monotonic()))
        except ConnectionClosed as closed:
            frame = closed.rcvd
            return (frame.code, frame.reason) if frame is not None else (None, None)


class GatewayDriver:
    name = "gateway"

    def __init__(self) -> None:
        self.gateway: Gateway | None = None
        self.sockets = contextlib.ExitStack()

    def start(self, app: App, **options: Any) -> None:
        options.setdefault("quiet", True)
        options.setdefault("direct_management", False)  # the app's calls cross real HTTP
        self.gateway = Gateway(app, **options)
        self.gateway.start()

    def connect(
        self, query: Mapping[str, str] | None = None, subprotocols: Sequence[str] = ()
    ) -> Conn:
        assert self.gateway is not None
        url = self.gateway.ws_url + (f"?{urlencode(query)}" if query else "")
        offered = [Subprotocol(name) for name in subprotocols] or None
        try:
            ws = self.sockets.enter_context(
                connect(
                    url, open_timeout=TIMEOUT, user_agent_header=USER_AGENT, subprotocols=offered
                )
            )
        except InvalidStatus as refused:
            response = refused.response
            raise Refused(response.status_code, response.body or b"") from None
        return _GatewayConn(ws)

    def tick(self) -> None:
        """The gateway's own sweeper applies time-based rules."""

    def stop(self) -> None:
        self.sockets.close()
        if self.gateway is not None:
            self.gateway.stop()


DRIVERS = {"testclient": TestClientDriver, "gateway": GatewayDriver}
