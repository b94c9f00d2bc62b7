"""HTTP for ``@connections`` calls: keep-alive connections under a hard deadline.

The standard library's ``http.client`` writes requests and parses answers (with its
limits on line length and header count); this module lends its connections out, one
request at a time, from a pool shared by every thread, and bounds each request by a
deadline. Socket timeouts bound each read, not a whole request: a server that drips
one byte a second never trips them. So a watchdog (one thread per process, started on
first use) shuts down the socket of any request still running at its deadline, and the
request ends then, whatever the server does.

(urllib3's connection layer does the same parsing through ``http.client`` and doubled
the CPU time of a request, measured, which a broadcast from one Lambda vCPU pays per
recipient; its liveness check for idle connections is used here.)

Every failure is a :class:`~.policy.TransportFailure` that says whether the request had
left, which is what decides if trying again could deliver it twice.
"""

from __future__ import annotations

import contextlib
import heapq
import http.client
import itertools
import os
import socket
import threading
import time
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .policy import TransportFailure

if TYPE_CHECKING:
    from http.client import HTTPConnection

__all__ = ["MAX_ANSWER_BYTES", "Answer", "Transport"]

MAX_ANSWER_BYTES = 64 * 1024
"""The largest answer body read (``GetConnection`` answers are a few hundred bytes)."""

MAX_IDLE_SECONDS = 30.0
"""An idle connection older than this is closed rather than reused: after a Lambda
sandbox was frozen, the far end (or a NAT on the way) may have dropped it in silence,
and a POST sent on it could fail after leaving, which is not retried."""


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, AWS's error type (``x-amzn-ErrorType``) and body."""

    status: int
    error_type: str
    body: bytes


class _Ticket:
    """One armed deadline: the connection to cut when it passes."""

    __slots__ = ("connection", "deadline", "done", "fired")

    def __init__(self, connection: HTTPConnection, deadline: float) -> None:
        self.connection: HTTPConnection | None = connection
        self.deadline = deadline
        self.done = False
        self.fired = False


def _cut(connection: HTTPConnection | None) -> None:
    """Shut the connection's socket down so that a blocked read or write returns."""
    sock = connection.sock if connection is not None else None
    if sock is None:
        return
    # The plain socket's shutdown, also for TLS: it leaves the SSL object in place for
    # the thread that is reading, which then sees the end of the stream.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """Cuts connections whose deadline passed; one daemon thread, started on first use."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Ticket]] = []
        self._order = itertools.count()
        self._done = 0
        self._thread: threading.Thread | None = None

    def arm(self, connection: HTTPConnection, deadline: float) -> _Ticket:
        """Watch ``connection`` until :meth:`disarm`; cut it at ``deadline``."""
        ticket = _Ticket(connection, deadline)
        with self._cond:
            heapq.heappush(self._heap, (deadline, next(self._order), ticket))
            if self._thread is None or not self._thread.is_alive():  # first use, or a fork
                self._thread = threading.Thread(
                    target=self._run, name="lift-management-deadlines", daemon=True
                )
                self._thread.start()
            elif self._heap[0][2] is ticket:
                self._cond.notify()
        return ticket

    def disarm(self, ticket: _Ticket) -> bool:
        """Stop watching; whether the deadline had already cut the connection."""
        with self._cond:
            ticket.done = True
            ticket.connection = None
            self._done += 1
            if self._done > 1024 and self._done * 2 > len(self._heap):
                self._heap = [entry for entry in self._heap if not entry[2].done]
                heapq.heapify(self._heap)
                self._done = 0
            return ticket.fired

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                    self._done = max(0, self._done - 1)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                ticket = heapq.heappop(self._heap)[2]
                ticket.fired = True
                _cut(ticket.connection)


_watchdog = _Watchdog()


def _after_fork() -> None:
    """A forked child has no watchdog thread and may hold a copied lock: start afresh."""
    global _watchdog
    _watchdog = _Watchdog()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def _close_all(idle: list[tuple[float, HTTPConnection]], lock: threading.Lock) -> None:
    with lock:
        connections, idle[:] = list(idle), []
    for _, connection in connections:
        connection.close()


