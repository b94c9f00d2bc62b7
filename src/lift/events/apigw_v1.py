"""API Gateway REST API (payload format 1.0) events."""

from __future__ import annotations

from typing import Any

from ..request import Request, TriggerType
from . import alb
from ._common import (
    LazyHeaders,
    decode_path,
    http_method,
    http_request,
    mapping,
    optional_str,
    queries_of,
)

_T = TriggerType.HTTP


def normalise(event: dict[str, Any]) -> Request:
    """Build a :class:`Request` from a REST v1 event (or an ALB one, see :mod:`.alb`).

    The path is percent-decoded, as for every HTTP source.
    """
    rc = mapping(event.get("requestContext"), _T, "requestContext")
    if "elb" in rc:
        return alb.normalise(event)
    method = http_method(event.get("httpMethod"), _T, "httpMethod")
    path = optional_str(event.get("path"), _T, "path") or "/"
    if "%" in path:
        path = decode_path(path)
    identity = mapping(rc.get("identity"), _T, "requestContext.identity")
    query, multi_query = queries_of(event, _T)
    return http_request(
        event,
        method=method,
        path=path,
        headers=LazyHeaders(event, _T),
        query=query,
        multi_query=multi_query,
        source_ip=optional_str(identity.get("sourceIp"), _T, "sourceIp"),
        request_context=rc,
    )
