"""The events the local gateway sends to the app, shaped as API Gateway sends them.

``$connect`` carries the upgrade request's real headers and query string; messages
and ``$disconnect`` are built by :mod:`lift.testing.events`, as in tests.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from ..testing import events
from ..testing.events import new_connection_id

__all__ = [
    "API_ID",
    "DOMAIN_NAME",
    "connect_event",
    "disconnect_event",
    "message_event",
    "new_connection_id",
]

API_ID = "local"
"""``requestContext.apiId`` of every local event."""

DOMAIN_NAME = "localhost"
"""``requestContext.domainName`` of every local event."""


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
    rc = events.websocket_request_context(
        event_type="CONNECT",
        route_key="$connect",
        connection_id=connection_id,
        connected_at=now,
        stage=stage,
        domain_name=DOMAIN_NAME,
        api_id=API_ID,
        source_ip=source_ip,
        user_agent=user_agent,
        request_id=request_id,
        now_ms=now,
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
    request_id: str | None = None,
) -> dict[str, Any]:
    """A MESSAGE event: no headers, a ``messageId``, the text ``body``."""
    return events.websocket_message(
        body,
        route_key=route_key,
        connection_id=connection_id,
        connected_at=connected_at,
        stage=stage,
        domain_name=DOMAIN_NAME,
        api_id=API_ID,
        source_ip=source_ip,
        user_agent=user_agent,
        request_id=request_id,
    )


def disconnect_event(
    *,
    connection_id: str,
    connected_at: int,
    status_code: int,
    reason: str,
    stage: str,
    source_ip: str,
    user_agent: str | None,
) -> dict[str, Any]:
    """The ``$disconnect`` event with ``disconnectStatusCode`` and ``disconnectReason``."""
    return events.websocket_disconnect(
        connection_id=connection_id,
        connected_at=connected_at,
        status_code=status_code,
        reason=reason,
        stage=stage,
        domain_name=DOMAIN_NAME,
        api_id=API_ID,
        source_ip=source_ip,
        user_agent=user_agent,
    )
