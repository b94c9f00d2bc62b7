"""A JWKS endpoint on 127.0.0.1 that misbehaves on purpose.

It speaks HTTP/1.1 over a plain socket so that it can do what a real server never
should: hang, drip bytes, reset mid-body, answer garbage or endless documents. Each
behaviour is a function of the connection; ``hits`` counts the requests received.
"""

from __future__ import annotations

import gzip
import json
import socket
import socketserver
import ssl
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

Behaviour = Callable[["FaultyJWKSServer", socket.socket], None]


def _head(status: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode("latin-1")


def response(body: bytes, status: str = "200 OK", **headers: str) -> bytes:
    """A whole HTTP response with ``Content-Length`` and ``Connection: close``."""
    fields = {"Content-Type": "application/json", **headers}
    fields.setdefault("Content-Length", str(len(body)))
    fields["Connection"] = "close"
    return _head(status, fields) + body


def send(data: bytes) -> Behaviour:
    """Send ``data`` as it is, then close."""

    def behave(server: FaultyJWKSServer, conn: socket.socket) -> None:
        conn.sendall(data)

    return behave


def keys_document(keys: list[dict[str, Any]], padding: int = 0) -> bytes:
    """``{"keys": keys}``, optionally padded with an ignored member to grow it."""
    document: dict[str, Any] = {"keys": keys}
    if padding:
        document["padding"] = "x" * padding
    return json.dumps(document).encode("utf-8")


def slow(data: bytes, delay: float) -> Behaviour:
    """Wait ``delay`` seconds, then send ``data``."""

    def behave(server: FaultyJWKSServer, conn: socket.socket) -> None:
        if not server.stopping.wait(delay):
            conn.sendall(data)

    return behave


def hang(server: FaultyJWKSServer, conn: socket.socket) -> None:
    """Read the request and never answer."""
    server.stopping.wait(30)


def drip(data: bytes, every: float = 0.5) -> Behaviour:
    """Send ``data`` one byte every ``every`` seconds (status line and headers too)."""

    def behave(server: FaultyJWKSServer, conn: socket.socket) -> None:
        for index in range(len(data)):
            conn.sendall(data[index : index + 1])
            if server.stopping.wait(every):
                return

    return behave


def drip_body(body: bytes, every: float = 0.5) -> Behaviour:
    """Send the head at once, then the body one byte every ``every`` seconds."""
    whole = response(body)
    head = whole[: len(whole) - len(body)]

    def behave(server: FaultyJWKSServer, conn: socket.socket) -> None:
        conn.sendall(head)
        drip(body, every)(server, conn)

    return behave


def reset_mid_body(body: bytes) -> Behaviour:
    """Announce ``body``, send half of it, then reset the connection (RST)."""

    def behave(server: FaultyJWKSServer, conn: socket.socket) -> None:
        whole = response(body)
        conn.sendall(whole[: len(whole) - len(body) // 2])
        time.sleep(0.05)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    return behave


def endless(chunked: bool) -> Behaviour:
    """A 200 that never ends: ``Content-Length`` of 1 GiB, or chunks forever."""

    def behave(server: FaultyJWKSServer, conn: socket.socket) -> None:
        if chunked:
            conn.sendall(_head("200 OK", {"Transfer-Encoding": "chunked"}))
        else:
            conn.sendall(_head("200 OK", {"Content-Length": str(1 << 30)}))
        piece = b'{"keys": [' + b" " * 65536
        frame = b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
        try:
            while not server.stopping.is_set():
                conn.sendall(frame)
                server.sent += len(piece)
        except OSError:
            return

    return behave


def gzip_bomb(keys: list[dict[str, Any]]) -> Behaviour:
    """A valid key set, gzip-encoded although the client asked for ``identity``."""
    body = gzip.compress(keys_document(keys, padding=8 << 20))
    return send(response(body, **{"Content-Encoding": "gzip"}))


class FaultyJWKSServer:
    """Serves ``behaviour`` to every request on 127.0.0.1 (an ephemeral port).

    With ``tls``, connections are wrapped in that server context first.
    """

    def __init__(self, behaviour: Behaviour, tls: ssl.SSLContext | None = None) -> None:
        self.behaviour = behaviour
        self.tls = tls
        self.hits = 0
        self.sent = 0
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._server: socketserver.ThreadingTCPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def __enter__(self) -> FaultyJWKSServer:
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                conn: socket.socket = self.request
                conn.settimeout(10)
                if outer.tls is not None:
                    try:
                        conn = outer.tls.wrap_socket(conn, server_side=True)
                    except (OSError, ssl.SSLError):
                        return
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                with outer._lock:
                    outer.hits += 1
                try:
                    outer.behaviour(outer, conn)
                except OSError:
                    return

        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
