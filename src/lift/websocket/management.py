"""The ``@connections`` Management API: endpoint resolution and a retrying client.

botocore (credentials and request signing) is imported lazily. One client per
``(endpoint, region)`` is created per process (:func:`client_for`) and reused across
warm invocations. Throttling and 5xx answers are retried with exponential backoff and
full jitter, and every failure surfaces as one of the typed errors of
:mod:`lift.websocket.errors`.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import random
import re
import ssl
import threading
import time
import weakref
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Protocol, TypeVar, runtime_checkable
from urllib.parse import quote, urlsplit

from ..errors import LiftError
from .errors import (
    ConnectionGoneError,
    ForbiddenError,
    ManagementAPIError,
    PayloadTooLargeError,
    ThrottledError,
)

__all__ = [
    "ENDPOINT_ENV",
    "MAX_PAYLOAD_BYTES",
    "ManagementAPI",
    "ManagementClient",
    "ManagementHTTPError",
    "clear_clients",
    "client_for",
    "resolve_endpoint",
    "resolve_region",
]

from .payload import MAX_PAYLOAD_BYTES

ENDPOINT_ENV = "LIFT_WS_MANAGEMENT_ENDPOINT"

_EXECUTE_API = re.compile(
    r"^(?P<api_id>[A-Za-z0-9]+)\.execute-api\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)"
    r"\.amazonaws\.com(?:\.cn)?$"
)
_THROTTLE_CODES = frozenset(
    {
        "LimitExceededException",
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
    }
)


def _config_error(what: str, reason: str) -> LiftError:
    """A generic client-visible error; ``reason`` (for logs) rides on ``__cause__``."""
    error = LiftError(
        500, "WEBSOCKET_CONFIG_ERROR", f"The WebSocket management {what} is not configured"
    )
    error.__cause__ = ValueError(reason)
    return error


def _host(endpoint_or_domain: str) -> str:
    value = endpoint_or_domain.strip()
    if "://" in value:
        return (urlsplit(value).hostname or "").lower()
    return value.split("/", 1)[0].split(":", 1)[0].lower()


def _execute_api(endpoint_or_domain: str) -> re.Match[str] | None:
    return _EXECUTE_API.match(_host(endpoint_or_domain))


def resolve_region(endpoint_or_domain: str, *, option: str | None = None) -> str:
    """The region to sign ``@connections`` calls for.

    ``option`` (``WebSocketOptions.region``) wins; then the region in an
    ``{api}.execute-api.{region}.amazonaws.com`` host (the endpoint's own region is
    the one its signature must name); then ``AWS_REGION``, then ``AWS_DEFAULT_REGION``.
    Never a silent default: raises 500 ``WEBSOCKET_CONFIG_ERROR`` when none is known.
    """
    if option:
        return option
    match = _execute_api(endpoint_or_domain) if endpoint_or_domain else None
    if match is not None:
        return match.group("region")
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        value = os.environ.get(name)
        if value:
            return value
    raise _config_error(
        "region",
        f"no region for {endpoint_or_domain!r}: set WebSocketOptions.region or AWS_REGION",
    )


def resolve_endpoint(
    request_context: Mapping[str, Any],
    *,
    option: str | None = None,
    region: str | None = None,
) -> str:
    """The Management API endpoint for a WebSocket event's ``requestContext``.

    ``option`` (``WebSocketOptions.management_endpoint``), else env
    ``LIFT_WS_MANAGEMENT_ENDPOINT``, else ``https://{domainName}/{stage}`` for an
    ``execute-api`` domain, else (a custom domain)
    ``https://{apiId}.execute-api.{region}.amazonaws.com/{stage}`` with the region from
    :func:`resolve_region` (``region`` is the region option). No trailing slash.
    """
    explicit = option or os.environ.get(ENDPOINT_ENV)
    if explicit:
        explicit = explicit.strip().rstrip("/")
        return explicit if "://" in explicit else f"https://{explicit}"
    domain = str(request_context.get("domainName") or "")
    stage = str(request_context.get("stage") or "")
    if not stage:
        raise _config_error("endpoint", "the event's requestContext has no stage")
    if domain and _execute_api(domain) is not None:
        return f"https://{_host(domain)}/{stage}"
    api_id = str(request_context.get("apiId") or "")
    if not api_id:
        raise _config_error(
            "endpoint", "requestContext has neither an execute-api domainName nor an apiId"
        )
    resolved = resolve_region(domain, option=region)
    suffix = ".amazonaws.com.cn" if resolved.startswith("cn-") else ".amazonaws.com"
    return f"https://{api_id}.execute-api.{resolved}{suffix}/{stage}"


@runtime_checkable
class ManagementAPI(Protocol):
    """The three ``@connections`` operations, with typed errors.

    ``ConnectionGoneError`` (410), ``PayloadTooLargeError``, ``ForbiddenError``,
    ``ThrottledError`` (throttling or 5xx after every retry), ``ManagementAPIError``.
    """

    def post_to_connection(self, connection_id: str, data: bytes) -> None:
        """Send one frame to the connection."""

    def get_connection(self, connection_id: str) -> dict[str, Any]:
        """``{"ConnectedAt", "LastActiveAt"`` (aware datetimes), ``"Identity":
        {"SourceIp", "UserAgent"}}``."""

    def delete_connection(self, connection_id: str) -> None:
        """Close the connection."""


def _parse_time(value: Any) -> datetime | None:
    """An ISO-8601 timestamp from the wire as an aware UTC datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


