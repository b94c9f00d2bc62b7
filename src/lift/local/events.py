"""The ``$connect`` event of the local gateway, shaped as API Gateway sends it.

It carries the upgrade request's real headers and query string; the connection's later
events are built by :mod:`lift.testing.events` from its
:func:`~lift.testing.events.connection_options`, as in tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..apigw.ids import new_connection_id
from ..testing import events

__all__ = [
    "API_ID",
    "DOMAIN_NAME",
    "connect_event",
    "new_connection_id",
]

API_ID = "local"
"""``requestContext.apiId`` of every local event."""

DOMAIN_NAME = "localhost"
"""``requestContext.domainName`` of every local event."""

_LOCAL_API: Mapping[str, Any] = {"domain_name": DOMAIN_NAME, "api_id": API_ID}


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
    request_id: str | None = None,
) -> dict[str, Any]:
    """The ``$connect`` event of an upgrade request (header names keep their case).

    Built by :func:`lift.testing.events.websocket_connect` with the request's real
    headers and query in place of the factory's: repeated headers and query parameters
    keep their last value in ``headers`` and ``queryStringParameters`` and every value
    in the ``multiValue`` fields; the query fields are ``null`` when there is no query
    string, as on AWS.
    """
    single, multi = _single_and_multi(headers)
    query_single, query_multi = _single_and_multi(query)
    user_agent = next((v for k, v in single.items() if k.lower() == "user-agent"), None)
    event = events.websocket_connect(
        connection_id=connection_id,
        user_agent=user_agent,
        request_id=request_id,
        stage=stage,
        source_ip=source_ip,
        **_LOCAL_API,
    )
    event["headers"] = single
    event["multiValueHeaders"] = multi
    event["queryStringParameters"] = query_single or None
    event["multiValueQueryStringParameters"] = query_multi or None
    return event
