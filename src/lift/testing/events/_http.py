"""HTTP events: REST API (1.0), HTTP API (2.0), ALB and function URLs."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, quote_plus, urlencode

from ._shared import (
    ACCOUNT_ID,
    API_ID,
    REGION,
    SOURCE_IP,
    USER_AGENT,
    Query,
    _clf_time,
    _content_headers,
    _domain,
    _encode_body,
    _gateway_id,
    _merge_headers,
    _multi,
    _now_ms,
    _query_lists,
    _trace_id,
)


def _resource_of(path: str, path_params: Mapping[str, str] | None) -> str:
    if not path_params:
        return path
    by_value = {value: name for name, value in path_params.items()}
    segments = path.split("/")
    return "/".join(f"{{{by_value[s]}}}" if s in by_value else s for s in segments)


def _proxy_headers(
    host: str, user_agent: str, source_ip: str, now: int, *, port: str = "443", proto: str = "https"
) -> dict[str, str]:
    """The headers a load balancer or API Gateway adds to every HTTP request."""
    return {
        "Accept": "*/*",
        "Host": host,
        "User-Agent": user_agent,
        "X-Amzn-Trace-Id": _trace_id(now),
        "X-Forwarded-For": source_ip,
        "X-Forwarded-Port": port,
        "X-Forwarded-Proto": proto,
    }


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def http_v1(
    method: str = "GET",
    path: str = "/",
    *,
    headers: Mapping[str, str] | None = None,
    query: Query | None = None,
    body: Any = None,
    path_params: Mapping[str, str] | None = None,
    resource: str | None = None,
    stage: str = "prod",
    stage_variables: Mapping[str, str] | None = None,
    domain_name: str | None = None,
    api_id: str = API_ID,
    region: str = REGION,
    source_ip: str = SOURCE_IP,
    user_agent: str = USER_AGENT,
    authorizer: Mapping[str, Any] | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """A REST API (payload format 1.0) proxy event.

    ``query`` values may be lists (multi-value). ``resource`` defaults to ``path`` with
    each ``path_params`` value replaced by ``{name}``. Absent query parameters, path
    parameters, stage variables and body are ``null``, as AWS sends them.
    """
    now = _now_ms()
    method = method.upper()
    domain = domain_name or _domain(api_id, region)
    encoded, is_base64 = _encode_body(body)
    defaults = {
        **_proxy_headers(domain, user_agent, source_ip, now),
        **_content_headers(body, encoded, is_base64),
    }
    merged = _merge_headers(defaults, headers)
    lists = _query_lists(query)
    resource = resource or _resource_of(path, path_params)
    request_context: dict[str, Any] = {
        "resourceId": secrets.token_hex(3),
        "resourcePath": resource,
        "httpMethod": method,
        "extendedRequestId": _gateway_id(),
        "requestTime": _clf_time(now),
        "path": f"/{stage}{path}",
        "accountId": ACCOUNT_ID,
        "protocol": "HTTP/1.1",
        "stage": stage,
        "domainPrefix": domain.split(".", 1)[0],
        "requestTimeEpoch": now,
        "requestId": request_id or str(uuid.uuid4()),
        "identity": {
            "cognitoIdentityPoolId": None,
            "accountId": None,
            "cognitoIdentityId": None,
            "caller": None,
            "sourceIp": source_ip,
            "principalOrgId": None,
            "accessKey": None,
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
            "userArn": None,
            "userAgent": user_agent,
            "user": None,
        },
        "domainName": domain,
        "apiId": api_id,
    }
    if authorizer is not None:
        request_context["authorizer"] = dict(authorizer)
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": merged,
        "multiValueHeaders": _multi(merged),
        "queryStringParameters": {k: v[-1] for k, v in lists.items() if v} if lists else None,
        "multiValueQueryStringParameters": lists or None,
        "pathParameters": dict(path_params) if path_params else None,
        "stageVariables": dict(stage_variables) if stage_variables else None,
        "requestContext": request_context,
        "body": encoded,
        "isBase64Encoded": is_base64,
    }


def http_v2(
    method: str = "GET",
    path: str = "/",
    *,
    headers: Mapping[str, str] | None = None,
    query: Query | None = None,
    cookies: Sequence[str] | None = None,
    body: Any = None,
    path_params: Mapping[str, str] | None = None,
    route_key: str = "$default",
    stage: str = "$default",
    stage_variables: Mapping[str, str] | None = None,
    domain_name: str | None = None,
    api_id: str = API_ID,
    region: str = REGION,
    source_ip: str = SOURCE_IP,
    user_agent: str = USER_AGENT,
    authorizer: Mapping[str, Any] | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """An HTTP API (payload format 2.0) event.

    ``rawPath`` carries the stage prefix when ``stage`` is not ``$default``. Header names
    are lower-case and repeated values comma-joined; cookies travel in ``cookies``, not
    in a ``cookie`` header. Optional fields are absent when empty, as AWS sends them.
    """
    now = _now_ms()
    method = method.upper()
    domain = domain_name or _domain(api_id, region)
    encoded, is_base64 = _encode_body(body)
    raw_path = path if stage == "$default" else f"/{stage}{path}"
    defaults = {
        **_proxy_headers(domain, user_agent, source_ip, now),
        **_content_headers(body, encoded, is_base64),
    }
    merged = {**_lower(defaults), **_lower(headers or {})}
    lists = _query_lists(query)
    pairs = [(name, value) for name, values in lists.items() for value in values]
    request_context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": api_id,
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0],
        "http": {
            "method": method,
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": user_agent,
        },
        "requestId": request_id or _gateway_id(),
        "routeKey": route_key,
        "stage": stage,
        "time": _clf_time(now),
        "timeEpoch": now,
    }
    if authorizer is not None:
        request_context["authorizer"] = dict(authorizer)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": urlencode(pairs, quote_via=quote),
    }
    if cookies:
        event["cookies"] = list(cookies)
    event["headers"] = merged
    if lists:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in lists.items()}
    event["requestContext"] = request_context
    if encoded is not None:
        event["body"] = encoded
    if path_params:
        event["pathParameters"] = dict(path_params)
    event["isBase64Encoded"] = is_base64
    if stage_variables:
        event["stageVariables"] = dict(stage_variables)
    return event


def alb(
    method: str = "GET",
    path: str = "/",
    *,
    headers: Mapping[str, str] | None = None,
    query: Query | None = None,
    body: Any = None,
    multi_value: bool = False,
    target_group: str = "lambda-targets",
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
    source_ip: str = SOURCE_IP,
) -> dict[str, Any]:
    """An Application Load Balancer event for a Lambda target group.

    The query string is URL-encoded as the client sent it (ALB does not decode it).
    ``multi_value`` is the target group's multi-value headers mode: headers and query
    then travel only in ``multiValueHeaders`` and ``multiValueQueryStringParameters``.
    """
    encoded, is_base64 = _encode_body(body)
    host = f"lambda-alb-{secrets.token_hex(4)}.{region}.elb.amazonaws.com"
    defaults = _proxy_headers(host, USER_AGENT, source_ip, _now_ms(), port="80", proto="http")
    base = {**_lower(defaults), **_lower(headers or {})}
    lists = {
        quote_plus(name): [quote_plus(v) for v in values]
        for name, values in _query_lists(query).items()
    }
    event: dict[str, Any] = {
        "requestContext": {
            "elb": {
                "targetGroupArn": f"arn:aws:elasticloadbalancing:{region}:{account_id}:"
                f"targetgroup/{target_group}/{secrets.token_hex(8)}"
            }
        },
        "httpMethod": method.upper(),
        "path": path,
    }
    if multi_value:
        event["multiValueQueryStringParameters"] = lists
        event["multiValueHeaders"] = {name: [value] for name, value in base.items()}
    else:
        event["queryStringParameters"] = {name: values[-1] for name, values in lists.items()}
        event["headers"] = base
    event["body"] = encoded or ""
    event["isBase64Encoded"] = is_base64
    return event


def function_url(
    method: str = "GET",
    path: str = "/",
    *,
    headers: Mapping[str, str] | None = None,
    query: Query | None = None,
    cookies: Sequence[str] | None = None,
    body: Any = None,
    url_id: str = "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6",
    region: str = REGION,
    source_ip: str = SOURCE_IP,
) -> dict[str, Any]:
    """A Lambda function URL event: payload 2.0 on a ``lambda-url`` domain, no stage."""
    domain = f"{url_id}.lambda-url.{region}.on.aws"
    event = http_v2(
        method,
        path,
        headers=headers,
        query=query,
        cookies=cookies,
        body=body,
        domain_name=domain,
        api_id=url_id,
        region=region,
        source_ip=source_ip,
    )
    event["requestContext"]["domainPrefix"] = url_id
    return event
