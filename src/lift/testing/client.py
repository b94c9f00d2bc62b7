"""WebSocketTestClient: drive an app's WebSocket routes in process, as API Gateway would.

No network and no AWS: each ``connect``/``send``/``close`` builds the event API Gateway
sends and calls ``app(event, lambda_context)`` synchronously. The app's ``@connections``
calls go to a :class:`~lift.testing.fake_management.FakeManagementAPI`, so what it sends
arrives in the right test connection's inbox::

    with WebSocketTestClient(app) as client, client.connect(query={"room": "1"}) as ws:
        ws.send_json({"action": "chat", "text": "hi"})
        assert ws.receive_json() == {"text": "hi"}

Behaviour that follows API Gateway:

* The app is the integration of every route it can answer (see :meth:`has_route`).
  ``$connect`` and ``$disconnect`` always reach it: without a handler of their own the
  app accepts them (after its middleware, such as auth, ran), and ``$default`` never
  receives them.
* ``$connect`` answered with a non-2xx status refuses the connection
  (:class:`WebSocketRefused`); the connection exists only once ``$connect`` returned 2xx,
  so posting to it from the ``$connect`` handler is answered Gone, as on AWS.
* Messages are routed by the app's route selection expression
  (``WebSocketOptions.route_selection``, default ``$request.body.action``); a body that
  is not JSON, or selects no registered route, goes to ``$default``. When there is no
  ``$default`` either, the app is not invoked and the client receives API Gateway's
  ``{"message": "Forbidden", ...}`` answer.
* A route's integration response body is delivered to the sender, as when the route has
  a route response (two-way communication). Without a body nothing is delivered; pass
  ``route_responses=False`` to emulate routes without a route response.
* A message over 128 KiB closes the connection with 1009, as API Gateway does.
* ``ws.close(code, reason)`` fires ``$disconnect`` with that code and reason. A server-side
  ``DeleteConnection`` (``ctx.websocket.disconnect()``) closes the test connection and
  then fires ``$disconnect`` with 1000 ``"Connection Closed Normally"`` (what API Gateway
  reports), after the invocation that deleted it has returned.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..websocket.errors import ConnectionGoneError
from ..websocket.payload import MAX_PAYLOAD_BYTES
from ..websocket.route_selection import DEFAULT_ROUTE_SELECTION, route_for
from . import events
from .fake_management import FakeManagementAPI, Inbox

if TYPE_CHECKING:
    from ..app import App

__all__ = [
    "FakeLambdaContext",
    "TestWebSocket",
    "WebSocketClosed",
    "WebSocketRefused",
    "WebSocketTestClient",
    "lambda_context",
]

_TOO_BIG = (1009, "Message too big")
_GOING_AWAY = (1001, "Going away")
_EXECUTE_API = re.compile(r"^([A-Za-z0-9]+)\.execute-api\.([a-z0-9-]+)\.amazonaws\.com")
_LIFECYCLE_KEYS = frozenset({"$connect", "$disconnect"})


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


# -- Lambda context ------------------------------------------------------------------
class FakeLambdaContext:
    """An object shaped like the ``context`` the Lambda Python runtime passes.

    ``memory_limit_in_mb`` is a string, as the runtime gives it.
    """

    def __init__(
        self,
        function_name: str,
        *,
        memory_limit_in_mb: int,
        timeout: float,
        region: str,
        account_id: str,
        aws_request_id: str | None = None,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
        self.memory_limit_in_mb = str(memory_limit_in_mb)
        self.aws_request_id = aws_request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        day = time.strftime("%Y/%m/%d", time.gmtime())
        self.log_stream_name = f"{day}/[$LATEST]{uuid.uuid4().hex}"
        self.identity: Any = None
        self.client_context: Any = None
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the invocation would time out."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def __repr__(self) -> str:
        return f"<FakeLambdaContext {self.function_name} {self.aws_request_id}>"


def lambda_context(
    function_name: str = "lift-app",
    *,
    memory_limit_in_mb: int = 128,
    timeout: float = 3.0,
    region: str = events.REGION,
    account_id: str = events.ACCOUNT_ID,
    aws_request_id: str | None = None,
) -> FakeLambdaContext:
    """A fresh Lambda context (a new ``aws_request_id`` unless one is given)."""
    return FakeLambdaContext(
        function_name,
        memory_limit_in_mb=memory_limit_in_mb,
        timeout=timeout,
        region=region,
        account_id=account_id,
        aws_request_id=aws_request_id,
    )


# -- route selection -----------------------------------------------------------------
# -- the test connection ---------------------------------------------------------------
class TestWebSocket:
    """One client connection; use it as a context manager (closes with 1000 on exit)."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        client: WebSocketTestClient,
        connection_id: str,
        *,
        connected_at_ms: int,
        user_agent: str,
        authorizer: Mapping[str, Any] | None,
        connect_response: dict[str, Any],
        inbox: Inbox,
    ) -> None:
        self.client = client
        self.connection_id = connection_id
        self.connected_at_ms = connected_at_ms
        self.user_agent = user_agent
        self.authorizer = dict(authorizer) if authorizer is not None else None
        self.connect_response = connect_response
        """The ``$connect`` integration response."""
        self.accepted_subprotocol = _header(connect_response, "Sec-WebSocket-Protocol")
        """The subprotocol the app chose (``Sec-WebSocket-Protocol``), if any."""
        self._inbox = inbox

    # -- state ----------------------------------------------------------------------
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
        is no ``$default``). Raises :class:`ConnectionGoneError` on a closed connection.
        """
        if self.closed:
            raise ConnectionGoneError(self.connection_id)
        if len(text.encode("utf-8")) > MAX_PAYLOAD_BYTES:
            self.client._close(self, *_TOO_BIG)
            raise WebSocketClosed(*_TOO_BIG)
        return self.client._message(self, text)

    def send_json(self, obj: Any) -> dict[str, Any] | None:
        """Send ``obj`` encoded as JSON (see :meth:`send_text`)."""
        return self.send_text(json.dumps(obj, separators=(",", ":")))

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

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<TestWebSocket {self.connection_id} {state}>"


def _header(response: Mapping[str, Any], name: str) -> str | None:
    headers = response.get("headers")
    if not isinstance(headers, dict):
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if str(key).lower() == wanted and isinstance(value, str):
            return value
    return None


def _body_bytes(response: Mapping[str, Any]) -> bytes | None:
    body = response.get("body")
    if not isinstance(body, str):
        return None
    if response.get("isBase64Encoded") is True:
        return base64.b64decode(body)
    return body.encode("utf-8")


# -- the client ------------------------------------------------------------------------
class WebSocketTestClient:
    """Open test connections to ``app`` and drive its WebSocket routes in process.

    While the client is open, ``app.management_api`` is a :class:`FakeManagementAPI`
    (:attr:`management_api`); :meth:`close` (or leaving the ``with`` block) closes the
    connections still open and restores the previous value. ``lambda_context`` is a
    factory called for every invocation (default: :func:`lambda_context`).
    """

    def __init__(
        self,
        app: App,
        *,
        stage: str = "test",
        domain_name: str | None = None,
        api_id: str | None = None,
        source_ip: str = "127.0.0.1",
        user_agent: str = "testclient",
        lambda_context: Callable[[], Any] | None = None,
        route_responses: bool = True,
    ) -> None:
        self.app = app
        self.stage = stage
        self.domain_name = (
            domain_name or f"{events.API_ID}.execute-api.{events.REGION}.amazonaws.com"
        )
        match = _EXECUTE_API.match(self.domain_name)
        self.api_id = api_id or (match.group(1) if match else events.API_ID)
        self.source_ip = source_ip
        self.user_agent = user_agent
        self.route_responses = route_responses
        self._context_factory = lambda_context or _default_context
        self.management_api = FakeManagementAPI(on_delete=self._on_server_delete)
        self._lock = threading.RLock()
        self._sockets: dict[str, TestWebSocket] = {}
        self._server_closed: deque[TestWebSocket] = deque()
        self._depth = 0
        self._draining = False
        self._previous = app.management_api
        app.management_api = self.management_api
        from ..websocket.fanout_queue import MemoryFanoutQueue

        self.fanout_queue = MemoryFanoutQueue.attach(app, context=self._context_factory)
        """The app's fan-out queue in memory (``None`` without ``FanoutOptions``); its
        shards are delivered after each invocation, before the call returns."""
        self._open = True

    # -- connections --------------------------------------------------------------------
    def connect(
        self,
        query: Mapping[str, str | Sequence[str]] | None = None,
        headers: Mapping[str, str] | None = None,
        subprotocols: Sequence[str] | None = None,
        path: str = "/",
        *,
        authorizer: Mapping[str, Any] | None = None,
        connection_id: str | None = None,
    ) -> TestWebSocket:
        """Open a connection: send ``$connect`` with the upgrade request's query and headers.

        ``subprotocols`` become ``Sec-WebSocket-Protocol``. ``authorizer`` is the context
        a Lambda authorizer would attach; it is carried on every event of the connection.
        ``path`` other than ``/`` is sent as the event's ``path`` (with ``httpMethod``).
        Raises :class:`WebSocketRefused` when the app answers a non-2xx status.
        """
        if not self._open:
            raise RuntimeError("The WebSocketTestClient is closed")
        connection_id = connection_id or events.new_connection_id()
        user_agent = self.user_agent
        for name, value in (headers or {}).items():
            if name.lower() == "user-agent":
                user_agent = value
        connected_at_ms = int(time.time() * 1000)
        extra: dict[str, Any] = {} if path == "/" else {"http_method": "GET", "path": path}
        event = events.websocket_connect(
            connection_id=connection_id,
            headers=headers,
            query=query,
            subprotocols=subprotocols,
            stage=self.stage,
            domain_name=self.domain_name,
            api_id=self.api_id,
            source_ip=self.source_ip,
            user_agent=user_agent,
            authorizer=authorizer,
            connected_at=connected_at_ms,
            **extra,
        )
        response = self._invoke(event)
        status = int(response.get("statusCode", 200))
        if not 200 <= status < 300:
            body = _body_bytes(response)
            text = body.decode("utf-8", "replace") if body is not None else None
            headers_out = response.get("headers")
            raise WebSocketRefused(
                status, text, dict(headers_out) if isinstance(headers_out, dict) else {}
            )
        inbox = self.management_api.open(
            connection_id,
            source_ip=self.source_ip,
            user_agent=user_agent,
            connected_at=datetime.fromtimestamp(connected_at_ms / 1000, timezone.utc),
        )
        ws = TestWebSocket(
            self,
            connection_id,
            connected_at_ms=connected_at_ms,
            user_agent=user_agent,
            authorizer=authorizer,
            connect_response=response,
            inbox=inbox,
        )
        with self._lock:
            self._sockets[connection_id] = ws
        return ws

    @property
    def connections(self) -> list[TestWebSocket]:
        """The open test connections."""
        with self._lock:
            sockets = list(self._sockets.values())
        return [ws for ws in sockets if not ws.closed]

    def close(self) -> None:
        """Close every open connection (1001, ``$disconnect`` fired) and uninstall the fake."""
        if not self._open:
            return
        for ws in self.connections:
            self._close(ws, *_GOING_AWAY)
        self._open = False
        if self.app.management_api is self.management_api:
            self.app.management_api = self._previous
        if self.fanout_queue is not None:
            self.fanout_queue.detach()

    def __enter__(self) -> WebSocketTestClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- events --------------------------------------------------------------------------
    def has_route(self, route_key: str) -> bool:
        """Whether the emulated API has ``route_key``: whether the app can answer it.

        ``$connect`` and ``$disconnect`` always reach the app (it accepts them when no
        handler is registered, after its middleware, such as auth, has run). Other
        keys exist when registered, or when the app has ``$default`` or a
        ``default_handler`` (the app is the integration of every route).
        """
        if route_key in _LIFECYCLE_KEYS:
            return True
        options = self.app.websocket_options
        return (
            route_key in self.app.websocket_routes
            or "$default" in self.app.websocket_routes
            or (options is not None and options.default_handler is not None)
        )

    def route_key_for(self, body: str) -> str | None:
        """The route key API Gateway would pick for ``body``; ``None`` when none matches."""
        options = self.app.websocket_options
        expression = options.route_selection if options is not None else DEFAULT_ROUTE_SELECTION
        route_key = route_for(expression, body, self.app.websocket_routes)
        if route_key != "$default":
            return route_key
        return "$default" if self.has_route("$default") else None

    def _common(self, ws: TestWebSocket) -> dict[str, Any]:
        return {
            "connection_id": ws.connection_id,
            "stage": self.stage,
            "domain_name": self.domain_name,
            "api_id": self.api_id,
            "source_ip": self.source_ip,
            "user_agent": ws.user_agent,
            "authorizer": ws.authorizer,
            "connected_at": ws.connected_at_ms,
        }

    def _message(self, ws: TestWebSocket, text: str) -> dict[str, Any] | None:
        self.management_api.touch(ws.connection_id)
        route_key = self.route_key_for(text)
        if route_key is None:
            answer = {
                "message": "Forbidden",
                "connectionId": ws.connection_id,
                "requestId": events.new_connection_id(),
            }
            self.management_api.deliver(ws.connection_id, json.dumps(answer).encode())
            return None
        event = events.websocket_message(text, route_key=route_key, **self._common(ws))
        response = self._invoke(event, fanout=False)
        if self.route_responses:
            body = _body_bytes(response)
            if body is not None:
                self.management_api.deliver(ws.connection_id, body)
        if self.fanout_queue is not None:  # after the route response, as on AWS
            self.fanout_queue.drain()
        return response

    def _close(self, ws: TestWebSocket, code: int, reason: str) -> None:
        if self.management_api.close(ws.connection_id, code, reason):
            self._disconnect(ws, code, reason)

    def _disconnect(self, ws: TestWebSocket, code: int, reason: str) -> None:
        event = events.websocket_disconnect(status_code=code, reason=reason, **self._common(ws))
        self._invoke(event)

    def _on_server_delete(self, connection_id: str) -> None:
        with self._lock:
            ws = self._sockets.get(connection_id)
            if ws is None:
                return
            self._server_closed.append(ws)
            idle = self._depth == 0
        if idle:
            self._drain()

    def _drain(self) -> None:
        """Fire ``$disconnect`` for connections the server deleted (one at a time)."""
        with self._lock:
            if self._draining:
                return
            self._draining = True
        try:
            while True:
                with self._lock:
                    if not self._server_closed:
                        return
                    ws = self._server_closed.popleft()
                self._disconnect(ws, ws.close_code or 1000, ws.close_reason or "")
        finally:
            with self._lock:
                self._draining = False

    def _invoke(self, event: dict[str, Any], *, fanout: bool = True) -> dict[str, Any]:
        with self._lock:
            self._depth += 1
        try:
            result = self.app(event, self._context_factory())
        finally:
            with self._lock:
                self._depth -= 1
                idle = self._depth == 0
            if idle and fanout and self.fanout_queue is not None:
                self.fanout_queue.drain()
            if idle:
                self._drain()
        return result if isinstance(result, dict) else {"statusCode": 200}

    def __repr__(self) -> str:
        return f"<WebSocketTestClient open={len(self.connections)}>"


def _default_context() -> FakeLambdaContext:
    return lambda_context()
