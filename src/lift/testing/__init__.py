"""Testing kit: event factories (:mod:`lift.testing.events`) and the WebSocket test client.

Names other than :mod:`events` are imported on first use, so ``import lift.testing``
stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import events

if TYPE_CHECKING:
    from .client import WebSocketTestClient

_EXPORTS = {
    "WebSocketTestClient": ".client",
}

__all__ = ["WebSocketTestClient", "events"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lift.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
