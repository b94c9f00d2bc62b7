"""A local ``@connections`` Management API endpoint that behaves like API Gateway's.

:func:`handle_connections_request` is the protocol-agnostic core (method, path and body
in; status, headers and body out); :class:`ConnectionsServer` serves it over real HTTP
so that boto3's ``apigatewaymanagementapi`` client can talk to it. Connections live in
a :class:`ConnectionRegistry` (the local gateway's live sockets, or
:class:`MemoryConnectionRegistry` in tests).

Wire format (the REST-JSON protocol of ``apigatewaymanagementapi``): ``GetConnection``
answers ``{"connectedAt", "lastActiveAt", "identity": {"sourceIp", "userAgent"}}`` with
ISO-8601 timestamps; errors carry ``{"message": ...}`` and the ``x-amzn-ErrorType``
header from which botocore builds ``GoneException`` and friends.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from types import TracebackType
from typing import Any, Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

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

MAX_PAYLOAD_BYTES = 128 * 1024
"""API Gateway's limit for one WebSocket frame posted through ``@connections``."""

Headers = dict[str, str]


def iso_timestamp(moment: datetime) -> str:
    """``moment`` as API Gateway writes it: UTC, milliseconds, ``Z`` suffix."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def connection_info(
    connected_at: datetime, last_active_at: datetime, source_ip: str, user_agent: str
) -> dict[str, Any]:
    """The value :meth:`ConnectionRegistry.info` returns, built from its parts."""
    return {
        "ConnectedAt": iso_timestamp(connected_at),
        "LastActiveAt": iso_timestamp(last_active_at),
        "Identity": {"SourceIp": source_ip, "UserAgent": user_agent},
    }


@runtime_checkable
class ConnectionRegistry(Protocol):
    """The live connections an ``@connections`` endpoint manages."""

    def post(self, connection_id: str, data: bytes) -> bool:
        """Deliver ``data`` to the connection; ``False`` when it is unknown or closed."""

    def info(self, connection_id: str) -> dict[str, Any] | None:
        """``{"ConnectedAt", "LastActiveAt", "Identity": {"SourceIp", "UserAgent"}}``.

        Timestamps are ISO-8601 strings (see :func:`iso_timestamp`); ``None`` when the
        connection is unknown or closed. The lower-camel wire names are accepted too.
        """

    def delete(self, connection_id: str) -> bool:
        """Close the connection; ``False`` when it is unknown or already closed."""


class _MemoryConnection:
    __slots__ = ("connected_at", "last_active_at", "messages", "open", "source_ip", "user_agent")

    def __init__(self, source_ip: str, user_agent: str) -> None:
        now = datetime.now(timezone.utc)
        self.connected_at = now
        self.last_active_at = now
        self.source_ip = source_ip
        self.user_agent = user_agent
        self.messages: list[bytes] = []
        self.open = True


class MemoryConnectionRegistry:
    """A thread-safe in-memory :class:`ConnectionRegistry` for tests.

    Posted messages are kept per connection (also after it closes); ``deleted`` lists
    the ids closed through ``DELETE @connections``, in order.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connections: dict[str, _MemoryConnection] = {}
        self.deleted: list[str] = []

    def open(
        self, connection_id: str, source_ip: str = "127.0.0.1", user_agent: str = "test"
    ) -> None:
        """Open (or reopen) ``connection_id``."""
        with self._lock:
            self._connections[connection_id] = _MemoryConnection(source_ip, user_agent)

    def close(self, connection_id: str) -> None:
        """Close ``connection_id`` as if the client went away; later posts get 410."""
        with self._lock:
            connection = self._connections.get(connection_id)
            if connection is not None:
                connection.open = False

    def is_open(self, connection_id: str) -> bool:
        """Whether ``connection_id`` is open."""
        with self._lock:
            connection = self._connections.get(connection_id)
            return connection is not None and connection.open

    def messages(self, connection_id: str) -> list[bytes]:
        """A copy of what was posted to ``connection_id``, oldest first."""
        with self._lock:
            connection = self._connections.get(connection_id)
            return list(connection.messages) if connection is not None else []

    def post(self, connection_id: str, data: bytes) -> bool:
        """Record ``data`` for an open connection."""
        with self._lock:
            connection = self._connections.get(connection_id)
            if connection is None or not connection.open:
                return False
            connection.messages.append(bytes(data))
            connection.last_active_at = datetime.now(timezone.utc)
            return True

    def info(self, connection_id: str) -> dict[str, Any] | None:
        """Connection facts in ``GetConnection`` form, or ``None``."""
        with self._lock:
            connection = self._connections.get(connection_id)
            if connection is None or not connection.open:
                return None
            return connection_info(
                connection.connected_at,
                connection.last_active_at,
                connection.source_ip,
                connection.user_agent,
            )

    def delete(self, connection_id: str) -> bool:
        """Close an open connection and record its id in ``deleted``."""
        with self._lock:
            connection = self._connections.get(connection_id)
            if connection is None or not connection.open:
                return False
            connection.open = False
            self.deleted.append(connection_id)
            return True


