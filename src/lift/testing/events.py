"""Factories for Lambda events shaped exactly as AWS sends them.

Every factory returns a fresh dict, with realistic defaults for the fields a test does
not care about and keyword arguments for the ones it does::

    from lift.testing import events

    app(events.websocket_connect(query={"token": "t"}))
    app(events.websocket_message({"action": "chat", "text": "hi"}, connection_id=cid))
    app(events.http_v2("POST", "/items", body={"name": "pen"}, stage="prod"))

Bodies: a ``dict``/``list`` is JSON-encoded, a ``str`` is sent as is and ``bytes`` are
base64-encoded with ``isBase64Encoded`` set.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus, urlencode

from ..apigw.ids import new_connection_id
from ..apigw.route_selection import DEFAULT_ROUTE_SELECTION, route_for

if TYPE_CHECKING:
    from ._sources import (
        alb,
        authorizer_request,
        authorizer_token,
        cloudtrail_eventbridge,
        dynamodb_stream,
        function_url,
        kinesis,
        sns,
    )

__all__ = [
    "alb",
    "authorizer_request",
    "authorizer_token",
    "cloudtrail_eventbridge",
    "dynamodb_stream",
    "function_url",
    "kinesis",
    "sns",
    "websocket_request_context",
    "eventbridge",
    "http_v1",
    "http_v2",
    "new_connection_id",
    "s3",
    "s3_eventbridge",
    "scheduled",
    "sqs",
    "websocket_connect",
    "websocket_disconnect",
    "websocket_message",
]

Query = Mapping[str, str | Sequence[str]]

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
API_ID = "abc123"
SOURCE_IP = "203.0.113.10"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# -- small helpers -------------------------------------------------------------------
def _now_ms() -> int:
    return int(time.time() * 1000)


def _clf_time(epoch_ms: int) -> str:
    """``25/Nov/2026:18:08:22 +0000``, the format of ``requestContext.requestTime``."""
    t = time.gmtime(epoch_ms / 1000)
    return (
        f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


def _iso_time(epoch_ms: int, *, millis: bool = False) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_ms / 1000))
    return f"{stamp}.{epoch_ms % 1000:03d}Z" if millis else f"{stamp}Z"


_gateway_id = new_connection_id
"""An id in API Gateway's style (``L0SM9cOFvHcCIhw=``): 15 characters and ``=``."""


def _trace_id(epoch_ms: int) -> str:
    return f"Root=1-{epoch_ms // 1000:08x}-{secrets.token_hex(12)}"


def _domain(api_id: str, region: str) -> str:
    return f"{api_id}.execute-api.{region}.amazonaws.com"


def _encode_body(body: Any) -> tuple[str | None, bool]:
    """The ``body`` field and ``isBase64Encoded`` for a body given to a factory."""
    if body is None:
        return None, False
    if isinstance(body, str):
        return body, False
    if isinstance(body, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(body)).decode("ascii"), True
    return json.dumps(body, separators=(",", ":")), False


def _query_lists(query: Query | None) -> dict[str, list[str]]:
    if not query:
        return {}
    return {
        name: [value] if isinstance(value, str) else [str(v) for v in value]
        for name, value in query.items()
    }


def _merge_headers(defaults: dict[str, str], extra: Mapping[str, str] | None) -> dict[str, str]:
    """``defaults`` overridden by ``extra``, header names compared case-insensitively."""
    if not extra:
        return defaults
    lowered = {name.lower() for name in extra}
    merged = {name: value for name, value in defaults.items() if name.lower() not in lowered}
    merged.update(extra)
    return merged


def _multi(headers: Mapping[str, str]) -> dict[str, list[str]]:
    return {name: [value] for name, value in headers.items()}


def _content_headers(body: Any, encoded: str | None, is_base64: bool) -> dict[str, str]:
    if encoded is None:
        return {}
    if is_base64:
        content_type = "application/octet-stream"
        length = len(base64.b64decode(encoded))
    else:
        content_type = "text/plain" if isinstance(body, str) else "application/json"
        length = len(encoded.encode("utf-8"))
    return {"Content-Type": content_type, "Content-Length": str(length)}


