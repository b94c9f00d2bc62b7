"""API Gateway REST API (payload format 1.0) events."""

from __future__ import annotations

from typing import Any

from ..request import Request, TriggerType
from . import alb
from ._common import (
    LazyHeaders,
    MalformedEventError,
    decode_path,
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
    method = event.get("httpMethod")
    if not isinstance(method, str) or not method:
        raise MalformedEventError(_T, "Field 'httpMethod' must be a non-empty string")
    path = optional_str(event.get("path"), _T, "path") or "/"
    if "%" in path:
        path = decode_path(path)
    identity = mapping(rc.get("identity"), _T, "requestContext.identity")
    query, multi_query = queries_of(event, _T)
    body = event.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedEventError(_T, "Field 'body' must be a string")
    headers = LazyHeaders(event, _T)
    return Request(
        _T,
        event,
        method=method.upper(),
        path=path,
        headers=headers,
        query=query,
        multi_query=multi_query,
        body=body,
        is_base64=event.get("isBase64Encoded") is True,
        source_ip=optional_str(identity.get("sourceIp"), _T, "sourceIp"),
        request_context=rc,
    )
