"""Application Load Balancer (Lambda target group) events.

They have REST v1's shape; :func:`lift.events.apigw_v1.normalise` hands an event with
``requestContext.elb`` to this module.
"""

from __future__ import annotations

from typing import Any

from ..request import Request, TriggerType
from ._common import LazyHeaders, decode_path, http_method, http_request, optional_str, queries_of

_T = TriggerType.HTTP


def normalise(event: dict[str, Any]) -> Request:
    """Build a :class:`Request` from an ALB event.

    The load balancer passes the query string as the client sent it, so names and values
    are URL-decoded here (``%20`` and ``+`` are spaces); the path is percent-decoded.
    """
    from urllib.parse import unquote_plus

    method = http_method(event.get("httpMethod"), _T, "httpMethod")
    path = decode_path(optional_str(event.get("path"), _T, "path") or "/")
    raw_query, raw_multi = queries_of(event, _T)
    return http_request(
        event,
        method=method,
        path=path,
        headers=LazyHeaders(event, _T),
        query={unquote_plus(name): unquote_plus(value) for name, value in raw_query.items()},
        multi_query={
            unquote_plus(name): [unquote_plus(v) for v in values]
            for name, values in raw_multi.items()
        },
        request_context=event["requestContext"],
    )
