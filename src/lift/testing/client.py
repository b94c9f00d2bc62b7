"""WebSocketTestClient: drive an app's WebSocket routes in process, as API Gateway would.

No network and no AWS: a synchronous driver of the API Gateway model
(:class:`lift.apigw.WebSocketApi`, built from ``ApiDefinition.from_app(app)``). Each
``connect``/``send``/``close`` asks the model what API Gateway does, builds the event
it sends and calls ``app(event, lambda_context)``. The app's ``@connections`` calls go
to the model's connection table, so what it sends arrives in the right test
connection's inbox::

    with WebSocketTestClient(app) as client, client.connect(query={"room": "1"}) as ws:
        ws.send_json({"action": "chat", "text": "hi"})
        assert ws.receive_json() == {"text": "hi"}

The rules (which routes are deployed, route selection and ``Forbidden``, ``$connect``
refusals, route responses, 1009 over 128 KiB, 1003 for binary frames, ``$disconnect``
codes and reasons) are the model's, shared with ``lift dev`` and ``lift template``.
A connection exists only once ``$connect`` returned 2xx, so posting to it from the
``$connect`` handler is answered Gone, as on AWS. A server-side ``DeleteConnection``
closes the test connection, then fires ``$disconnect`` (1000 ``"Connection Closed
Normally"``) after the invocation that deleted it has returned.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..apigw import (
    IDLE_TIMEOUT,
    INTEGRATION_TIMEOUT,
    MAX_LIFETIME,
    Accept,
    ApiDefinition,
    Close,
    CloseCode,
    Invoke,
    LambdaContext,
    Reply,
    WebSocketApi,
    close_reason,
)
from ..websocket.errors import ConnectionGoneError
from . import events
from .events._shared import _domain
from .websocket import TestWebSocket, WebSocketClosed, WebSocketRefused

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

_EXECUTE_API = re.compile(r"^([A-Za-z0-9]+)\.execute-api\.([a-z0-9-]+)\.amazonaws\.com")


FakeLambdaContext = LambdaContext
"""The Lambda context the test client passes (:class:`lift.apigw.LambdaContext`)."""


def lambda_context(
    function_name: str = "lift-app",
    *,
    memory_limit_in_mb: int = 128,
    timeout: float = 3.0,
    region: str = events.REGION,
    account_id: str = events.ACCOUNT_ID,
    aws_request_id: str | None = None,
) -> LambdaContext:
    """A fresh Lambda context (a new ``aws_request_id`` unless one is given)."""
    return LambdaContext(
        function_name,
        memory_limit_in_mb=memory_limit_in_mb,
        timeout=timeout,
        region=region,
        account_id=account_id,
        aws_request_id=aws_request_id,
    )


# -- the client ------------------------------------------------------------------------
class WebSocketTestClient:
    """Open test connections to ``app`` and drive its WebSocket routes in process.

    A synchronous driver of :class:`lift.apigw.WebSocketApi` built from
    ``ApiDefinition.from_app(app)``. While the client is open, ``app.management_api``
    is the model's connection table (:attr:`management_api`); :meth:`close` (or leaving
    the ``with`` block) closes the connections still open and restores the previous
    value. ``lambda_context`` is a factory called for every invocation (default:
    :func:`lambda_context`). An invocation that takes longer than
    ``integration_timeout`` seconds is answered as API Gateway answers a timeout (504
    on ``$connect``, its timeout message for a message) once the handler returns.
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
        route_responses: bool | None = None,
        idle_timeout: float = IDLE_TIMEOUT,
        max_lifetime: float = MAX_LIFETIME,
        integration_timeout: float = INTEGRATION_TIMEOUT,
    ) -> None:
        self.app = app
        self.integration_timeout = integration_timeout
        self.stage = stage
        match = _EXECUTE_API.match(domain_name or "")
        self.api_id = api_id or (match.group(1) if match else events.API_ID)
        self.domain_name = domain_name or _domain(self.api_id, events.REGION)
        self.source_ip = source_ip
        self.user_agent = user_agent
        self.route_responses = route_responses
        self._context_factory = lambda_context or _default_context
        self.api = WebSocketApi.for_app(
            app,
            route_responses=route_responses,
            idle_timeout=idle_timeout,
            max_lifetime=max_lifetime,
        )
        """The API Gateway model this client drives."""
        self.management_api = self.api.connections
        self.management_api.on_delete = self._on_server_delete
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

    @property
    def definition(self) -> ApiDefinition:
        """What API Gateway deploys for the app (routes, selection, route responses)."""
        return self.api.definition

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
        extra: dict[str, Any] = {} if path == "/" else {"http_method": "GET", "path": path}
        step = self.api.connect()
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
            request_id=step.request_id if isinstance(step, Invoke) else None,
            **extra,
        )
        response: dict[str, Any] = {}
        if isinstance(step, Invoke):
            result, timed_out = self._timed_invoke(event)
            response = result if isinstance(result, dict) else {}
            outcome = self.api.connect_answered(result, timed_out=timed_out)
            if not isinstance(outcome, Accept):
                text = outcome.body.decode("utf-8", "replace") if outcome.body else None
                raise WebSocketRefused(outcome.status, text, outcome.headers)
            step = outcome
        options = events.connection_options(event)
        connected_at_ms = event["requestContext"]["connectedAt"]
        inbox = self.api.opened(
            connection_id,
            source_ip=self.source_ip,
            user_agent=user_agent,
            connected_at=datetime.fromtimestamp(connected_at_ms / 1000, timezone.utc),
        )
        ws = TestWebSocket(
            self,
            options,
            authorizer=authorizer,
            connect_response=response,
            accepted_subprotocol=step.subprotocol,
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
        """Close every open connection (1001, ``$disconnect`` fired) and uninstall the table."""
        if not self._open:
            return
        for ws in self.connections:
            self._close(ws, int(CloseCode.GOING_AWAY), close_reason(CloseCode.GOING_AWAY))
        self._open = False
        if self.app.management_api is self.management_api:
            self.app.management_api = self._previous
        if self.fanout_queue is not None:
            self.fanout_queue.detach()

    def __enter__(self) -> WebSocketTestClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def expire(self) -> list[TestWebSocket]:
        """Close what API Gateway would close by now: connections idle for
        ``idle_timeout`` seconds or older than ``max_lifetime`` (1001 ``Going away``,
        ``$disconnect`` fired). Returns them."""
        expired = []
        for connection_id, step in self.api.expired():
            with self._lock:
                ws = self._sockets.get(connection_id)
            if ws is not None:
                self._close(ws, step.code, step.reason)
                expired.append(ws)
        return expired

    # -- events --------------------------------------------------------------------------
    def has_route(self, route_key: str) -> bool:
        """Whether the emulated API deploys ``route_key`` (see :class:`ApiDefinition`)."""
        return self.definition.has_route(route_key)

    def route_key_for(self, body: str) -> str | None:
        """The route key API Gateway would pick for ``body``; ``None`` when none matches."""
        return self.definition.select(body)

    def _message(self, ws: TestWebSocket, text: str) -> dict[str, Any] | None:
        step = self.api.receive_text(ws.connection_id, text)
        if step is None:
            raise ConnectionGoneError(ws.connection_id)
        if isinstance(step, Close):
            self._close(ws, step.code, step.reason)
            raise WebSocketClosed(step.code, step.reason)
        if isinstance(step, Reply):
            self.management_api.deliver(ws.connection_id, step.data)
            return None
        event = events.websocket_message(
            text, route_key=step.route_key, request_id=step.request_id, **ws.event_options
        )
        result, timed_out = self._timed_invoke(event, fanout=False)
        reply = self.api.answered(ws.connection_id, step, result, timed_out=timed_out)
        if reply is not None:
            self.management_api.deliver(ws.connection_id, reply.data)
        if self.fanout_queue is not None:  # after the route response, as on AWS
            self.fanout_queue.drain()
        return result if isinstance(result, dict) else {"statusCode": 200}

    def _binary(self, ws: TestWebSocket, data: bytes) -> None:
        step = self.api.receive_binary(ws.connection_id, data)
        if step is None:
            raise ConnectionGoneError(ws.connection_id)
        self._close(ws, step.code, step.reason)

    def _close(self, ws: TestWebSocket, code: int, reason: str) -> None:
        step = self.api.closed(ws.connection_id, code, reason)
        if step is not None:
            self._disconnect(ws, step)

    def _disconnect(self, ws: TestWebSocket, step: Invoke) -> None:
        code = step.close_code if step.close_code is not None else int(CloseCode.ABNORMAL)
        event = events.websocket_disconnect(
            status_code=code, reason=step.close_reason or "", **ws.event_options
        )
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
                self._close(ws, ws.close_code or 1000, ws.close_reason or "")
        finally:
            with self._lock:
                self._draining = False

    def _timed_invoke(self, event: dict[str, Any], *, fanout: bool = True) -> tuple[Any, bool]:
        """The app's answer and whether it came later than the integration timeout."""
        started = time.monotonic()
        result = self._invoke(event, fanout=fanout)
        return result, time.monotonic() - started > self.integration_timeout

    def _invoke(self, event: dict[str, Any], *, fanout: bool = True) -> Any:
        with self._lock:
            self._depth += 1
        try:
            return self.app(event, self._context_factory())
        finally:
            with self._lock:
                self._depth -= 1
                idle = self._depth == 0
            if idle and fanout and self.fanout_queue is not None:
                self.fanout_queue.drain()
            if idle:
                self._drain()

    def __repr__(self) -> str:
        return f"<WebSocketTestClient open={len(self.connections)}>"


def _default_context() -> LambdaContext:
    return lambda_context()
