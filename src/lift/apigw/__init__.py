"""The API Gateway model: what API Gateway does around an app, with no I/O.

Each rule of API Gateway's WebSocket APIs is written once here; the test client
(:mod:`lift.testing.client`), the local gateway (:mod:`lift.local`) and ``lift template``
(:mod:`lift.deploy`) drive or render it. See ``README.md`` beside this file.
"""

from __future__ import annotations

from .connections import ConnectionTable, Inbox
from .definition import ApiDefinition, Authorizer, ConnectionsTable, Trigger
from .lambda_context import LambdaContext
from .limits import (
    CLOSE_REASONS,
    IDLE_TIMEOUT,
    INTEGRATION_TIMEOUT,
    MAX_FRAME_BYTES,
    MAX_LIFETIME,
    CloseCode,
    close_reason,
)
from .protocol import Accept, Action, Close, Invoke, Refuse, Reply, WebSocketApi
from .responses import IntegrationResponse, MalformedResponseError, gateway_message
from .route_selection import DEFAULT_ROUTE_SELECTION, route_for, select_route

__all__ = [
    "CLOSE_REASONS",
    "DEFAULT_ROUTE_SELECTION",
    "IDLE_TIMEOUT",
    "INTEGRATION_TIMEOUT",
    "MAX_FRAME_BYTES",
    "MAX_LIFETIME",
    "Accept",
    "Action",
    "ApiDefinition",
    "Authorizer",
    "Close",
    "CloseCode",
    "ConnectionTable",
    "ConnectionsTable",
    "Inbox",
    "IntegrationResponse",
    "Invoke",
    "LambdaContext",
    "MalformedResponseError",
    "Refuse",
    "Reply",
    "Trigger",
    "WebSocketApi",
    "close_reason",
    "gateway_message",
    "route_for",
    "select_route",
]