class Transport:
    """Keep-alive HTTP(S) connections to one endpoint, lent to one request at a time.

    Idle connections (at most ``max_idle``) are kept for the next request, by any
    thread; one the server closed is noticed and replaced before use. No connection
    belongs to a thread, so threads that come and go leave nothing open.
    """

    def __init__(self, endpoint: str, *, max_idle: int = 64) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"Not an http(s) endpoint: {endpoint!r}")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.max_idle = max_idle
        self._idle: list[tuple[float, HTTPConnection]] = []
        self._lock = threading.Lock()
        self._ssl_context: Any = None
        weakref.finalize(self, _close_all, self._idle, self._lock)

    @property
    def idle(self) -> int:
        """How many kept-alive connections wait for the next request."""
        return len(self._idle)

    def close(self) -> None:
        """Close the idle connections (new ones open on the next request)."""
        _close_all(self._idle, self._lock)

    def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        *,
        deadline: float,
    ) -> Answer:
        """Send one request and read its answer, all before ``deadline`` (monotonic).

        Raises :class:`TransportFailure` when no usable answer came.
        """
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TransportFailure("deadline", sent=False, reason="no time left to send")
        connection = self._checkout(remaining)
        watchdog = _watchdog
        ticket = watchdog.arm(connection, deadline)
        try:
            if connection.sock is None:
                self._connect(connection, ticket)
            connection.timeout = max(0.001, deadline - time.monotonic())
            if connection.sock is not None:
                connection.sock.settimeout(connection.timeout)
            try:
                connection.request(method, path, body=body or None, headers=headers)
            except Exception as exc:  # the request did not all leave: nothing was acted on
                raise _failure(ticket, "reset", False, exc) from exc
            try:
                answer, reusable = self._read(connection)
            except TransportFailure:
                raise
            except Exception as exc:  # socket, TLS and http.client errors alike
                raise _failure(ticket, _kind(exc), True, exc) from exc
        except BaseException:
            watchdog.disarm(ticket)
            connection.close()
            raise
        if watchdog.disarm(ticket) or not reusable:
            connection.close()
        else:
            self._checkin(connection)
        return answer

    # -- connections ------------------------------------------------------------------
    def _checkout(self, timeout: float) -> HTTPConnection:
        stale = time.monotonic() - MAX_IDLE_SECONDS
        with self._lock:
            while self._idle:
                since, connection = self._idle.pop()
                if since > stale and _usable(connection):
                    return connection
                connection.close()  # idle too long, or closed by the server meanwhile
        return self._new(timeout)

    def _checkin(self, connection: HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < self.max_idle:
                self._idle.append((time.monotonic(), connection))
                return
        connection.close()

    def _new(self, timeout: float) -> HTTPConnection:
        if not self.https:
            return http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        if self._ssl_context is None:
            import ssl

            # The system's trust store, or AWS_CA_BUNDLE as for the AWS SDKs.
            self._ssl_context = ssl.create_default_context(
                cafile=os.environ.get("AWS_CA_BUNDLE") or None
            )
        return http.client.HTTPSConnection(
            self.host, self.port, timeout=timeout, context=self._ssl_context
        )

    def _connect(self, connection: HTTPConnection, ticket: _Ticket) -> None:
        connection.timeout = max(0.001, ticket.deadline - time.monotonic())
        try:
            connection.connect()
        except Exception as exc:  # socket, DNS and TLS errors
            raise _failure(ticket, "connect", False, exc) from exc
        if ticket.fired:  # the deadline passed while connecting
            raise TransportFailure("deadline", sent=False, reason="connecting took too long")

    # -- answers ----------------------------------------------------------------------
    @staticmethod
    def _read(connection: HTTPConnection) -> tuple[Answer, bool]:
        response = connection.getresponse()
        declared = response.length  # from Content-Length; None when chunked or unknown
        if declared is not None and declared > MAX_ANSWER_BYTES:
            raise TransportFailure("malformed", sent=True, reason="answer body too large")
        if declared is not None:
            body = response.read()
        else:  # chunked or until close: read no more than the limit
            body = response.read(MAX_ANSWER_BYTES + 1)
            if len(body) > MAX_ANSWER_BYTES:
                raise TransportFailure("malformed", sent=True, reason="answer body too large")
        error_type = response.getheader("x-amzn-ErrorType") or ""
        reusable = connection.sock is not None and response.isclosed()
        return Answer(response.status, error_type.split(":", 1)[0].strip(), body), reusable


def _usable(connection: HTTPConnection) -> bool:
    """Whether an idle kept-alive connection is still open (nothing to read, no EOF)."""
    from urllib3.util import wait_for_read

    sock = connection.sock
    return sock is not None and not wait_for_read(sock, timeout=0.0)


def _failure(ticket: _Ticket, kind: str, sent: bool, exc: BaseException) -> TransportFailure:
    if ticket.fired or isinstance(exc, TimeoutError):
        return TransportFailure("deadline", sent=sent, reason=type(exc).__name__)
    return TransportFailure(kind, sent=sent, reason=f"{type(exc).__name__}: {exc}"[:300])


def _kind(exc: BaseException) -> str:
    """``reset`` for a connection that broke, ``malformed`` for an answer that is not HTTP."""
    if isinstance(exc, (OSError, http.client.IncompleteRead)):
        return "reset"  # RemoteDisconnected is a ConnectionError (an OSError) too
    return "malformed"
