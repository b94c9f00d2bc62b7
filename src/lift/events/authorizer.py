"""API Gateway Lambda authorizer events: TOKEN and REQUEST, for REST, HTTP and WebSocket APIs.

They look like the requests they guard (a REST REQUEST authorizer's event has
``httpMethod`` and ``path``, a WebSocket one ``eventType: CONNECT``, an HTTP API one
``requestContext.http``) but they ask for a decision, not a response: the other adapters
leave them alone (``methodArn``/``routeArn``) and this one builds an ``AUTHORIZER``
request carrying what the guarded request would have carried.
"""

from __future__ import annotations

from typing import Any

from ..request import Request, TriggerType
from ._common import (
    LazyHeaders,
    MalformedEventError,
    decode_path,
    mapping,
    optional_str,
    queries_of,
)
from .apigw_v2 import strip_stage

_T = TriggerType.AUTHORIZER


def _identity_source(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(part for part in value.split(",") if part) if value else ()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    if value is None:
        return ()
    raise MalformedEventError(_T, "Field 'identitySource' must be a string or a list")


def normalise(event: dict[str, Any]) -> Request:
    """Build an ``AUTHORIZER`` :class:`Request`; ``source`` is the method or route ARN."""
    from ..authorizers import AuthorizerEvent

    kind = event["type"]
    rc = mapping(event.get("requestContext"), _T, "requestContext")
    arn = event.get("routeArn") if "routeArn" in event else event.get("methodArn")
    if not isinstance(arn, str) or not arn:
        raise MalformedEventError(_T, "Fields 'methodArn'/'routeArn' must be strings")
    token = optional_str(event.get("authorizationToken"), _T, "authorizationToken")
    request = Request.bare(_T, event)
    request.source = arn
    request.request_context = rc
    request.headers = LazyHeaders(event, _T)
    if kind == "TOKEN":
        info = AuthorizerEvent("TOKEN", "rest", "1.0", arn, token)
    elif "routeArn" in event:
        http = mapping(rc.get("http"), _T, "requestContext.http")
        info = AuthorizerEvent(
            "REQUEST", "http", "2.0", arn, None, _identity_source(event.get("identitySource"))
        )
        request.method = str(http.get("method") or "").upper()
        raw_path = optional_str(event.get("rawPath"), _T, "rawPath") or "/"
        stage = optional_str(rc.get("stage"), _T, "stage")
        request.path = decode_path(strip_stage(raw_path, stage))
        request.route_key = optional_str(event.get("routeKey"), _T, "routeKey") or ""
        raw_query = optional_str(event.get("rawQueryString"), _T, "rawQueryString")
        if raw_query:
            from urllib.parse import parse_qsl

            multi: dict[str, list[str]] = {}
            for name, value in parse_qsl(raw_query, keep_blank_values=True):
                multi.setdefault(name, []).append(value)
            request.multi_query = multi
            request.query = {name: values[-1] for name, values in multi.items()}
        request.source_ip = optional_str(http.get("sourceIp"), _T, "sourceIp")
    else:
        if rc.get("eventType") == "CONNECT":
            api, version = "websocket", "1.0"
            request.method = "CONNECT"
            request.route_key = optional_str(rc.get("routeKey"), _T, "routeKey") or "$connect"
            request.path = "/connect"
        else:
            api = "http" if event.get("version") == "1.0" else "rest"
            version = "1.0"
            method = optional_str(event.get("httpMethod"), _T, "httpMethod") or ""
            request.method = method.upper()
            request.path = decode_path(optional_str(event.get("path"), _T, "path") or "/")
        info = AuthorizerEvent(
            "REQUEST", api, version, arn, token, _identity_source(event.get("identitySource"))
        )
        request.query, request.multi_query = queries_of(event, _T)
        identity = mapping(rc.get("identity"), _T, "requestContext.identity")
        request.source_ip = optional_str(identity.get("sourceIp"), _T, "sourceIp")
    request.authorizer = info
    return request
