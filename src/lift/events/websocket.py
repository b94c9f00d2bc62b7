"""API Gateway WebSocket API events ($connect, messages, $disconnect)."""

from __future__ import annotations

from typing import Any

from ..request import Request, TriggerType
from ._common import MalformedEventError, headers_of, queries_of

_T = TriggerType.WEBSOCKET
_DEFAULT_KEYS = {"CONNECT": "$connect", "DISCONNECT": "$disconnect", "MESSAGE": "$default"}
_LEGACY_PATHS = {"$connect": "/connect", "$disconnect": "/disconnect", "$default": "/message"}


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
    if type(connection_id) is not str or not connection_id:
        raise MalformedEventError(_T, "Field 'requestContext.connectionId' must be a string")
    route_key = rc.get("routeKey")
    if type(route_key) is not str or not route_key:
        if route_key is not None and type(route_key) is not str:
            raise MalformedEventError(_T, "Field 'routeKey' must be a string")
        route_key = _DEFAULT_KEYS[event_type]
    body = event.get("body")
    if body is not None and type(body) is not str:
        raise MalformedEventError(_T, "Field 'body' must be a string")
    identity = rc.get("identity")
    source_ip = identity.get("sourceIp") if type(identity) is dict else None
    if identity is not None and type(identity) is not dict:
        raise MalformedEventError(_T, "Field 'requestContext.identity' must be an object")
    if source_ip is not None and type(source_ip) is not str:
        raise MalformedEventError(_T, "Field 'sourceIp' must be a string")
    request = Request.bare(_T, event)
    request.method = event_type
    request.path = _LEGACY_PATHS.get(route_key) or "/" + route_key
    request.route_key = route_key
    request.request_context = rc
    if source_ip is not None:
        request.source_ip = source_ip
    if body is not None:
        request._raw_body = body
        if event.get("isBase64Encoded") is True:
            request._is_base64 = True
    if event_type != "MESSAGE" or event.get("headers"):
        request.headers = headers_of(event, _T)
    if event_type != "MESSAGE":
        request.query, request.multi_query = queries_of(event, _T)
    return request
