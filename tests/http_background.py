"""A test HTTP server on 127.0.0.1 (an ephemeral port), served from a daemon thread."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, TypeVar

_S = TypeVar("_S", bound="BackgroundHTTPServer")


class OwnedHTTPServer(ThreadingHTTPServer):
    """The listening server; handlers reach the test object through ``server.owner``."""

    daemon_threads = True
    owner: Any


class BackgroundHTTPServer:
    """Subclasses name their ``handler`` (and may name a ``server_class``); use ``with``."""

    handler: type[BaseHTTPRequestHandler]
    server_class: type[OwnedHTTPServer] = OwnedHTTPServer

    def __init__(self) -> None:
        self._server = self.server_class(("127.0.0.1", 0), self.handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self: _S) -> _S:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self: _S) -> _S:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
