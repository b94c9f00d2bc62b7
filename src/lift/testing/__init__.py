"""Testing kit: event factories (:mod:`lift.testing.events`) and the WebSocket test client.

Names other than :mod:`events` are imported on first use, so ``import lift.testing``
stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import events

if TYPE_CHECKING:
    from .client import (
        TestWebSocket,
        WebSocketClosed,
        WebSocketRefused,
        WebSocketTestClient,
        lambda_context,
    )
    from .fake_management import FakeManagementAPI

_EXPORTS = {
    "WebSocketTestClient": ".client",
    "TestWebSocket": ".websocket",
    "WebSocketRefused": ".websocket",
    "WebSocketClosed": ".websocket",
    "lambda_context": ".client",
    "FakeManagementAPI": ".fake_management",
}

__all__ = [
    "FakeManagementAPI",
    "TestWebSocket",
    "WebSocketClosed",
    "WebSocketRefused",
    "WebSocketTestClient",
    "events",
    "lambda_context",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lift.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