T = TypeVar("T")


def _close_all(connections: set[http.client.HTTPConnection]) -> None:
    for connection in list(connections):
        connection.close()
    connections.clear()


class ManagementHTTPError(Exception):
    """What the ``@connections`` endpoint answered when it was not a success.

    Kept on ``__cause__`` of the typed errors for logs; never shown to clients.
    """

    def __init__(self, status: int, aws_code: str, message: str) -> None:
        super().__init__(f"{status} {aws_code}: {message}")
        self.status = status
        self.aws_code = aws_code


class ManagementClient:
    """:class:`ManagementAPI` over HTTPS, signed with AWS Signature Version 4.

    Credentials come from botocore's provider chain (environment, container,
    instance profile...) and requests are signed with botocore's ``SigV4Auth`` for
    the ``execute-api`` service, exactly as the ``apigatewaymanagementapi`` client
    signs them. Each thread keeps its own HTTP/1.1 keep-alive connection. Skipping
    the generic boto3 client machinery cuts the CPU cost of one call about threefold,
    which is what bounds a broadcast when many sends share one Lambda vCPU.

    Throttling (``LimitExceededException``, ``TooManyRequestsException``, 429), 5xx and
    connection failures are tried ``max_attempts`` times in all, sleeping
    ``uniform(0, min(max_delay, base_delay * 2**attempt))`` between tries.
    ``credentials`` injects botocore credentials (tests, assumed roles). Thread-safe.
    """

    def __init__(
        self,
        endpoint: str,
        region: str,
        *,
        credentials: Any = None,
        max_attempts: int = 5,
        base_delay: float = 0.05,
        max_delay: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 5.0,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.endpoint = endpoint.rstrip("/")
        self.region = region
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.timeout = timeout
        parts = urlsplit(self.endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"Not an http(s) endpoint: {endpoint!r}")
        self._https = parts.scheme == "https"
        self._netloc = parts.netloc
        self._host = parts.hostname
        self._port = parts.port
        self._base_path = parts.path.rstrip("/")
        self._sleep = sleep
        self._credentials = credentials
        self._lock = threading.Lock()
        self._local = threading.local()
        self._open: set[http.client.HTTPConnection] = set()
        self._pool: _AsyncPool | None = None
        weakref.finalize(self, _close_all, self._open)

    def close(self) -> None:
        """Close every kept-alive connection (they reopen on the next call)."""
        _close_all(self._open)
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def __repr__(self) -> str:
        return f"ManagementClient(endpoint={self.endpoint!r}, region={self.region!r})"

    def backoff(self, attempt: int) -> float:
        """Full-jitter delay before retry number ``attempt + 1`` (``attempt`` from 0)."""
        ceiling = min(self.max_delay, self.base_delay * 2**attempt)
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography

    def post_to_connection(self, connection_id: str, data: bytes) -> None:
        """Send ``data``; over 128 KiB raises ``PayloadTooLargeError`` before any call."""
        payload = bytes(data)
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise PayloadTooLargeError(len(payload), MAX_PAYLOAD_BYTES)
        self._call("POST", connection_id, payload)

    def get_connection(self, connection_id: str) -> dict[str, Any]:
        """Connection facts with UTC-aware ``ConnectedAt``/``LastActiveAt``."""
        body = self._call("GET", connection_id)
        try:
            raw = json.loads(body) if body else {}
        except ValueError:
            raw = {}
        raw = raw if isinstance(raw, dict) else {}
        identity: dict[str, Any] = raw.get("identity") or {}
        if not isinstance(identity, dict):
            identity = {}
        return {
            "ConnectedAt": _parse_time(raw.get("connectedAt")),
            "LastActiveAt": _parse_time(raw.get("lastActiveAt")),
            "Identity": {
                "SourceIp": identity.get("sourceIp"),
                "UserAgent": identity.get("userAgent"),
            },
        }

    def delete_connection(self, connection_id: str) -> None:
        """Close the connection; an already closed one raises ``ConnectionGoneError``."""
        self._call("DELETE", connection_id)

    # -- transport ---------------------------------------------------------------
    def _signer_credentials(self) -> Any:
        if self._credentials is None:
            with self._lock:
                if self._credentials is None:
                    import botocore.session

                    credentials = botocore.session.get_session().get_credentials()
                    if credentials is None:
                        raise _config_error("credentials", "botocore found no AWS credentials")
                    self._credentials = credentials
        frozen = getattr(self._credentials, "get_frozen_credentials", None)
        return frozen() if frozen is not None else self._credentials

    def _connection(self, fresh: bool = False) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is not None and fresh:
            self._drop(connection)
            connection = None
        if connection is not None and connection not in self._open:
            with self._lock:  # closed by close(): it reconnects on its next request
                self._open.add(connection)
        if connection is None:
            if self._https:
                connection = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self.timeout
                )
            else:
                connection = http.client.HTTPConnection(
                    self._host, self._port, timeout=self.timeout
                )
            self._local.connection = connection
            with self._lock:
                self._open.add(connection)
        return connection

    def _drop(self, connection: http.client.HTTPConnection) -> None:
        connection.close()
        self._local.connection = None
        with self._lock:
            self._open.discard(connection)

    def _signed(self, method: str, connection_id: str, body: bytes) -> tuple[str, dict[str, str]]:
        """The request path and SigV4 headers for one ``@connections`` call."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        path = f"{self._base_path}/@connections/{quote(connection_id, safe='')}"
        scheme = "https" if self._https else "http"
        request = AWSRequest(method=method, url=f"{scheme}://{self._netloc}{path}", data=body)
        SigV4Auth(self._signer_credentials(), "execute-api", self.region).add_auth(request)
        return path, dict(request.headers.items())

    def _send(self, method: str, connection_id: str, body: bytes) -> tuple[int, str, bytes]:
        path, headers = self._signed(method, connection_id, body)
        for attempt in range(2):  # a kept-alive connection the server closed: reconnect once
            connection = self._connection(fresh=attempt > 0)
            try:
                connection.request(method, path, body=body or None, headers=headers)
                response = connection.getresponse()
                payload = response.read()
            except (http.client.HTTPException, OSError):
                self._drop(connection)
                if attempt:
                    raise
                continue
            if response.will_close:
                self._drop(connection)
            error_type = response.getheader("x-amzn-ErrorType") or ""
            return response.status, error_type.split(":", 1)[0], payload
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _failure(
        status: int, code: str, payload: bytes, connection_id: str, size: int
    ) -> tuple[Exception, bool]:
        """The typed error for a failed answer, and whether trying again may help."""
        cause = ManagementHTTPError(status, code, payload[:200].decode("utf-8", "replace"))
        error: Exception
        retry = False
        if code == "GoneException" or status == 410:
            error = ConnectionGoneError(connection_id)
        elif code == "PayloadTooLargeException" or status == 413:
            error = PayloadTooLargeError(size, MAX_PAYLOAD_BYTES)
        elif code == "ForbiddenException" or status == 403:
            error = ForbiddenError()
        elif code in _THROTTLE_CODES or status == 429 or status >= 500:
            error, retry = ThrottledError(code or str(status)), True
        else:
            error = ManagementAPIError(aws_code=code or str(status))
        error.__cause__ = cause
        return error, retry

    @staticmethod
    def _unreachable(exc: BaseException) -> ManagementAPIError:
        error = ManagementAPIError(
            "The WebSocket management API is unreachable", "EndpointConnectionError"
        )
        error.__cause__ = exc
        return error

    def _call(self, method: str, connection_id: str, body: bytes = b"") -> bytes:
        for attempt in range(self.max_attempts):
            last = attempt == self.max_attempts - 1
            try:
                status, code, payload = self._send(method, connection_id, body)
            except (http.client.HTTPException, OSError) as exc:
                if last:
                    raise self._unreachable(exc) from exc
            else:
                if status < 300:
                    return payload
                error, retry = self._failure(status, code, payload, connection_id, len(body))
                if last or not retry:
                    raise error
            self._sleep(self.backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    # -- fan-out -----------------------------------------------------------------
    def post_many(
        self, connection_ids: Sequence[str], data: bytes, *, concurrency: int = 32
    ) -> list[Exception | None]:
        """Post ``data`` to every id, ``concurrency`` at a time; one outcome per id.

        Runs on one event loop thread kept for the life of the client, with its own
        keep-alive connections: no thread per send and no lock hand-offs between
        sends, so a broadcast is bound by latency rather than by the interpreter.
        Each send is retried like :meth:`post_to_connection`.
        """
        if len(data) > MAX_PAYLOAD_BYTES:
            raise PayloadTooLargeError(len(data), MAX_PAYLOAD_BYTES)
        if not connection_ids:
            return []
        pool = self._async_pool()
        return pool.run(self._post_many(pool, list(connection_ids), data, max(1, concurrency)))

    def _async_pool(self) -> _AsyncPool:
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = _AsyncPool(self._host, self._port, self._https)
                    weakref.finalize(self, self._pool.close)
        return self._pool

    async def _post_many(
        self, pool: _AsyncPool, ids: list[str], data: bytes, concurrency: int
    ) -> list[Exception | None]:
        outcomes: list[Exception | None] = [None] * len(ids)
        cursor = iter(range(len(ids)))

        async def worker() -> None:
            for index in cursor:
                outcomes[index] = await self._apost(pool, ids[index], data)

        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(ids)))))
        return outcomes

    async def _apost(self, pool: _AsyncPool, connection_id: str, data: bytes) -> Exception | None:
        for attempt in range(self.max_attempts):
            last = attempt == self.max_attempts - 1
            try:
                path, headers = self._signed("POST", connection_id, data)
                status, code, payload = await pool.request("POST", path, headers, data)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                if last:
                    return self._unreachable(exc)
            else:
                if status < 300:
                    return None
                error, retry = self._failure(status, code, payload, connection_id, len(data))
                if last or not retry:
                    return error
            await asyncio.sleep(self.backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover


class _AsyncPool:
    """An event loop on a daemon thread and its idle keep-alive HTTP connections."""

    def __init__(self, host: str, port: int | None, https: bool) -> None:
        self.host = host
        self.port = port or (443 if https else 80)
        self.ssl: ssl.SSLContext | None = ssl.create_default_context() if https else None
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="lift-management", daemon=True
        )
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the pool's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, str, bytes]:
        """One request on an idle connection (or a new one); status, error type, body."""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}"]
        lines.extend(f"{name}: {value}" for name, value in headers.items())
        lines.append(f"Content-Length: {len(body)}")
        message = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        for attempt in range(2):  # a kept-alive connection the server closed: reconnect once
            reused = bool(self.idle) and attempt == 0
            if reused:
                reader, writer = self.idle.pop()
            else:
                reader, writer = await asyncio.open_connection(
                    self.host, self.port, ssl=self.ssl, limit=2**20
                )
            try:
                writer.write(message)
                status, response_headers, payload = await _read_response(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                writer.close()
                if not reused:
                    raise
                continue
            if response_headers.get("connection", "").lower() == "close":
                writer.close()
            else:
                self.idle.append((reader, writer))
            error_type = response_headers.get("x-amzn-errortype", "")
            return status, error_type.split(":", 1)[0], payload
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Close the idle connections and stop the loop."""
        if self.loop.is_closed():
            return

        async def close_idle() -> None:
            while self.idle:
                _, writer = self.idle.pop()
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()

        if threading.current_thread() is self.thread:
            for _, writer in self.idle:
                writer.close()
            self.idle.clear()
            self.loop.stop()
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close_idle(), self.loop).result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in head[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks: list[bytes] = []
        while size := int((await reader.readline()).split(b";")[0].strip() or b"0", 16):
            chunks.append(await reader.readexactly(size))
            await reader.readline()
        await reader.readline()
        return status, headers, b"".join(chunks)
    length = int(headers.get("content-length") or 0)
    return status, headers, await reader.readexactly(length) if length else b""


_clients: dict[tuple[str, str], ManagementClient] = {}
_clients_lock = threading.Lock()


def client_for(endpoint: str, region: str) -> ManagementClient:
    """The process-wide :class:`ManagementClient` for ``(endpoint, region)``."""
    key = (endpoint.rstrip("/"), region)
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = ManagementClient(key[0], region)
    return client


def clear_clients() -> None:
    """Forget every cached client (for tests)."""
    with _clients_lock:
        for client in _clients.values():
            client.close()
        _clients.clear()
