"""API Gateway HTTP API (payload format 2.0) and Lambda function URL events."""

from __future__ import annotations

from typing import Any

from ..request import Request, TriggerType
from ._common import (
    LazyHeaders,
    MalformedEventError,
    decode_path,
    http_method,
    http_request,
    mapping,
    optional_str,
)

_T = TriggerType.HTTP


def strip_stage(path: str, stage: str | None) -> str:
    """``/prod/items`` on stage ``prod`` -> ``/items`` (``$default`` adds no prefix)."""
    if stage and stage != "$default":
        prefix = "/" + stage
        if path == prefix:
            return "/"
        if path.startswith(prefix + "/"):
            return path[len(prefix) :]
    return path


def normalise(event: dict[str, Any]) -> Request:
    """Build a :class:`Request` from an HTTP API v2 event.

    The stage prefix is removed from ``rawPath`` (``/prod/items`` on stage ``prod`` is
    ``/items``) and the path is percent-decoded. Multi-value query parameters are read
    from ``rawQueryString``.
    """
    rc = mapping(event.get("requestContext"), _T, "requestContext")
    http = mapping(rc.get("http"), _T, "requestContext.http")
    method = http_method(http.get("method"), _T, "requestContext.http.method")
    raw_path = optional_str(event.get("rawPath"), _T, "rawPath") or optional_str(
        http.get("path"), _T, "requestContext.http.path"
    )
    path = decode_path(strip_stage(raw_path or "/", optional_str(rc.get("stage"), _T, "stage")))
    raw_query = optional_str(event.get("rawQueryString"), _T, "rawQueryString")
    query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    if raw_query:
        from urllib.parse import parse_qsl  # only events with a query string pay for it

        for name, value in parse_qsl(raw_query, keep_blank_values=True):
            query[name] = value
            multi_query.setdefault(name, []).append(value)
    else:
        for name, value in mapping(
            event.get("queryStringParameters"), _T, "queryStringParameters"
        ).items():
            if isinstance(value, str):
                values = value.split(",")
                query[name] = values[-1]
                multi_query[name] = values
    cookies = event.get("cookies")
    if cookies is None:
        cookies = []
    elif not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
        raise MalformedEventError(_T, "Field 'cookies' must be a list of strings")
    return http_request(
        event,
        method=method,
        path=path,
        headers=LazyHeaders(event, _T, {"cookie": "; ".join(cookies)} if cookies else None),
        query=query,
        multi_query=multi_query,
        cookies=list(cookies),
        source_ip=optional_str(http.get("sourceIp"), _T, "sourceIp"),
        request_context=rc,
    )
