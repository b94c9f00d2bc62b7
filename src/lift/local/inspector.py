"""The inspector's state: live connections and a bounded log, pushed to watching pages.

Everything here runs on the gateway's event loop thread. Watchers (the inspector
page's ``/_lift/events`` sockets) each get a queue of JSON texts; a watcher that falls
too far behind is dropped (its page reconnects and gets a fresh snapshot).
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Iterable
from importlib import resources
from typing import Any

__all__ = ["PREVIEW_CHARS", "Inspector", "inspector_page", "preview"]

PREVIEW_CHARS = 2000
"""How much of a message the log keeps."""

_WATCHER_BACKLOG = 2000


def preview(data: str | bytes) -> str:
    """A log-sized preview of a message (bytes that are not UTF-8 are shown as hex)."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = "0x" + data[: PREVIEW_CHARS // 2].hex()
    else:
        text = data
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "…"


def gateway_facts(gateway: Any) -> dict[str, Any]:
    """What the page shows of the gateway: addresses, limits and the app's route keys
    (suggested in the send box, in the shape of the route selection expression)."""
    definition = getattr(gateway.api, "definition", None)
    routes: Iterable[Any] = getattr(definition, "routes", ())
    return {
        "stage": gateway.stage,
        "wsUrl": gateway.ws_url,
        "endpoint": gateway.endpoint,
        "idleTimeout": gateway.idle_timeout,
        "maxLifetime": gateway.max_lifetime,
        "selection": getattr(definition, "route_selection", ""),
        "routes": sorted(str(k) for k in routes if not str(k).startswith("$")),
    }


def inspector_page() -> bytes:
    """The inspector page (``static/inspector.html``)."""
    return resources.files("lift.local").joinpath("static/inspector.html").read_bytes()


class Inspector:
    """Connections and recent log entries, with live updates for watchers."""

    def __init__(self, info: dict[str, Any], *, log_size: int = 500) -> None:
        self.info = info
        self.connections: dict[str, dict[str, Any]] = {}
        self.log: deque[dict[str, Any]] = deque(maxlen=log_size)
        self._watchers: set[asyncio.Queue[str | None]] = set()

    def snapshot(self) -> dict[str, Any]:
        """Everything a freshly opened page needs."""
        return {
            "type": "snapshot",
            "gateway": self.info,
            "connections": list(self.connections.values()),
            "log": list(self.log),
        }

    def watch(self) -> asyncio.Queue[str | None]:
        """A queue that receives the snapshot, then every update (``None``: stop)."""
        queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=_WATCHER_BACKLOG)
        queue.put_nowait(json.dumps(self.snapshot()))
        self._watchers.add(queue)
        return queue

    def unwatch(self, queue: asyncio.Queue[str | None]) -> None:
        """Stop sending updates to ``queue``."""
        self._watchers.discard(queue)

    def close(self) -> None:
        """Tell every watcher to stop."""
        for queue in list(self._watchers):
            self.release(queue)

    def connected(self, connection: dict[str, Any]) -> None:
        """A connection was accepted."""
        connection.setdefault("channels", [])
        self.connections[connection["id"]] = connection
        self._push({"type": "connect", "connection": connection})

    def channels(self, connection_id: str, channels: list[str]) -> None:
        """The channels a connection is subscribed to (pushed when they change)."""
        connection = self.connections.get(connection_id)
        if connection is not None and connection.get("channels") != channels:
            connection["channels"] = channels
            self._push({"type": "channels", "id": connection_id, "channels": channels})

    def disconnected(self, connection_id: str) -> None:
        """A connection closed."""
        if self.connections.pop(connection_id, None) is not None:
            self._push({"type": "disconnect", "id": connection_id})

    def record(self, entry: dict[str, Any]) -> None:
        """Add a log entry (``at``, ``kind``, ``id``, and kind-specific fields)."""
        self.log.append(entry)
        self._push({"type": "log", "entry": entry})

    def _push(self, update: dict[str, Any]) -> None:
        if not self._watchers:
            return
        text = json.dumps(update)
        for queue in list(self._watchers):
            try:
                queue.put_nowait(text)
            except asyncio.QueueFull:
                self.release(queue)

    def release(self, queue: asyncio.Queue[str | None]) -> None:
        """Stop watching and wake the queue's reader with ``None`` (dropping backlog if full)."""
        self._watchers.discard(queue)
        while True:
            try:
                queue.put_nowait(None)
                return
            except asyncio.QueueFull:
                queue.get_nowait()