def _error(status: int, error_type: str, message: str) -> tuple[int, Headers, bytes]:
    headers = {
        "Content-Type": "application/json",
        "x-amzn-RequestId": str(uuid.uuid4()),
        "x-amzn-ErrorType": error_type,
    }
    return status, headers, json.dumps({"message": message}).encode()


def _pick(mapping: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in mapping:
            return mapping[name]
    return None


def _wire_info(info: Mapping[str, Any]) -> dict[str, Any]:
    """Translate a registry's ``info`` dict to the lower-camel wire form."""
    identity = _pick(info, "Identity", "identity") or {}
    return {
        "connectedAt": _pick(info, "ConnectedAt", "connectedAt"),
        "identity": {
            "sourceIp": _pick(identity, "SourceIp", "sourceIp"),
            "userAgent": _pick(identity, "UserAgent", "userAgent"),
        },
        "lastActiveAt": _pick(info, "LastActiveAt", "lastActiveAt"),
    }


def parse_connections_path(path: str, stage: str | None = None) -> str | None:
    """The URL-decoded connection id of ``[/{stage}]/@connections/{id}``, else ``None``.

    Raises :class:`LookupError` when the path names a stage other than ``stage``.
    """
    segments = urlsplit(path).path.split("/")
    segments = [unquote(s) if s.lower() == "%40connections" else s for s in segments]
    if segments and segments[0] == "":
        segments = segments[1:]
    if len(segments) == 3 and segments[1] == "@connections":
        if stage is not None and unquote(segments[0]) != stage:
            raise LookupError(segments[0])
        segments = segments[1:]
    if len(segments) != 2 or segments[0] != "@connections" or not segments[1]:
        return None
    return unquote(segments[1])


def handle_connections_request(
    registry: ConnectionRegistry,
    method: str,
    path: str,
    body: bytes,
    *,
    stage: str | None = None,
    throttled: bool = False,
) -> tuple[int, Headers, bytes]:
    """Answer one ``@connections`` request as API Gateway does.

    ``path`` is ``/{stage}/@connections/{id}`` or ``/@connections/{id}`` (a query string
    is ignored); with ``stage`` set, another stage gets 403 ``ForbiddenException``.
    POST → 200 with no body; GET → 200 JSON; DELETE → 204; an unknown or closed id →
    410 ``GoneException``; a body over 128 KiB → 413 ``PayloadTooLargeException``;
    ``throttled`` → 429 ``LimitExceededException``; a registry that raises → 500
    ``InternalServerErrorException``. Other paths get 404, other methods 405. The
    transport adds ``Content-Length``.
    """
    try:
        connection_id = parse_connections_path(path, stage)
    except LookupError:
        return _error(403, "ForbiddenException", "Forbidden")
    if connection_id is None:
        return _error(404, "NotFoundException", "Not Found")
    method = method.upper()
    if method not in ("POST", "GET", "DELETE"):
        status, headers, payload = _error(405, "MethodNotAllowedException", "Method Not Allowed")
        headers["Allow"] = "DELETE, GET, POST"
        return status, headers, payload
    if throttled:
        return _error(429, "LimitExceededException", "Rate exceeded")
    try:
        return _dispatch(registry, method, connection_id, body)
    except Exception:  # noqa: BLE001 - a failing registry is API Gateway's 500, not a crash
        return _error(500, "InternalServerErrorException", "Internal server error")


def _dispatch(
    registry: ConnectionRegistry, method: str, connection_id: str, body: bytes
) -> tuple[int, Headers, bytes]:
    headers: Headers = {"x-amzn-RequestId": str(uuid.uuid4())}
    if method == "POST":
        if len(body) > MAX_PAYLOAD_BYTES:
            return _error(413, "PayloadTooLargeException", "Request Entity Too Large")
        if not registry.post(connection_id, body):
            return _error(410, "GoneException", "Gone")
        return 200, headers, b""
    if method == "GET":
        info = registry.info(connection_id)
        if info is None:
            return _error(410, "GoneException", "Gone")
        headers["Content-Type"] = "application/json"
        return 200, headers, json.dumps(_wire_info(info)).encode()
    if not registry.delete(connection_id):
        return _error(410, "GoneException", "Gone")
    return 204, headers, b""


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