# -- WebSocket -----------------------------------------------------------------------
def _ws_authorizer(authorizer: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if authorizer is None:
        return None
    result: dict[str, Any] = {"principalId": str(authorizer.get("user_id") or "user")}
    result.update(authorizer)
    result.setdefault("integrationLatency", 0)
    return result


def websocket_request_context(
    *,
    event_type: str,
    route_key: str,
    connection_id: str | None,
    stage: str,
    domain_name: str | None = None,
    api_id: str = API_ID,
    region: str = REGION,
    source_ip: str = SOURCE_IP,
    user_agent: str | None = USER_AGENT,
    connected_at: int | None = None,
    authorizer: Mapping[str, Any] | None = None,
    request_id: str | None = None,
    now_ms: int | None = None,
) -> dict[str, Any]:
    """The ``requestContext`` of a WebSocket event, as API Gateway writes it."""
    now = now_ms if now_ms is not None else _now_ms()
    request_id = request_id or _gateway_id()
    identity: dict[str, Any] = {"sourceIp": source_ip}
    if user_agent is not None:
        identity["userAgent"] = user_agent
    rc: dict[str, Any] = {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": _clf_time(now),
        "messageDirection": "IN",
        "stage": stage,
        "connectedAt": connected_at if connected_at is not None else now,
        "requestTimeEpoch": now,
        "identity": identity,
        "requestId": request_id,
        "domainName": domain_name or _domain(api_id, region),
        "connectionId": connection_id or _gateway_id(),
        "apiId": api_id,
    }
    ws_authorizer = _ws_authorizer(authorizer)
    if ws_authorizer is not None:
        rc["authorizer"] = ws_authorizer
    return rc


def websocket_connect(
    *,
    connection_id: str | None = None,
    headers: Mapping[str, str] | None = None,
    query: Query | None = None,
    subprotocols: Sequence[str] | None = None,
    stage: str = "prod",
    domain_name: str | None = None,
    api_id: str = API_ID,
    region: str = REGION,
    source_ip: str = SOURCE_IP,
    user_agent: str | None = USER_AGENT,
    authorizer: Mapping[str, Any] | None = None,
    request_id: str | None = None,
    connected_at: int | None = None,
    http_method: str | None = None,
    path: str = "/",
) -> dict[str, Any]:
    """A ``$connect`` event: the upgrade request's headers and query string.

    ``subprotocols`` become ``Sec-WebSocket-Protocol``; ``authorizer`` is the context a
    Lambda authorizer returned (``principalId`` and ``integrationLatency`` are added).
    ``http_method`` (with ``path``) adds the ``httpMethod``/``path`` fields some
    ``$connect`` events also carry.
    """
    now = _now_ms()
    rc = websocket_request_context(
        event_type="CONNECT",
        route_key="$connect",
        connection_id=connection_id,
        stage=stage,
        domain_name=domain_name,
        api_id=api_id,
        region=region,
        source_ip=source_ip,
        user_agent=user_agent,
        connected_at=connected_at,
        authorizer=authorizer,
        request_id=request_id,
    )
    defaults = {
        "Host": rc["domainName"],
        "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
        "Sec-WebSocket-Key": base64.b64encode(secrets.token_bytes(16)).decode("ascii"),
        "Sec-WebSocket-Version": "13",
        "X-Amzn-Trace-Id": _trace_id(now),
        "X-Forwarded-For": source_ip,
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    if user_agent is not None:
        defaults["User-Agent"] = user_agent
    if subprotocols:
        defaults["Sec-WebSocket-Protocol"] = ", ".join(subprotocols)
    merged = _merge_headers(defaults, headers)
    lists = _query_lists(query)
    event: dict[str, Any] = {
        "headers": merged,
        "multiValueHeaders": _multi(merged),
        "queryStringParameters": {k: v[-1] for k, v in lists.items() if v} if lists else None,
        "multiValueQueryStringParameters": lists or None,
        "requestContext": rc,
        "isBase64Encoded": False,
    }
    if http_method is not None:
        event["httpMethod"] = http_method
        event["path"] = path
    return event


def websocket_message(
    body: Any = None,
    *,
    route_key: str | None = None,
    connection_id: str | None = None,
    stage: str = "prod",
    domain_name: str | None = None,
    api_id: str = API_ID,
    region: str = REGION,
    source_ip: str = SOURCE_IP,
    user_agent: str | None = USER_AGENT,
    authorizer: Mapping[str, Any] | None = None,
    request_id: str | None = None,
    message_id: str | None = None,
    connected_at: int | None = None,
) -> dict[str, Any]:
    """A message event. It has no ``headers`` (API Gateway sends none after ``$connect``).

    ``route_key`` defaults to the route API Gateway selects with the default
    expression ``$request.body.action`` (:func:`lift.apigw.route_for`), else ``$default``.
    """
    encoded, is_base64 = _encode_body(body)
    if route_key is None:
        text = encoded if encoded and not is_base64 else ""
        route_key = route_for(DEFAULT_ROUTE_SELECTION, text, None)
    rc = websocket_request_context(
        event_type="MESSAGE",
        route_key=route_key,
        connection_id=connection_id,
        stage=stage,
        domain_name=domain_name,
        api_id=api_id,
        region=region,
        source_ip=source_ip,
        user_agent=user_agent,
        connected_at=connected_at,
        authorizer=authorizer,
        request_id=request_id,
    )
    rc = {"routeKey": rc.pop("routeKey"), "messageId": message_id or _gateway_id(), **rc}
    return {"requestContext": rc, "body": encoded or "", "isBase64Encoded": is_base64}


def websocket_disconnect(
    *,
    connection_id: str | None = None,
    status_code: int = 1000,
    reason: str = "",
    stage: str = "prod",
    domain_name: str | None = None,
    api_id: str = API_ID,
    region: str = REGION,
    source_ip: str = SOURCE_IP,
    user_agent: str | None = USER_AGENT,
    authorizer: Mapping[str, Any] | None = None,
    request_id: str | None = None,
    connected_at: int | None = None,
) -> dict[str, Any]:
    """A ``$disconnect`` event with the close ``status_code`` and ``reason``.

    Like AWS, it carries only a few headers (``Host``, ``x-api-key``,
    ``X-Forwarded-For``, ``x-restapi``).
    """
    rc = websocket_request_context(
        event_type="DISCONNECT",
        route_key="$disconnect",
        connection_id=connection_id,
        stage=stage,
        domain_name=domain_name,
        api_id=api_id,
        region=region,
        source_ip=source_ip,
        user_agent=user_agent,
        connected_at=connected_at,
        authorizer=authorizer,
        request_id=request_id,
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
    headers = {
        "Host": rc["domainName"],
        "x-api-key": "",
        "X-Forwarded-For": "",
        "x-restapi": "",
    }
    return {
        "headers": headers,
        "multiValueHeaders": _multi(headers),
        "requestContext": rc,
        "isBase64Encoded": False,
    }


# -- HTTP ----------------------------------------------------------------------------
def _resource_of(path: str, path_params: Mapping[str, str] | None) -> str:
    if not path_params:
        return path
    by_value = {value: name for name, value in path_params.items()}
    segments = path.split("/")
    return "/".join(f"{{{by_value[s]}}}" if s in by_value else s for s in segments)


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
        "Accept": "*/*",
        "Host": domain,
        "User-Agent": user_agent,
        "X-Amzn-Trace-Id": _trace_id(now),
        "X-Forwarded-For": source_ip,
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
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
        "accept": "*/*",
        "host": domain,
        "user-agent": user_agent,
        "x-amzn-trace-id": _trace_id(now),
        "x-forwarded-for": source_ip,
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
        **{k.lower(): v for k, v in _content_headers(body, encoded, is_base64).items()},
    }
    extra = {name.lower(): value for name, value in (headers or {}).items()}
    merged = {**defaults, **extra}
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


# -- SQS -----------------------------------------------------------------------------
def _message_attribute(value: Any) -> dict[str, Any]:
    attribute: dict[str, Any] = {"stringListValues": [], "binaryListValues": []}
    if isinstance(value, (bytes, bytearray)):
        attribute["binaryValue"] = base64.b64encode(bytes(value)).decode("ascii")
        attribute["dataType"] = "Binary"
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        attribute["stringValue"] = str(value)
        attribute["dataType"] = "Number"
    else:
        attribute["stringValue"] = str(value)
        attribute["dataType"] = "String"
    return attribute


def sqs(
    *bodies: Any,
    queue: str = "orders",
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
    message_attributes: Mapping[str, Any] | None = None,
    message_group_id: str = "default",
) -> dict[str, Any]:
    """An SQS batch with one record per body (one ``"Hello from SQS!"`` when none given).

    ``queue`` names the queue in ``eventSourceARN``; a ``.fifo`` queue adds the FIFO
    attributes. ``message_attributes`` values may be str, numbers or bytes.
    """
    if not bodies:
        bodies = ("Hello from SQS!",)
    arn = f"arn:aws:sqs:{region}:{account_id}:{queue}"
    records = []
    for index, body in enumerate(bodies):
        now = _now_ms()
        text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
        attributes = {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": str(now),
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": str(now + 2),
        }
        if queue.endswith(".fifo"):
            attributes["SequenceNumber"] = str(18849496460467696128 + index)
            attributes["MessageGroupId"] = message_group_id
            attributes["MessageDeduplicationId"] = hashlib.sha256(text.encode()).hexdigest()
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "AQEB" + base64.b64encode(secrets.token_bytes(96)).decode(),
                "body": text,
                "attributes": attributes,
                "messageAttributes": {
                    name: _message_attribute(value)
                    for name, value in (message_attributes or {}).items()
                },
                "md5OfBody": hashlib.md5(text.encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


# -- S3 ------------------------------------------------------------------------------
def _sequencer() -> str:
    return secrets.token_hex(9).upper()


def s3(
    *keys: str,
    bucket: str = "uploads",
    event_name: str = "ObjectCreated:Put",
    size: int = 1024,
    region: str = REGION,
) -> dict[str, Any]:
    """A direct S3 notification with one record per key (``uploads/photo.jpg`` by default).

    Keys are URL-encoded the way S3 encodes them (a space becomes ``+``). ``ObjectRemoved``
    events carry no size or ETag.
    """
    if not keys:
        keys = ("uploads/photo.jpg",)
    records = []
    for key in keys:
        now = _now_ms()
        obj: dict[str, Any] = {"key": quote_plus(key, safe="/")}
        if not event_name.startswith("ObjectRemoved"):
            obj["size"] = size
            obj["eTag"] = secrets.token_hex(16)
        obj["sequencer"] = _sequencer()
        records.append(
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": _iso_time(now, millis=True),
                "eventName": event_name,
                "userIdentity": {"principalId": "AWS:AIDAINPONIXQXHT3IKHL2"},
                "requestParameters": {"sourceIPAddress": SOURCE_IP},
                "responseElements": {
                    "x-amz-request-id": secrets.token_hex(8).upper(),
                    "x-amz-id-2": base64.b64encode(secrets.token_bytes(56)).decode("ascii"),
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": str(uuid.uuid4()),
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "A3I5XTEXAMAI3E"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": obj,
                },
            }
        )
    return {"Records": records}


def s3_eventbridge(
    key: str = "uploads/photo.jpg",
    *,
    bucket: str = "uploads",
    detail_type: str = "Object Created",
    size: int = 1024,
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> dict[str, Any]:
    """An S3 event delivered through EventBridge (``source`` ``aws.s3``)."""
    created = detail_type == "Object Created"
    obj: dict[str, Any] = {"key": key}
    if created:
        obj["size"] = size
        obj["etag"] = secrets.token_hex(16)
    obj["sequencer"] = _sequencer()
    detail: dict[str, Any] = {
        "version": "0",
        "bucket": {"name": bucket},
        "object": obj,
        "request-id": secrets.token_hex(8).upper(),
        "requester": account_id,
        "source-ip-address": SOURCE_IP,
        "reason": "PutObject" if created else "DeleteObject",
    }
    if detail_type == "Object Deleted":
        detail["deletion-type"] = "Permanently Deleted"
    event = _eventbridge_envelope("aws.s3", detail_type, detail, region, account_id)
    event["resources"] = [f"arn:aws:s3:::{bucket}"]
    return event


# -- EventBridge ---------------------------------------------------------------------
def _eventbridge_envelope(
    source: str, detail_type: str, detail: dict[str, Any], region: str, account_id: str
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account_id,
        "time": _iso_time(_now_ms()),
        "region": region,
        "resources": [],
        "detail": detail,
    }


def eventbridge(
    detail: Mapping[str, Any] | None = None,
    *,
    source: str = "com.example.orders",
    detail_type: str = "OrderPlaced",
    resources: Sequence[str] = (),
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> dict[str, Any]:
    """A custom EventBridge event (``PutEvents``) with ``detail``."""
    event = _eventbridge_envelope(
        source, detail_type, copy.deepcopy(dict(detail or {})), region, account_id
    )
    event["resources"] = list(resources)
    return event


def scheduled(
    rule: str = "nightly",
    *,
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> dict[str, Any]:
    """A scheduled event of the EventBridge rule ``rule``."""
    event = _eventbridge_envelope("aws.events", "Scheduled Event", {}, region, account_id)
    event["resources"] = [f"arn:aws:events:{region}:{account_id}:rule/{rule}"]
    return event


_MORE = frozenset(
    {
        "alb",
        "authorizer_request",
        "authorizer_token",
        "cloudtrail_eventbridge",
        "dynamodb_stream",
        "function_url",
        "kinesis",
        "sns",
    }
)


def __getattr__(name: str) -> Any:
    """The factories of :mod:`lift.testing._sources`, loaded on first use."""
    if name not in _MORE:
        raise AttributeError(f"module 'lift.testing.events' has no attribute {name!r}")
    from . import _sources

    value = getattr(_sources, name)
    globals()[name] = value
    return value
