"""WebSocket support: context, Management API, connection stores, lifecycle, authorizer.

Names are imported on first use so that ``import lift.websocket`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .authorizer import authorizer
    from .broadcast import BroadcastResult
    from .connection import Connection, ConnectionStore
    from .context import ConnectionInfo, WebSocketContext
    from .errors import (
        ConnectionGoneError,
        ForbiddenError,
        ManagementAPIError,
        PayloadTooLargeError,
        ThrottledError,
    )
    from .management import ManagementClient
    from .options import WebSocketOptions
    from .stores.dynamodb import DynamoDBConnectionStore
    from .stores.memory import MemoryConnectionStore

_EXPORTS = {
    "authorizer": ".authorizer",
    "BroadcastResult": ".broadcast",
    "Connection": ".connection",
    "ConnectionStore": ".connection",
    "ConnectionInfo": ".context",
    "WebSocketContext": ".context",
    "ConnectionGoneError": ".errors",
    "ForbiddenError": ".errors",
    "ManagementAPIError": ".errors",
    "PayloadTooLargeError": ".errors",
    "ThrottledError": ".errors",
    "ManagementClient": ".management",
    "WebSocketOptions": ".options",
    "DynamoDBConnectionStore": ".stores.dynamodb",
    "MemoryConnectionStore": ".stores.memory",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lift.websocket' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
