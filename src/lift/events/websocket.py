"""API Gateway WebSocket API events ($connect, messages, $disconnect)."""

from __future__ import annotations

from typing import Any

from ..request import Request, TriggerType
from ._common import MalformedEventError, headers_of, mapping, optional_str, queries_of

_T = TriggerType.WEBSOCKET
EVENT_TYPES = frozenset({"CONNECT", "MESSAGE", "DISCONNECT"})
_DEFAULT_KEYS = {"CONNECT": "$connect", "DISCONNECT": "$disconnect", "MESSAGE": "$default"}
_LEGACY_PATHS = {"$connect": "/connect", "$disconnect": "/disconnect", "$default": "/message"}


def detect(event: dict[str, Any]) -> bool:
    """A WebSocket event has ``requestContext.eventType`` CONNECT, MESSAGE or DISCONNECT.

    Checked first: a ``$connect`` event can also carry ``httpMethod`` and ``path``.
    """
    rc = event.get("requestContext")
    if not isinstance(rc, dict):
        return False
    event_type = rc.get("eventType")
    return isinstance(event_type, str) and event_type in EVENT_TYPES


def route_path(route_key: str) -> str:
    """The legacy path of a route key: ``$connect`` -> ``/connect``, ``chat`` -> ``/chat``."""
    return _LEGACY_PATHS.get(route_key) or "/" + route_key


def normalise(event: dict[str, Any]) -> Request:
    """Build a :class:`Request` from a WebSocket event.

    ``method`` is the event type and ``path`` the legacy path of the route key, so that
    ``app.handle("MESSAGE", "/chat", h)`` and ``app.websocket("chat", h)`` meet.
    MESSAGE events carry no headers; that is normal, not malformed.
    """
    rc: dict[str, Any] = event["requestContext"]
    event_type: str = rc["eventType"]
    connection_id = rc.get("connectionId")
    if not isinstance(connection_id, str) or not connection_id:
        raise MalformedEventError(_T, "Field 'requestContext.connectionId' must be a string")
    route_key = optional_str(rc.get("routeKey"), _T, "routeKey") or _DEFAULT_KEYS[event_type]
    body = event.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedEventError(_T, "Field 'body' must be a string")
    if event_type == "MESSAGE":
        headers: dict[str, str] = {}
        query: dict[str, str] = {}
        multi_query: dict[str, list[str]] = {}
        if event.get("headers"):
            headers = headers_of(event, _T)
    else:
        headers = headers_of(event, _T)
        query, multi_query = queries_of(event, _T)
    identity = mapping(rc.get("identity"), _T, "requestContext.identity")
    return Request(
        _T,
        event,
        method=event_type,
        path=route_path(route_key),
        route_key=route_key,
        headers=headers,
        query=query,
        multi_query=multi_query,
        body=body,
        is_base64=event.get("isBase64Encoded") is True,
        source_ip=optional_str(identity.get("sourceIp"), _T, "sourceIp"),
        request_context=rc,
    )
