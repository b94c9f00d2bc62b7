"""Testing kit: event factories (:mod:`lift.testing.events`) and the WebSocket test client.

Names other than :mod:`events` are imported on first use, so ``import lift.testing``
stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes
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

__getattr__ = lazy_attributes(__name__, _EXPORTS)
