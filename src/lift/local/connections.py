"""A local ``@connections`` Management API endpoint that behaves like API Gateway's.

:class:`ConnectionsServer` serves :func:`lift.apigw.management.handle_connections_request`
(the I/O-free answers) over real HTTP so that boto3's ``apigatewaymanagementapi``
client can talk to it. Connections live in a :class:`ConnectionRegistry` (the local
gateway's live sockets, or the model's :class:`~lift.apigw.connections.ConnectionTable`,
also named :class:`MemoryConnectionRegistry`).
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType

from ..apigw.connections import ConnectionTable, connection_info, iso_timestamp
from ..apigw.limits import MAX_FRAME_BYTES
from ..apigw.management import (
    ConnectionRegistry,
    handle_connections_request,
    parse_connections_path,
)

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

_MAX_HEADER_BYTES = 64 * 1024
_REASONS = {200: "OK", 204: "No Content", 400: "Bad Request"}


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks: list[bytes] = []
        while True:
            size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(await reader.readexactly(size))
            await reader.readline()
    length = int(headers.get("content-length") or 0)
    return await reader.readexactly(length) if length > 0 else b""


class ConnectionsServer:
    """A real HTTP server for ``@connections`` on ``host`` (an ephemeral port by default).

    It runs an asyncio loop in a daemon thread, so simulated ``latency`` (seconds added
    to every request) costs no thread, and HTTP/1.1 keep-alive is honoured. Point
    boto3 at :attr:`endpoint`. The next ``throttle_first`` requests are answered 429
    ``LimitExceededException`` (the attribute may be set at any time). ``calls`` records
    ``(method, connection_id)`` for each ``@connections`` request, ``request_count``
    every HTTP request received.
    """

    def __init__(
        self,
        registry: ConnectionRegistry | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        stage: str = "test",
        latency: float = 0.0,
        throttle_first: int = 0,
    ) -> None:
        self.registry: ConnectionRegistry = (
            registry if registry is not None else MemoryConnectionRegistry()
        )
        self.host = host
        self.port = port
        self.stage = stage
        self.latency = latency
        self.throttle_first = throttle_first
        self.calls: list[tuple[str, str]] = []
        self.request_count = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        """``http://host:port`` (no stage)."""
        return f"http://{self.host}:{self.port}"

    @property
    def endpoint(self) -> str:
        """``http://host:port/{stage}``: the Management API endpoint to give boto3."""
        return f"{self.url}/{self.stage}"

    def start(self) -> ConnectionsServer:
        """Bind and serve in a daemon thread; returns ``self``."""
        if self._thread is not None:
            return self
        loop = asyncio.new_event_loop()
        server = loop.run_until_complete(
            asyncio.start_server(self._serve, self.host, self.port, backlog=1024)
        )
        self.port = server.sockets[0].getsockname()[1]
        self._loop, self._server = loop, server
        self._thread = threading.Thread(
            target=loop.run_forever, name=f"lift-connections-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every kept-alive connection."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self._loop = self._thread = None

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._writers):
                writer.close()
            if self._server is not None:
                await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while await self._serve_one(reader, writer):
                pass
        except (
            asyncio.IncompleteReadError,
            ConnectionError,
            ValueError,
            asyncio.LimitOverrunError,
        ):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > _MAX_HEADER_BYTES:
            return False
        lines = head.decode("latin-1").split("\r\n")
        method, path, _version = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        body = await _read_body(reader, headers)
        throttled = self._record(method, path)
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        status, response_headers, payload = handle_connections_request(
            self.registry, method, path, body, stage=self.stage, throttled=throttled
        )
        keep_alive = headers.get("connection", "").lower() != "close"
        out = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}"]
        out.extend(f"{name}: {value}" for name, value in response_headers.items())
        out.append(f"Content-Length: {len(payload)}")
        if not keep_alive:
            out.append("Connection: close")
        writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + payload)
        await writer.drain()
        return keep_alive

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
