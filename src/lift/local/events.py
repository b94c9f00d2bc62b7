"""The events the local gateway sends to the app, shaped as API Gateway sends them.

``$connect`` carries the upgrade request's headers and query string; messages carry
no headers (as on AWS); ``$disconnect`` carries the close code and reason and only a
few headers. Route selection evaluates ``$request.body.<path>`` on a JSON body.
"""

from __future__ import annotations

import json
import time
from collections.abc import Container, Iterable
from typing import Any

from ..testing.events import new_connection_id

__all__ = [
    "API_ID",
    "DOMAIN_NAME",
    "CLOSE_REASONS",
    "clf_time",
    "close_reason",
    "connect_event",
    "disconnect_event",
    "message_event",
    "new_connection_id",
    "parse_route_selection",
    "select_route",
]

API_ID = "local"
"""``requestContext.apiId`` of every local event."""

DOMAIN_NAME = "localhost"
"""``requestContext.domainName`` of every local event."""

CLOSE_REASONS = {
    1000: "Connection Closed Normally",
    1001: "Going away",
    1003: "Binary frames are not supported",
    1005: "No status code",
    1006: "Connection was closed abnormally",
    1009: "Message too big",
    1011: "Internal error",
}
"""Default ``disconnectReason`` for a close code that came without a reason."""

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SELECTION_PREFIX = "request.body."


def clf_time(epoch_ms: int) -> str:
    """``25/Nov/2026:18:08:22 +0000``: the format of ``requestContext.requestTime``."""
    t = time.gmtime(epoch_ms / 1000)
    return (
        f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


def close_reason(code: int, reason: str = "") -> str:
    """``reason``, or the usual phrase for ``code`` when it is empty."""
    return reason or CLOSE_REASONS.get(code, "")


def _request_context(
    *,
    event_type: str,
    route_key: str,
    connection_id: str,
    connected_at: int,
    stage: str,
    source_ip: str,
    user_agent: str | None,
    now_ms: int,
    request_id: str,
) -> dict[str, Any]:
    identity: dict[str, Any] = {"sourceIp": source_ip}
    if user_agent is not None:
        identity["userAgent"] = user_agent
    return {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": clf_time(now_ms),
        "messageDirection": "IN",
        "stage": stage,
        "connectedAt": connected_at,
        "requestTimeEpoch": now_ms,
        "identity": identity,
        "requestId": request_id,
        "domainName": DOMAIN_NAME,
        "connectionId": connection_id,
        "apiId": API_ID,
    }


def _single_and_multi(
    pairs: Iterable[tuple[str, str]],
) -> tuple[dict[str, str], dict[str, list[str]]]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def connect_event(
    *,
    connection_id: str,
    headers: Iterable[tuple[str, str]],
    query: Iterable[tuple[str, str]],
    stage: str,
    source_ip: str,
    now_ms: int | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The ``$connect`` event of an upgrade request (header names keep their case).

    Repeated headers and query parameters keep their last value in ``headers`` and
    ``queryStringParameters`` and every value in the ``multiValue`` fields; the query
    fields are ``null`` when there is no query string, as on AWS.
    """
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    single, multi = _single_and_multi(headers)
    query_single, query_multi = _single_and_multi(query)
    user_agent = next((v for k, v in single.items() if k.lower() == "user-agent"), None)
    rc = _request_context(
        event_type="CONNECT",
        route_key="$connect",
        connection_id=connection_id,
        connected_at=now,
        stage=stage,
        source_ip=source_ip,
        user_agent=user_agent,
        now_ms=now,
        request_id=request_id or new_connection_id(),
    )
    return {
        "headers": single,
        "multiValueHeaders": multi,
        "queryStringParameters": query_single or None,
        "multiValueQueryStringParameters": query_multi or None,
        "requestContext": rc,
        "isBase64Encoded": False,
    }


def message_event(
    body: str,
    *,
    route_key: str,
    connection_id: str,
    connected_at: int,
    stage: str,
    source_ip: str,
    user_agent: str | None,
    now_ms: int | None = None,
    request_id: str | None = None,
    message_id: str | None = None,
) -> dict[str, Any]:
    """A MESSAGE event: no headers, a ``messageId``, the text ``body``."""
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    rc = _request_context(
        event_type="MESSAGE",
        route_key=route_key,
        connection_id=connection_id,
        connected_at=connected_at,
        stage=stage,
        source_ip=source_ip,
        user_agent=user_agent,
        now_ms=now,
        request_id=request_id or new_connection_id(),
    )
    rc = {"routeKey": rc.pop("routeKey"), "messageId": message_id or new_connection_id(), **rc}
    return {"requestContext": rc, "body": body, "isBase64Encoded": False}


def disconnect_event(
    *,
    connection_id: str,
    connected_at: int,
    status_code: int,
    reason: str,
    stage: str,
    source_ip: str,
    user_agent: str | None,
    now_ms: int | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The ``$disconnect`` event with ``disconnectStatusCode`` and ``disconnectReason``."""
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    rc = _request_context(
        event_type="DISCONNECT",
        route_key="$disconnect",
        connection_id=connection_id,
        connected_at=connected_at,
        stage=stage,
        source_ip=source_ip,
        user_agent=user_agent,
        now_ms=now,
        request_id=request_id or new_connection_id(),
    )
    rc = {
        "routeKey": rc.pop("routeKey"),
        "disconnectStatusCode": status_code,
        "eventType": rc.pop("eventType"),
        "extendedRequestId": rc.pop("extendedRequestId"),
        "requestTime": rc.pop("requestTime"),
        "messageDirection": rc.pop("messageDirection"),
        "disconnectReason": reason,
        **rc,
    }
    headers = {"Host": DOMAIN_NAME, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
    return {
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "requestContext": rc,
        "isBase64Encoded": False,
    }


def parse_route_selection(expression: str) -> tuple[str, ...] | None:
    """The body path of ``$request.body.a.b`` (or ``${request.body.a.b}``).

    ``None`` for any other expression: every message then goes to ``$default``.
    """
    text = expression.strip()
    if text.startswith("${") and text.endswith("}"):
        text = text[2:-1]
    elif text.startswith("$"):
        text = text[1:]
    else:
        return None
    if not text.startswith(_SELECTION_PREFIX):
        return None
    path = tuple(text[len(_SELECTION_PREFIX) :].split("."))
    return path if all(path) else None


def select_route(body: str, path: tuple[str, ...] | None, routes: Container[str] | None) -> str:
    """The route key for a message ``body``, as API Gateway selects it.

    The value at ``path`` in the JSON body names the route when ``routes`` holds it
    (``None``: any value is taken); a non-JSON body, a missing or non-scalar value, an
    unknown key or ``$connect``/``$disconnect`` give ``$default``.
    """
    if path is None:
        return "$default"
    try:
        value: Any = json.loads(body)
    except ValueError:
        return "$default"
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return "$default"
        value = value[key]
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return "$default"
    route_key = value if isinstance(value, str) else json.dumps(value)
    if not route_key or route_key in ("$connect", "$disconnect"):
        return "$default"
    if routes is not None and route_key not in routes:
        return "$default"
    return route_key
