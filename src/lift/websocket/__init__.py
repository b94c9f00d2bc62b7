"""WebSocket support: context, Management API, connection stores, lifecycle, authorizer.

Names are imported on first use so that ``import lift.websocket`` stays light.
"""

from __future__ import annotations

from .._lazy import lazy_attributes

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from ..auth.request_authorizer import authorizer
    from .channel import ChannelMessage, ChannelStore, Member, PublishResult
    from .connection import Connection, ConnectionStore, ConnectionStoreError
    from .connections import ConnectionInfo, Connections
    from .context import WebSocketContext
    from .errors import (
        ConnectionGoneError,
        ForbiddenError,
        ManagementAPIError,
        ManagementTimeoutError,
        PayloadTooLargeError,
        ThrottledError,
    )
    from .fanout import FanoutOptions, FanoutResult, Listing
    from .management import ManagementClient
    from .options import ChannelOptions, WebSocketOptions
    from .results import BroadcastResult
    from .stores.dynamodb import DynamoDBConnectionStore
    from .stores.memory import MemoryConnectionStore

__all__ = [
    "BroadcastResult",
    "ChannelMessage",
    "ChannelOptions",
    "ChannelStore",
    "Member",
    "PublishResult",
    "Connection",
    "ConnectionGoneError",
    "ConnectionInfo",
    "Connections",
    "ConnectionStore",
    "ConnectionStoreError",
    "DynamoDBConnectionStore",
    "FanoutOptions",
    "FanoutResult",
    "ForbiddenError",
    "Listing",
    "ManagementAPIError",
    "ManagementClient",
    "ManagementTimeoutError",
    "MemoryConnectionStore",
    "PayloadTooLargeError",
    "ThrottledError",
    "WebSocketContext",
    "WebSocketOptions",
    "authorizer",
]

_MODULES = {
    "authorizer": "..auth.request_authorizer",
    "BroadcastResult": ".results",
    "ChannelMessage": ".channel",
    "ChannelStore": ".channel",
    "Member": ".channel",
    "PublishResult": ".channel",
    "ChannelOptions": ".options",
    "Connection": ".connection",
    "ConnectionStore": ".connection",
    "ConnectionStoreError": ".connection",
    "ConnectionInfo": ".connections",
    "Connections": ".connections",
    "WebSocketContext": ".context",
    "ConnectionGoneError": ".errors",
    "ForbiddenError": ".errors",
    "ManagementAPIError": ".errors",
    "ManagementTimeoutError": ".errors",
    "PayloadTooLargeError": ".errors",
    "ThrottledError": ".errors",
    "ManagementClient": ".management",
    "FanoutOptions": ".fanout",
    "FanoutResult": ".fanout",
    "Listing": ".fanout",
    "WebSocketOptions": ".options",
    "DynamoDBConnectionStore": ".stores.dynamodb",
    "MemoryConnectionStore": ".stores.memory",
}

__getattr__ = lazy_attributes(__name__, _MODULES)
