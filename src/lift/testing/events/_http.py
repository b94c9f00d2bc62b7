"""HTTP events: REST API (1.0), HTTP API (2.0), ALB and function URLs."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import quote, quote_plus, urlencode

if TYPE_CHECKING:
    from typing_extensions import Unpack

from ._shared import (
    ACCOUNT_ID,
    API_ID,
    REGION,
    SOURCE_IP,
    USER_AGENT,
    Query,
    _arn,
    _check_options,
    _clf_time,
    _content_headers,
    _domain,
    _encode_body,
    _forwarded_headers,
    _gateway_id,
    _now_ms,
    _query_lists,
    _v1_fields,
)


class RequestOptions(TypedDict, total=False):
    """What every HTTP event factory takes about the request and its client.

    ``headers`` are added to the ones a proxy sends (and replace them, names compared
    case-insensitively); ``query`` values may be lists (multi-value); ``cookies``
    (``name=value`` strings) travel in the ``cookies`` field of payload 2.0 and in a
    ``Cookie`` header otherwise; ``body`` as for every factory; ``region``,
    ``source_ip`` and ``user_agent`` default to :data:`REGION`, :data:`SOURCE_IP` and
    :data:`USER_AGENT`.
    """

    headers: Mapping[str, str] | None
    query: Query | None
    cookies: Sequence[str] | None
    body: Any
    region: str
    source_ip: str
    user_agent: str


class ApiRequestOptions(RequestOptions, total=False):
    """:class:`RequestOptions` and what an API Gateway REST or HTTP API request carries.

    ``stage`` defaults to ``prod`` (REST) or ``$default`` (HTTP API); ``domain_name`` to
    the API's execute-api domain; ``authorizer`` is the context an authorizer returned;
    ``request_id`` defaults to a fresh one.
    """

    path_params: Mapping[str, str] | None
    stage: str
    stage_variables: Mapping[str, str] | None
    domain_name: str | None
    api_id: str
    authorizer: Mapping[str, Any] | None
    request_id: str | None


class _ApiRequest:
    """An API Gateway request with every default applied: what both payload formats
    are written from."""

    def __init__(
        self, method: str, options: ApiRequestOptions, *, stage: str, factory: str
    ) -> None:
        _check_options(options, ApiRequestOptions, factory)
        self.now = _now_ms()
        self.method = method.upper()
        self.stage = options.get("stage", stage)
        self.api_id = options.get("api_id", API_ID)
        self.domain = options.get("domain_name") or _domain(
            self.api_id, options.get("region", REGION)
        )
        self.source_ip = options.get("source_ip", SOURCE_IP)
        self.user_agent = options.get("user_agent", USER_AGENT)
        body = options.get("body")
        self.body, self.is_base64 = _encode_body(body)
        self.defaults = {
            **_proxy_headers(self.domain, self.user_agent, self.source_ip, self.now),
            **_content_headers(body, self.body, self.is_base64),
        }
        """The headers API Gateway and the client send besides the given ones."""
        self.headers = options.get("headers") or {}
        self.cookies = list(options.get("cookies") or ())
        self.query = _query_lists(options.get("query"))
        self.path_params = _copy(options.get("path_params"))
        self.stage_variables = _copy(options.get("stage_variables"))
        authorizer = options.get("authorizer")
        self.authorizer = dict(authorizer) if authorizer is not None else None
        self.request_id = options.get("request_id")

    @property
    def domain_prefix(self) -> str:
        return self.domain.split(".", 1)[0]


def _cookie_header(cookies: Sequence[str]) -> dict[str, str]:
    """The ``Cookie`` header of a request that sends ``cookies`` (none without any)."""
    return {"Cookie": "; ".join(cookies)} if cookies else {}


def _copy(mapping: Mapping[str, str] | None) -> dict[str, str] | None:
    """A copy of ``mapping``, or ``None`` when it is empty (AWS sends ``null``)."""
    return dict(mapping) if mapping else None


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
        **_forwarded_headers(source_ip, now, port=port, proto=proto),
    }


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def http_v1(
    method: str = "GET",
    path: str = "/",
    *,
    resource: str | None = None,
    **options: Unpack[ApiRequestOptions],
) -> dict[str, Any]:
    """A REST API (payload format 1.0) proxy event.

    ``resource`` defaults to ``path`` with each ``path_params`` value replaced by
    ``{name}``; ``stage`` to ``prod``. Absent query parameters, path parameters, stage
    variables and body are ``null``, as AWS sends them. The other keywords are
    :class:`ApiRequestOptions`.
    """
    request = _ApiRequest(method, options, stage="prod", factory="http_v1")
    resource = resource or _resource_of(path, request.path_params)
    request_context: dict[str, Any] = {
        "resourceId": secrets.token_hex(3),
        "resourcePath": resource,
        "httpMethod": request.method,
        "extendedRequestId": _gateway_id(),
        "requestTime": _clf_time(request.now),
        "path": f"/{request.stage}{path}",
        "accountId": ACCOUNT_ID,
        "protocol": "HTTP/1.1",
        "stage": request.stage,
        "domainPrefix": request.domain_prefix,
        "requestTimeEpoch": request.now,
        "requestId": request.request_id or str(uuid.uuid4()),
        "identity": {
            "cognitoIdentityPoolId": None,
            "accountId": None,
            "cognitoIdentityId": None,
            "caller": None,
            "sourceIp": request.source_ip,
            "principalOrgId": None,
            "accessKey": None,
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
            "userArn": None,
            "userAgent": request.user_agent,
            "user": None,
        },
        "domainName": request.domain,
        "apiId": request.api_id,
    }
    if request.authorizer is not None:
        request_context["authorizer"] = request.authorizer
    return {
        "resource": resource,
        "path": path,
        "httpMethod": request.method,
        **_v1_fields(
            {**request.defaults, **_cookie_header(request.cookies)}, request.headers, request.query
        ),
        "pathParameters": request.path_params,
        "stageVariables": request.stage_variables,
        "requestContext": request_context,
        "body": request.body,
        "isBase64Encoded": request.is_base64,
    }


def http_v2(
    method: str = "GET",
    path: str = "/",
    *,
    route_key: str = "$default",
    **options: Unpack[ApiRequestOptions],
) -> dict[str, Any]:
    """An HTTP API (payload format 2.0) event.

    ``stage`` defaults to ``$default``; ``rawPath`` carries the stage prefix when it is
    not ``$default``. Header names are lower-case and repeated values comma-joined;
    cookies travel in ``cookies``, not in a ``cookie`` header. Optional fields are
    absent when empty, as AWS sends them. The other keywords are
    :class:`ApiRequestOptions`.
    """
    request = _ApiRequest(method, options, stage="$default", factory="http_v2")
    stage = request.stage
    raw_path = path if stage == "$default" else f"/{stage}{path}"
    lists = request.query
    pairs = [(name, value) for name, values in lists.items() for value in values]
    request_context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": request.api_id,
        "domainName": request.domain,
        "domainPrefix": request.domain_prefix,
        "http": {
            "method": request.method,
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": request.source_ip,
            "userAgent": request.user_agent,
        },
        "requestId": request.request_id or _gateway_id(),
        "routeKey": route_key,
        "stage": stage,
        "time": _clf_time(request.now),
        "timeEpoch": request.now,
    }
    if request.authorizer is not None:
        request_context["authorizer"] = request.authorizer
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": urlencode(pairs, quote_via=quote),
    }
    if request.cookies:
        event["cookies"] = request.cookies
    event["headers"] = {**_lower(request.defaults), **_lower(request.headers)}
    if lists:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in lists.items()}
    event["requestContext"] = request_context
    if request.body is not None:
        event["body"] = request.body
    if request.path_params:
        event["pathParameters"] = request.path_params
    event["isBase64Encoded"] = request.is_base64
    if request.stage_variables:
        event["stageVariables"] = request.stage_variables
    return event


def alb(
    method: str = "GET",
    path: str = "/",
    *,
    multi_value: bool = False,
    target_group: str = "lambda-targets",
    account_id: str = ACCOUNT_ID,
    **options: Unpack[RequestOptions],
) -> dict[str, Any]:
    """An Application Load Balancer event for a Lambda target group.

    The query string is URL-encoded as the client sent it (ALB does not decode it).
    ``multi_value`` is the target group's multi-value headers mode: headers and query
    then travel only in ``multiValueHeaders`` and ``multiValueQueryStringParameters``.
    The other keywords are :class:`RequestOptions`.
    """
    _check_options(options, RequestOptions, "alb")
    region = options.get("region", REGION)
    encoded, is_base64 = _encode_body(options.get("body"))
    host = f"lambda-alb-{secrets.token_hex(4)}.{region}.elb.amazonaws.com"
    user_agent, source_ip = (
        options.get("user_agent", USER_AGENT),
        options.get("source_ip", SOURCE_IP),
    )
    defaults = _proxy_headers(host, user_agent, source_ip, _now_ms(), port="80", proto="http")
    cookies = _cookie_header(options.get("cookies") or ())
    base = {**_lower(defaults), **_lower(cookies), **_lower(options.get("headers") or {})}
    lists = {
        quote_plus(name): [quote_plus(v) for v in values]
        for name, values in _query_lists(options.get("query")).items()
    }
    event: dict[str, Any] = {
        "requestContext": {
            "elb": {
                "targetGroupArn": _arn(
                    "elasticloadbalancing",
                    region,
                    account_id,
                    f"targetgroup/{target_group}/{secrets.token_hex(8)}",
                )
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
    url_id: str = "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6",
    **options: Unpack[RequestOptions],
) -> dict[str, Any]:
    """A Lambda function URL event: payload 2.0 on a ``lambda-url`` domain, no stage.

    The other keywords are :class:`RequestOptions`.
    """
    _check_options(options, RequestOptions, "function_url")
    domain = f"{url_id}.lambda-url.{options.get('region', REGION)}.on.aws"
    event = http_v2(method, path, domain_name=domain, api_id=url_id, **options)
    event["requestContext"]["domainPrefix"] = url_id
    return event
