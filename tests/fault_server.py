"""A ``@connections`` endpoint on 127.0.0.1 that misbehaves on purpose.

Requests are read with the standard library's ``http.server``; what the server does
next depends on the connection id's prefix: ``ok-`` (200), ``gone-`` (410
GoneException), ``throttle-`` (429 LimitExceededException), ``hang-`` (never
answers), ``drip-`` (a status line one byte at a time, never finished), ``reset-`` (a
TCP reset after reading the request), ``nostatus-`` (headers without a status line),
``garbage-`` (not HTTP at all), ``bigheader-`` (a 2 MiB header), ``bigbody-`` (a 2 MiB
body). Every request that arrived whole is counted, so tests see duplicates from the
server's side.
"""

from __future__ import annotations

import collections
import socket
import ssl
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from tests.http_background import BackgroundHTTPServer, OwnedHTTPServer

STAGE = "prod"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        connection_id = unquote(self.path.rsplit("/", 1)[-1])
        owner = self.server.owner
        owner.record(self.command, connection_id, body)
        behaviour = connection_id.split("-", 1)[0]
        if behaviour == "ok":
            self._answer(200, b"{}" if self.command == "GET" else b"")
        elif behaviour == "gone":
            self._answer(410, b'{"message":"Gone"}', "GoneException")
        elif behaviour == "throttle":
            self._answer(429, b'{"message":"Slow down"}', "LimitExceededException")
        elif behaviour == "hang":
            owner.released.wait(owner.hold)
            self.close_connection = True
        elif behaviour == "drip":
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
                if owner.released.wait(owner.drip_interval):
                    break
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            self.close_connection = True
        elif behaviour == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
        elif behaviour == "nostatus":
            self.wfile.write(b"Content-Length: 0\r\n\r\n")
            self.close_connection = True
        elif behaviour == "garbage":
            self.wfile.write(b"garbage that is not HTTP\r\n\r\n")
            self.close_connection = True
        elif behaviour == "bigheader":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (2 * 1024 * 1024) + b"\r\n\r\n")
            self.close_connection = True
        elif behaviour == "bigbody":
            self._answer(200, b"a" * (2 * 1024 * 1024))
        else:
            self._answer(404, b'{"message":"Not Found"}', "NotFoundException")

    def _answer(self, status: int, body: bytes, error_type: str = "") -> None:
        self.send_response(status)
        if error_type:
            self.send_header("x-amzn-ErrorType", error_type)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(OwnedHTTPServer):
    owner: FaultServer

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up mid-answer is what these tests do

    def process_request(self, request: Any, client_address: Any) -> None:
        self.owner.connections += 1
        super().process_request(request, client_address)


class FaultServer(BackgroundHTTPServer):
    """The misbehaving endpoint; ``with FaultServer() as server: server.endpoint``."""

    handler = _Handler
    server_class = _Server

    def __init__(
        self,
        *,
        hold: float = 15.0,
        drip_interval: float = 0.1,
        tls: tuple[str, str] | None = None,
    ) -> None:
        self.hold = hold
        self.drip_interval = drip_interval
        self.released = threading.Event()
        self.requests: list[tuple[str, str, bytes]] = []
        self.connections = 0
        """TCP connections accepted."""
        self._lock = threading.Lock()
        super().__init__()
        self.scheme = "http"
        if tls is not None:  # (certificate file, key file)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self.scheme = "https"

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self.scheme}://{host!s}:{port}/{STAGE}"

    def record(self, method: str, connection_id: str, body: bytes) -> None:
        with self._lock:
            self.requests.append((method, connection_id, body))

    def count(self, connection_id: str) -> int:
        """How many whole requests arrived for ``connection_id``."""
        with self._lock:
            return sum(1 for _, seen, _ in self.requests if seen == connection_id)

    def counts(self) -> collections.Counter[str]:
        with self._lock:
            return collections.Counter(seen for _, seen, _ in self.requests)

    def stop(self) -> None:
        self.released.set()
        super().stop()


def wait_until(predicate: object, timeout: float = 5.0) -> bool:
    """Poll ``predicate()`` until it is true or ``timeout`` passes."""
    assert callable(predicate)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())


def self_signed_certificate(directory: Path) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and localhost, and its key, as PEM files."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file = directory / "cert.pem"
    key_file = directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)
