"""A local ``@connections`` Management API endpoint that behaves like API Gateway's.

:class:`ConnectionsServer` serves :func:`lift.apigw.management.handle_connections_request`
(the I/O-free answers) over real HTTP so that boto3's ``apigatewaymanagementapi``
client can talk to it. Connections live in a :class:`ConnectionRegistry` (the local
gateway's live sockets, or the model's :class:`~lift.apigw.connections.ConnectionTable`,
also named :class:`MemoryConnectionRegistry`).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import KW_ONLY, dataclass, field
from types import TracebackType
from typing import Any

from ..apigw.connections import ConnectionTable, connection_info, iso_timestamp
from ..apigw.limits import MAX_FRAME_BYTES
from ..apigw.management import (
    ConnectionRegistry,
    handle_connections_request,
    parse_connections_path,
)
from .address import LocalAddress

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "ConnectionRegistry",
    "ConnectionsServer",
    "MemoryConnectionRegistry",
    "connection_info",
    "handle_connections_request",
    "iso_timestamp",
    "parse_connections_path",
]

MAX_PAYLOAD_BYTES = MAX_FRAME_BYTES
"""API Gateway's limit for one WebSocket frame posted through ``@connections``."""

MemoryConnectionRegistry = ConnectionTable
"""The API Gateway model's connection table, as the endpoint's registry in tests."""

_MAX_BODY_BYTES = 8 * MAX_FRAME_BYTES  # read enough to answer 413 rather than drop


@dataclass(eq=False)
class ConnectionsServer(LocalAddress):
    """A real HTTP server for ``@connections`` on ``host`` (an ephemeral port by default)
    over ``registry`` (a new :class:`MemoryConnectionRegistry` by default).

        aiohttp serves it on an event loop in a daemon thread, so simulated ``latency``
        (seconds added to every request) costs no thread, and HTTP/1.1 keep-alive and
        chunked bodies are handled by the library. Point boto3 at :attr:`endpoint`. The
        next ``throttle_first`` requests are answered 429 ``LimitExceededException`` (the
        attribute may be set at any time). ``calls`` records ``(method, connection_id)``
        for each ``@connections`` request, ``request_count`` every HTTP request received.
    """

    registry: ConnectionRegistry = field(default_factory=ConnectionTable)
    _: KW_ONLY
    host: str = "127.0.0.1"
    port: int = 0
    stage: str = "test"
    latency: float = 0.0
    throttle_first: int = 0
    calls: list[tuple[str, str]] = field(default_factory=list, init=False)
    request_count: int = field(default=0, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False, repr=False)
    _runner: Any = field(default=None, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)

    def start(self) -> ConnectionsServer:
        """Bind and serve in a daemon thread; returns ``self``."""
        if self._thread is not None:
            return self
        from aiohttp import web

        loop = asyncio.new_event_loop()
        server = web.Application(client_max_size=_MAX_BODY_BYTES)
        server.router.add_route("*", "/{tail:.*}", self._serve)
        runner = web.AppRunner(server, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        try:
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, self.host, self.port, backlog=1024, reuse_address=True)
            loop.run_until_complete(site.start())
        except BaseException:
            loop.run_until_complete(runner.cleanup())
            loop.close()
            raise
        self.port = int(runner.addresses[0][1])
        self._loop, self._runner = loop, runner
        self._thread = threading.Thread(
            target=loop.run_forever, name=f"lift-connections-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every kept-alive connection."""
        loop, thread, runner = self._loop, self._thread, self._runner
        if loop is None or thread is None:
            return
        self._loop = self._thread = self._runner = None
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()

    async def _serve(self, request: Any) -> Any:
        from aiohttp import web

        throttled = self._record(request.method, request.raw_path)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            body = b"x" * (MAX_FRAME_BYTES + 1)  # answered 413 by the model, like any oversize
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        status, headers, payload = handle_connections_request(
            self.registry,
            request.method,
            request.raw_path,
            body,
            stage=self.stage,
            throttled=throttled,
        )
        return web.Response(status=status, headers=headers, body=payload)

    def reset(self) -> None:
        """Forget ``calls`` and ``request_count`` (the registry is untouched)."""
        with self._lock:
            self.calls.clear()
            self.request_count = 0

    def _record(self, method: str, path: str) -> bool:
        """Count one request; whether fault injection throttles it."""
        try:
            connection_id = parse_connections_path(path)
        except LookupError:  # pragma: no cover - no stage given, never raised
            connection_id = None
        with self._lock:
            self.request_count += 1
            if connection_id is not None:
                self.calls.append((method.upper(), connection_id))
            if self.throttle_first > 0:
                self.throttle_first -= 1
                return True
            return False

    def __enter__(self) -> ConnectionsServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
