"""Signing keys from a JWKS URL: one bounded fetch at a time, cached, failures too.

- :func:`fetch_jwks` gets the document over urllib3 with one deadline for the whole
  exchange (connect, TLS, status line, headers and body: a server that drips bytes
  cannot stretch it), no redirects, no content decoding and a size cap.
- :func:`parse_jwks` turns it into ``{kid: public key}`` with PyJWT's ``PyJWK``,
  skipping keys it cannot use.
- :class:`JWKSCache` keeps the keys for ``ttl`` seconds, lets one caller fetch while
  concurrent callers wait for that result (single flight), and remembers a failure
  for ``failure_ttl`` seconds so an outage costs one fetch per window, not one per
  connection.

urllib3 and PyJWT are imported when a fetch happens, never with this module.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "MAX_JWKS_BYTES",
    "JWKSCache",
    "JWKSError",
    "fetch_jwks",
    "parse_jwks",
]

MAX_JWKS_BYTES = 256 * 1024
"""Larger key-set documents are refused."""

_CHUNK = 16 * 1024
_IDENTITY = ("", "identity")

Fetcher = Callable[[str, float, int, str], bytes]
"""``fetch(url, timeout, max_bytes, user_agent) -> body``; raises :class:`JWKSError`."""


class JWKSError(Exception):
    """The key set could not be had. ``kind`` names why, for logs (never remote text).

    Kinds: ``timeout``, ``connection``, ``status``, ``too_large``, ``encoding``,
    ``malformed``, ``no_keys`` and ``cached`` (a recent failure is remembered).
    """

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def _import_urllib3() -> Any:
    try:
        import urllib3
        import urllib3.connection
    except ImportError:  # pragma: no cover - depends on the installation
        raise ImportError("JWKS validation needs urllib3: pip install 'lift-python[jwt]'") from None
    return urllib3


def _abort(sock: Any) -> None:
    """Shut ``sock`` down so a blocked read on it returns at once."""
    if sock is None:
        return
    # The plain socket's shutdown, also under TLS: it ends a blocked read without
    # touching the TLS object another thread is using.
    with contextlib.suppress(OSError, TypeError, ValueError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _connection(url: str, timeout: float) -> tuple[Any, str]:
    """An unconnected urllib3 connection for ``url`` and the request target."""
    urllib3 = _import_urllib3()
    parts = urlsplit(url)
    cls = (
        urllib3.connection.HTTPSConnection
        if parts.scheme == "https"
        else urllib3.connection.HTTPConnection
    )
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return cls(parts.hostname or "", parts.port, timeout=timeout), target


def _read_body(response: Any, max_bytes: int, deadline: float) -> bytes:
    """The body of a 200 answer, refused when encoded, too large or late."""
    if response.status != 200:
        raise JWKSError("status")
    encoding = (response.headers.get("Content-Encoding") or "").strip().lower()
    if encoding not in _IDENTITY:
        raise JWKSError("encoding")
    declared = response.length_remaining
    if declared is not None and declared > max_bytes:
        raise JWKSError("too_large")
    body = bytearray()
    while chunk := response.read(_CHUNK, decode_content=False):
        body += chunk
        if len(body) > max_bytes:
            raise JWKSError("too_large")
        if time.monotonic() >= deadline:
            raise JWKSError("timeout")
    return bytes(body)


def fetch_jwks(url: str, timeout: float, max_bytes: int, user_agent: str) -> bytes:
    """The body of a ``GET url`` answered 200 within ``timeout`` seconds, in all.

    :class:`JWKSError` for anything else: a late or stalled answer (``timeout``), a
    failed or reset connection, another status, a ``Content-Encoding``, or a body over
    ``max_bytes``. A watchdog shuts the socket down at the deadline, whatever the
    exchange is waiting for.
    """
    conn, target = _connection(url, timeout)
    deadline = time.monotonic() + timeout
    expired = threading.Event()

    # The response keeps reading from the socket after the connection lets go of it.
    held: list[Any] = []

    def on_deadline() -> None:
        expired.set()
        for sock in (*held, getattr(conn, "sock", None)):
            _abort(sock)

    response: Any = None
    watchdog = threading.Timer(timeout, on_deadline)
    watchdog.daemon = True
    watchdog.start()
    try:
        conn.request("GET", target, headers=_headers(user_agent), preload_content=False)
        held.append(conn.sock)
        response = conn.getresponse()
        body = _read_body(response, max_bytes, deadline)
    except JWKSError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of the exchange is a fetch failure
        timed_out = expired.is_set() or "Timeout" in type(exc).__name__
        raise JWKSError("timeout" if timed_out else "connection") from None
    finally:
        watchdog.cancel()
        for part in (response, conn):
            if part is not None:
                with contextlib.suppress(Exception):
                    part.close()
    if expired.is_set():
        raise JWKSError("timeout")
    return body


def _headers(user_agent: str) -> dict[str, str]:
    return {
        "Accept": "application/json, application/jwk-set+json",
        "Accept-Encoding": "identity",
        "User-Agent": user_agent,
    }


def parse_jwks(body: bytes, jwt: Any) -> dict[str, Any]:
    """``{kid: public key}`` of the signing keys in a JWKS document.

    Keys without a ``kid``, meant for encryption, or that PyJWT cannot load are
    skipped; :class:`JWKSError` when the document is not a key set or has no key left.
    """
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise JWKSError("malformed") from None
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise JWKSError("malformed")
    keys: dict[str, Any] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid or entry.get("use") not in (None, "sig"):
            continue
        try:
            keys.setdefault(kid, jwt.PyJWK(entry).key)
        except Exception:  # noqa: BLE001, S112 - an unusable key is skipped, as PyJWKSet does
            continue
    if not keys:
        raise JWKSError("no_keys")
    return keys


class _Flight:
    """One fetch in progress; callers that arrive meanwhile wait for its outcome."""

    __slots__ = ("done", "error", "keys")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.keys: dict[str, Any] | None = None
        self.error: JWKSError | None = None


class JWKSCache:
    """The key set of ``url``: cached ``ttl`` seconds, fetched by one caller at a time.

    A failure is remembered for ``failure_ttl`` seconds: callers in that window fail at
    once (:class:`JWKSError` ``cached``) and nothing is fetched. Every caller waits at
    most ``timeout`` seconds.
    """

    def __init__(
        self,
        url: str,
        *,
        ttl: float,
        timeout: float,
        failure_ttl: float,
        user_agent: str,
        jwt: Any,
        max_bytes: int = MAX_JWKS_BYTES,
        fetch: Fetcher = fetch_jwks,
    ) -> None:
        self.url = url
        self._ttl = ttl
        self._timeout = timeout
        self._failure_ttl = failure_ttl
        self._user_agent = user_agent
        self._jwt = jwt
        self._max_bytes = max_bytes
        self._fetch = fetch
        self._lock = threading.Lock()
        self._keys: dict[str, Any] | None = None
        self._fetched_at = 0.0
        self._failed_at: float | None = None
        self._flight: _Flight | None = None

    def keys(self, *, refresh: bool = False) -> dict[str, Any]:
        """The cached keys, or fresh ones when expired or ``refresh`` is asked."""
        with self._lock:
            now = time.monotonic()
            if not refresh and self._keys is not None and now - self._fetched_at < self._ttl:
                return self._keys
            flight = self._flight
            if flight is None:
                failed = self._failed_at
                if failed is not None and now - failed < self._failure_ttl:
                    raise JWKSError("cached")
                flight = self._flight = _Flight()
                leader = True
            else:
                leader = False
        if leader:
            return self._lead(flight)
        if not flight.done.wait(self._timeout):
            raise JWKSError("timeout")
        if flight.error is not None:
            raise JWKSError(flight.error.kind)
        assert flight.keys is not None
        return flight.keys

    def _lead(self, flight: _Flight) -> dict[str, Any]:
        keys: dict[str, Any] | None = None
        error = JWKSError("connection")
        try:
            body = self._fetch(self.url, self._timeout, self._max_bytes, self._user_agent)
            keys = parse_jwks(body, self._jwt)
        except JWKSError as exc:
            error = exc
        except Exception:  # noqa: BLE001, S110 - every failure is a JWKSError
            pass
        finally:
            # Always settle the flight, so no caller waits on a fetch that is over.
            with self._lock:
                if keys is not None:
                    self._keys = keys
                    self._fetched_at = time.monotonic()
                    self._failed_at = None
                else:
                    self._failed_at = time.monotonic()
                self._flight = None
            flight.keys = keys
            flight.error = None if keys is not None else error
            flight.done.set()
        if keys is None:
            raise JWKSError(error.kind)
        return keys
