"""An SQS endpoint on 127.0.0.1, in front of moto's server, that fails chosen entries of
``SendMessageBatch``.

Every request goes on to moto unchanged except ``SendMessageBatch`` (SQS's JSON
protocol): the entries that ``fail(body, tries)`` picks are taken out before moto sees
them, so they are really not queued, and answered in ``Failed`` as SQS answers a
partial failure. ``tries`` counts how often that body reached the proxy (1 the first
time). ``fail`` returns ``None`` (let it through), or ``(code, sender_fault)``.
What moto accepted is counted per body in :attr:`accepted`; every try in :attr:`tries`.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from tests.http_background import BackgroundHTTPServer, OwnedHTTPServer

Rule = Callable[[str, int], "tuple[str, bool] | None"]

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: OwnedHTTPServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        proxy: SQSFaultProxy = self.server.owner
        if self.headers.get("X-Amz-Target") == "AmazonSQS.SendMessageBatch":
            status, answer_headers, answer = proxy.send_batch(self.path, headers, body)
        else:
            status, answer_headers, answer = proxy.forward(self.path, headers, body)
        self.send_response(status)
        for name, value in answer_headers.items():
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


class SQSFaultProxy(BackgroundHTTPServer):
    """See the module docstring. Use as a context manager; :attr:`url` is its endpoint."""

    handler = _Handler

    def __init__(self, upstream: str, fail: Rule) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.fail = fail
        self.tries: Counter[str] = Counter()
        self.accepted: Counter[str] = Counter()
        self._lock = threading.Lock()
        super().__init__()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def forward(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection(*self.upstream, timeout=10)
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def send_batch(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        request: dict[str, Any] = json.loads(body)
        kept: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for entry in request.get("Entries", []):
            message = str(entry.get("MessageBody", ""))
            with self._lock:
                self.tries[message] += 1
                tries = self.tries[message]
            verdict = self.fail(message, tries)
            if verdict is None:
                kept.append(entry)
                continue
            code, sender_fault = verdict
            failed.append(
                {"Id": entry["Id"], "SenderFault": sender_fault, "Code": code, "Message": code}
            )
        answer: dict[str, Any] = {"Successful": [], "Failed": []}
        status, answer_headers = 200, {"Content-Type": "application/x-amz-json-1.0"}
        if kept:
            status, answer_headers, raw = self.forward(
                path, headers, json.dumps({**request, "Entries": kept}).encode()
            )
            if status != 200:
                return status, answer_headers, raw
            answer = json.loads(raw)
            bodies = {entry["Id"]: str(entry["MessageBody"]) for entry in kept}
            with self._lock:
                for done in answer.get("Successful", []):
                    self.accepted[bodies[done["Id"]]] += 1
        answer["Failed"] = list(answer.get("Failed") or []) + failed
        return status, answer_headers, json.dumps(answer).encode()
