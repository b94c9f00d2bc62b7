"""The ``@connections`` client: signed calls under one retry policy and a deadline.

Requests are signed by :mod:`.sigv4` with credentials from the environment Lambda
provides; botocore is imported only when the environment has none.
One client per ``(endpoint, region)`` is created per process (:func:`client_for`) and
reused across warm invocations.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote, urlsplit

from ..errors import ManagementTimeoutError, PayloadTooLargeError
from ..payload import MAX_PAYLOAD_BYTES
from .endpoint import config_error
from .policy import RetryPolicy, TransportFailure, answer_error, earliest, transport_error
from .sigv4 import Credentials, environment_credentials, sign
from .transport import Transport

__all__ = ["ManagementAPI", "ManagementClient", "clear_clients", "client_for"]

_IDEMPOTENT = frozenset({"GET", "DELETE"})
"""Operations whose repetition changes nothing (a second delete answers Gone)."""


@runtime_checkable
class ManagementAPI(Protocol):
    """The three ``@connections`` operations, with typed errors.

    ``ConnectionGoneError`` (410), ``PayloadTooLargeError``, ``ForbiddenError``,
    ``ThrottledError`` (throttling or 5xx after every retry), ``ManagementTimeoutError``,
    ``ManagementAPIError``.
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


class ManagementClient:
    """:class:`ManagementAPI` over HTTPS, signed with AWS Signature Version 4.

    Credentials come from the environment (``AWS_ACCESS_KEY_ID``...), as Lambda
    provides them, else from botocore's provider chain (profiles, containers, instance
    roles); requests are signed for the ``execute-api`` service by :mod:`.sigv4`, which
    gives the same signature as botocore's ``SigV4Auth``. HTTP
    goes through keep-alive connections shared by every thread (at most
    ``max_connections`` kept idle).

    Time: one HTTP request lasts at most ``timeout`` seconds, one call with its retries
    at most ``call_timeout``, one :meth:`post_many` at most ``broadcast_timeout``; a
    ``deadline`` given to a call (a :func:`time.monotonic` time, such as the Lambda's
    remaining time) cuts them shorter. These are hard limits: a server that stalls or
    drips its answer is cut off.

    Retries: throttling (``LimitExceededException``, 429) and 5xx answers, and
    connections that could not be opened, are tried ``max_attempts`` times in all,
    sleeping ``uniform(0, min(max_delay, base_delay * 2**n))`` before try ``n + 2``.
    A POST that may have reached the service (a timeout or a reset after it was sent, a
    malformed answer) is not sent again, since it may have been delivered; the error
    says ``maybe_delivered``. ``retry_unsafe=True`` (here or per call) sends it again.
    ``credentials`` injects credentials (a :class:`~.sigv4.Credentials` or botocore
    credentials, such as an assumed role's). Thread-safe.
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
        call_timeout: float = 10.0,
        broadcast_timeout: float = 20.0,
        retry_unsafe: bool = False,
        max_connections: int = 64,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.region = region
        self.policy = RetryPolicy(max_attempts, base_delay, max_delay)
        if min(timeout, call_timeout, broadcast_timeout) <= 0:
            raise ValueError("timeouts must be positive")
        self.timeout = timeout
        self.call_timeout = call_timeout
        self.broadcast_timeout = broadcast_timeout
        self.retry_unsafe = retry_unsafe
        parts = urlsplit(self.endpoint)
        self._transport = Transport(self.endpoint, max_idle=max_connections)
        self._url = f"{parts.scheme}://{parts.netloc}"
        self._base_path = parts.path.rstrip("/")
        self._sleep = sleep
        self._credentials = credentials
        self._lock = threading.Lock()

    @property
    def max_attempts(self) -> int:
        """Tries in all, the first included."""
        return self.policy.max_attempts

    @max_attempts.setter
    def max_attempts(self, value: int) -> None:
        self.policy = dataclasses.replace(self.policy, max_attempts=value)

    @property
    def base_delay(self) -> float:
        """The first backoff ceiling, in seconds."""
        return self.policy.base_delay

    @base_delay.setter
    def base_delay(self, value: float) -> None:
        self.policy = dataclasses.replace(self.policy, base_delay=value)

    @property
    def max_delay(self) -> float:
        """The cap of each backoff sleep, in seconds."""
        return self.policy.max_delay

    @max_delay.setter
    def max_delay(self, value: float) -> None:
        self.policy = dataclasses.replace(self.policy, max_delay=value)

    @property
    def idle_connections(self) -> int:
        """How many kept-alive HTTP connections wait for the next call."""
        return self._transport.idle

    def close(self) -> None:
        """Close every kept-alive connection (they reopen on the next call)."""
        self._transport.close()

    def __repr__(self) -> str:
        return f"ManagementClient(endpoint={self.endpoint!r}, region={self.region!r})"

    def backoff(self, attempt: int) -> float:
        """Full-jitter delay before retry number ``attempt + 1`` (``attempt`` from 0)."""
        return self.policy.backoff(attempt)

    # -- operations -------------------------------------------------------------------
    def post_to_connection(
        self,
        connection_id: str,
        data: bytes,
        *,
        deadline: float | None = None,
        retry_unsafe: bool | None = None,
    ) -> None:
        """Send ``data``; over 128 KiB raises ``PayloadTooLargeError`` before any call."""
        payload = bytes(data)
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise PayloadTooLargeError(len(payload), MAX_PAYLOAD_BYTES)
        end = earliest(time.monotonic(), self.call_timeout, deadline)
        self._call("POST", connection_id, payload, end, retry_unsafe)

    def get_connection(
        self, connection_id: str, *, deadline: float | None = None
    ) -> dict[str, Any]:
        """Connection facts with UTC-aware ``ConnectedAt``/``LastActiveAt``."""
        end = earliest(time.monotonic(), self.call_timeout, deadline)
        body = self._call("GET", connection_id, b"", end, None)
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

    def delete_connection(self, connection_id: str, *, deadline: float | None = None) -> None:
        """Close the connection; an already closed one raises ``ConnectionGoneError``."""
        end = earliest(time.monotonic(), self.call_timeout, deadline)
        self._call("DELETE", connection_id, b"", end, None)

    def post_many(
        self,
        connection_ids: Sequence[str],
        data: bytes,
        *,
        concurrency: int = 32,
        deadline: float | None = None,
        retry_unsafe: bool | None = None,
    ) -> list[Exception | None]:
        """Post ``data`` to every id, ``concurrency`` at a time; one outcome per id.

        The whole fan-out ends by ``broadcast_timeout`` (or ``deadline`` when sooner):
        ids not done by then get :class:`ManagementTimeoutError`. Each send follows the
        same retry policy as :meth:`post_to_connection`, within that deadline.
        """
        from ..broadcast import fan_out

        payload = bytes(data)
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise PayloadTooLargeError(len(payload), MAX_PAYLOAD_BYTES)
        if not connection_ids:
            return []
        end = earliest(time.monotonic(), self.broadcast_timeout, deadline)

        def send(connection_id: str) -> None:
            own = earliest(time.monotonic(), self.call_timeout, end)
            self._call("POST", connection_id, payload, own, retry_unsafe)

        return fan_out(send, list(connection_ids), workers=concurrency, deadline=end, inline=True)

    # -- one call -----------------------------------------------------------------------
    def _call(
        self,
        method: str,
        connection_id: str,
        body: bytes,
        deadline: float,
        retry_unsafe: bool | None,
    ) -> bytes:
        """Send until an answer is final, the attempts are spent or ``deadline`` passes."""
        unsafe = self.retry_unsafe if retry_unsafe is None else retry_unsafe
        replayable = method in _IDEMPOTENT or unsafe
        path, headers = self._signed(method, connection_id, body)
        attempt = 0
        error: Exception = ManagementTimeoutError(maybe_delivered=False)
        while True:
            now = time.monotonic()
            if now >= deadline:
                raise error  # the last failure, when time ran out after it
            try:
                answer = self._transport.request(
                    method, path, headers, body, deadline=min(deadline, now + self.timeout)
                )
            except TransportFailure as failure:
                error, retry = transport_error(failure, replayable=replayable)
            else:
                if answer.status < 300:
                    return answer.body
                error, retry = answer_error(
                    answer.status, answer.error_type, answer.body, connection_id, len(body)
                )
            delay = self.policy.next_delay(attempt, time.monotonic(), deadline) if retry else None
            if delay is None:
                raise error
            self._sleep(delay)
            attempt += 1

    def _signer_credentials(self) -> Credentials:
        """The credentials to sign with: injected, else Lambda's environment, else botocore.

        Lambda puts the function's role credentials in the environment, so the common
        case reads three variables and never imports botocore. Elsewhere botocore's
        provider chain (profiles, containers, instance roles) is used; its credentials
        may refresh, so they are frozen again for every request.
        """
        if self._credentials is None:
            with self._lock:
                if self._credentials is None:
                    self._credentials = environment_credentials() or _botocore_credentials()
        source = self._credentials
        if isinstance(source, Credentials):
            return source
        frozen = getattr(source, "get_frozen_credentials", None)
        current = frozen() if frozen is not None else source
        return Credentials(current.access_key, current.secret_key, current.token or None)

    def _signed(self, method: str, connection_id: str, body: bytes) -> tuple[str, dict[str, str]]:
        """The request path and SigV4 headers for one ``@connections`` call."""
        path = f"{self._base_path}/@connections/{quote(connection_id, safe='')}"
        headers = sign(
            method,
            f"{self._url}{path}",
            body=body,
            credentials=self._signer_credentials(),
            region=self.region,
        )
        return path, headers


def _botocore_credentials() -> Any:
    """botocore's provider chain, for code that runs outside Lambda's environment."""
    import botocore.session

    credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        raise config_error("credentials", "no AWS credentials in the environment or botocore")
    return credentials


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
