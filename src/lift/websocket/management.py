"""The ``@connections`` Management API: endpoint resolution and a retrying boto3 client.

boto3 is imported lazily. One client per ``(endpoint, region)`` is created per process
(:func:`client_for`) and reused across warm invocations. botocore's own retries are off:
throttling and 5xx answers are retried here with exponential backoff and full jitter,
and every failure surfaces as one of the typed errors of :mod:`lift.websocket.errors`.
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, Protocol, TypeVar, runtime_checkable
from urllib.parse import urlsplit

from ..errors import LiftError
from .errors import (
    ConnectionGoneError,
    ForbiddenError,
    ManagementAPIError,
    PayloadTooLargeError,
    ThrottledError,
)

__all__ = [
    "DEFAULT_POOL_SIZE",
    "ENDPOINT_ENV",
    "MAX_PAYLOAD_BYTES",
    "ManagementAPI",
    "ManagementClient",
    "clear_clients",
    "client_for",
    "resolve_endpoint",
    "resolve_region",
]

MAX_PAYLOAD_BYTES = 128 * 1024
"""API Gateway's limit for one WebSocket frame (128 KiB)."""

DEFAULT_POOL_SIZE = 50
"""HTTP connections kept per client: enough for a broadcast worker pool of this size."""

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
_CONNECT_ERRORS = frozenset({"EndpointConnectionError", "ConnectTimeoutError"})

T = TypeVar("T")


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


def _utc(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
    return value


class ManagementClient:
    """:class:`ManagementAPI` over boto3's ``apigatewaymanagementapi`` client.

    Throttling (``LimitExceededException``, ``TooManyRequestsException``, 429), 5xx and
    connection failures are tried ``max_attempts`` times in all, sleeping
    ``uniform(0, min(max_delay, base_delay * 2**attempt))`` between tries. ``client``
    injects a ready boto3 client; otherwise one is built on first use with a pool of
    ``max_pool_connections`` and botocore's retries off. Thread-safe.
    """

    def __init__(
        self,
        endpoint: str,
        region: str,
        *,
        client: Any = None,
        max_attempts: int = 5,
        base_delay: float = 0.05,
        max_delay: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        max_pool_connections: int = DEFAULT_POOL_SIZE,
        connect_timeout: float = 2.0,
        read_timeout: float = 5.0,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.endpoint = endpoint.rstrip("/")
        self.region = region
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_pool_connections = max_pool_connections
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._sleep = sleep
        self._client = client
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ManagementClient(endpoint={self.endpoint!r}, region={self.region!r})"

    @property
    def client(self) -> Any:
        """The underlying boto3 client (created on first use)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._build()
        return self._client

    def _build(self) -> Any:
        import boto3
        from botocore.config import Config

        config = Config(
            max_pool_connections=self.max_pool_connections,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            retries={"mode": "standard", "total_max_attempts": 1},
        )
        return boto3.session.Session().client(
            "apigatewaymanagementapi",
            endpoint_url=self.endpoint,
            region_name=self.region,
            config=config,
        )

    def backoff(self, attempt: int) -> float:
        """Full-jitter delay before retry number ``attempt + 1`` (``attempt`` from 0)."""
        ceiling = min(self.max_delay, self.base_delay * 2**attempt)
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography

    def post_to_connection(self, connection_id: str, data: bytes) -> None:
        """Send ``data``; over 128 KiB raises ``PayloadTooLargeError`` before any call."""
        payload = bytes(data)
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise PayloadTooLargeError(len(payload), MAX_PAYLOAD_BYTES)
        client = self.client
        self._call(
            connection_id,
            lambda: client.post_to_connection(ConnectionId=connection_id, Data=payload),
            size=len(payload),
        )

    def get_connection(self, connection_id: str) -> dict[str, Any]:
        """Connection facts with UTC-aware ``ConnectedAt``/``LastActiveAt``."""
        client = self.client
        response = self._call(
            connection_id, lambda: client.get_connection(ConnectionId=connection_id)
        )
        identity = response.get("Identity") or {}
        return {
            "ConnectedAt": _utc(response.get("ConnectedAt")),
            "LastActiveAt": _utc(response.get("LastActiveAt")),
            "Identity": {
                "SourceIp": identity.get("SourceIp"),
                "UserAgent": identity.get("UserAgent"),
            },
        }

    def delete_connection(self, connection_id: str) -> None:
        """Close the connection; an already closed one raises ``ConnectionGoneError``."""
        client = self.client
        self._call(connection_id, lambda: client.delete_connection(ConnectionId=connection_id))

    def _call(self, connection_id: str, operation: Callable[[], T], *, size: int = 0) -> T:
        from botocore.exceptions import BotoCoreError, ClientError

        for attempt in range(self.max_attempts):
            last = attempt == self.max_attempts - 1
            try:
                return operation()
            except ClientError as exc:
                error = exc.response.get("Error") or {}
                code = str(error.get("Code") or "")
                status = int(
                    (exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0
                )
                if code == "GoneException" or status == 410:
                    raise ConnectionGoneError(connection_id) from exc
                if code == "PayloadTooLargeException" or status == 413:
                    raise PayloadTooLargeError(size, MAX_PAYLOAD_BYTES) from exc
                if code == "ForbiddenException" or status == 403:
                    raise ForbiddenError() from exc
                if not (code in _THROTTLE_CODES or status == 429 or status >= 500):
                    raise ManagementAPIError(aws_code=code or str(status)) from exc
                if last:
                    raise ThrottledError(code or str(status)) from exc
            except BotoCoreError as exc:
                name = type(exc).__name__
                if name not in _CONNECT_ERRORS:
                    raise ManagementAPIError(aws_code=name) from exc
                if last:
                    raise ManagementAPIError(
                        "The WebSocket management API is unreachable", name
                    ) from exc
            self._sleep(self.backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover


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
        _clients.clear()
