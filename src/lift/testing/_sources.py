"""More event factories: ALB, function URLs, authorizers, SNS, DynamoDB Streams, Kinesis.

Re-exported by :mod:`lift.testing.events`; import them from there.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote_plus

from .events import (
    ACCOUNT_ID,
    REGION,
    SOURCE_IP,
    USER_AGENT,
    Query,
    _encode_body,
    _eventbridge_envelope,
    _iso_time,
    _now_ms,
    _query_lists,
    http_v1,
    http_v2,
    websocket_connect,
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
]


# -- ALB and function URLs ---------------------------------------------------------------
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
    base = {
        "accept": "*/*",
        "host": f"lambda-alb-{secrets.token_hex(4)}.{region}.elb.amazonaws.com",
        "user-agent": USER_AGENT,
        "x-amzn-trace-id": f"Root=1-{_now_ms() // 1000:08x}-{secrets.token_hex(12)}",
        "x-forwarded-for": source_ip,
        "x-forwarded-port": "80",
        "x-forwarded-proto": "http",
    }
    base.update({name.lower(): value for name, value in (headers or {}).items()})
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


# -- authorizers ---------------------------------------------------------------------
def _arn(api_id: str, stage: str, tail: str, region: str, account_id: str) -> str:
    return f"arn:aws:execute-api:{region}:{account_id}:{api_id}/{stage}/{tail}"


def authorizer_token(
    token: str = "allow",  # noqa: S107 - a test token, as in AWS's own samples
    *,
    method: str = "GET",
    path: str = "/",
    api_id: str = "abc123",
    stage: str = "prod",
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> dict[str, Any]:
    """A REST API TOKEN authorizer event (the token is the identity source's value)."""
    tail = f"{method.upper()}/{path.lstrip('/')}"
    return {
        "type": "TOKEN",
        "authorizationToken": token,
        "methodArn": _arn(api_id, stage, tail, region, account_id),
    }


def authorizer_request(
    api: str = "rest",
    *,
    method: str = "GET",
    path: str = "/",
    headers: Mapping[str, str] | None = None,
    query: Query | None = None,
    payload_version: str = "1.0",
    api_id: str = "abc123",
    stage: str = "prod",
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
    identity_source: Sequence[str] = (),
) -> dict[str, Any]:
    """A REQUEST authorizer event of a ``rest``, ``http`` or ``websocket`` API.

    ``http`` with ``payload_version="2.0"`` gives the HTTP API 2.0 shape (``routeArn``,
    ``identitySource`` as a list); ``websocket`` the ``$connect`` authorizer's event.
    """
    if api == "websocket":
        event = websocket_connect(headers=headers, query=query, stage=stage, api_id=api_id)
        event.pop("isBase64Encoded", None)
        rc = event["requestContext"]
        event = {
            "type": "REQUEST",
            "methodArn": _arn(api_id, stage, "$connect", region, account_id),
            **event,
        }
        rc.pop("authorizer", None)
        return event
    tail = f"{method.upper()}/{path.lstrip('/')}"
    if api == "http" and payload_version == "2.0":
        event = http_v2(method, path, headers=headers, query=query, stage=stage, api_id=api_id)
        event.pop("isBase64Encoded", None)
        event.pop("body", None)
        return {
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": _arn(api_id, stage, tail, region, account_id),
            "identitySource": list(identity_source),
            **{k: v for k, v in event.items() if k != "version"},
        }
    if api not in ("rest", "http"):
        raise ValueError("api must be 'rest', 'http' or 'websocket'")
    event = http_v1(method, path, headers=headers, query=query, stage=stage, api_id=api_id)
    for name in ("body", "isBase64Encoded"):
        event.pop(name, None)
    result: dict[str, Any] = {}
    if api == "http":
        result["version"] = "1.0"
    result["type"] = "REQUEST"
    result["methodArn"] = _arn(api_id, stage, tail, region, account_id)
    if api == "http":
        result["identitySource"] = ",".join(identity_source)
        result["authorizationToken"] = ",".join(identity_source)
    result.update(event)
    return result


# -- SNS, DynamoDB Streams, Kinesis ------------------------------------------------------
def sns(
    *messages: Any,
    topic: str = "alerts",
    subject: str | None = None,
    message_attributes: Mapping[str, str] | None = None,
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> dict[str, Any]:
    """An SNS notification batch, one record per message (dicts are JSON-encoded)."""
    if not messages:
        messages = ("Hello from SNS!",)
    arn = f"arn:aws:sns:{region}:{account_id}:{topic}"
    records = []
    for message in messages:
        text = message if isinstance(message, str) else json.dumps(message, separators=(",", ":"))
        records.append(
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{arn}:{uuid.uuid4()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": str(uuid.uuid4()),
                    "TopicArn": arn,
                    "Subject": subject,
                    "Message": text,
                    "Timestamp": _iso_time(_now_ms(), millis=True),
                    "SignatureVersion": "1",
                    "Signature": base64.b64encode(secrets.token_bytes(64)).decode("ascii"),
                    "SigningCertUrl": f"https://sns.{region}.amazonaws.com/SimpleNotificationService-{secrets.token_hex(16)}.pem",
                    "UnsubscribeUrl": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {
                        name: {"Type": "String", "Value": value}
                        for name, value in (message_attributes or {}).items()
                    },
                },
            }
        )
    return {"Records": records}


def _sequence_number(index: int) -> str:
    return str(4_000_000_000_000_000_000_000 + _now_ms() * 1000 + index)


def dynamodb_stream(
    *changes: Mapping[str, Any],
    table: str = "orders",
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> dict[str, Any]:
    """A DynamoDB Streams batch, one record per change.

    A change is ``{"eventName": "INSERT"|"MODIFY"|"REMOVE", "Keys": ..., "NewImage": ...,
    "OldImage": ...}`` in DynamoDB's typed JSON (``{"id": {"S": "1"}}``); by default one
    INSERT.
    """
    if not changes:
        changes = ({"eventName": "INSERT", "Keys": {"id": {"S": "1"}}},)
    arn = f"arn:aws:dynamodb:{region}:{account_id}:table/{table}/stream/2026-01-01T00:00:00.000"
    records = []
    for index, change in enumerate(changes):
        name = change.get("eventName", "INSERT")
        images = {k: v for k, v in change.items() if k in ("Keys", "NewImage", "OldImage")}
        if name == "INSERT":
            view = "NEW_IMAGE" if "OldImage" not in images else "NEW_AND_OLD_IMAGES"
        else:
            view = "NEW_AND_OLD_IMAGES"
        records.append(
            {
                "eventID": secrets.token_hex(16),
                "eventName": name,
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": region,
                "dynamodb": {
                    "ApproximateCreationDateTime": _now_ms() // 1000,
                    **images,
                    "SequenceNumber": _sequence_number(index),
                    "SizeBytes": len(json.dumps(images)),
                    "StreamViewType": view,
                },
                "eventSourceARN": arn,
            }
        )
    return {"Records": records}


def kinesis(
    *payloads: Any,
    stream: str = "clicks",
    partition_key: str = "1",
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> dict[str, Any]:
    """A Kinesis Data Streams batch, one record per payload (base64 in ``kinesis.data``)."""
    if not payloads:
        payloads = ("Hello from Kinesis!",)
    arn = f"arn:aws:kinesis:{region}:{account_id}:stream/{stream}"
    records = []
    for index, payload in enumerate(payloads):
        if isinstance(payload, (bytes, bytearray)):
            raw = bytes(payload)
        elif isinstance(payload, str):
            raw = payload.encode("utf-8")
        else:
            raw = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        sequence = _sequence_number(index)
        records.append(
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": partition_key,
                    "sequenceNumber": sequence,
                    "data": base64.b64encode(raw).decode("ascii"),
                    "approximateArrivalTimestamp": _now_ms() / 1000,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"shardId-000000000000:{sequence}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": f"arn:aws:iam::{account_id}:role/lambda-kinesis-role",
                "awsRegion": region,
                "eventSourceARN": arn,
            }
        )
    return {"Records": records}


# -- CloudTrail through EventBridge ----------------------------------------------------
def cloudtrail_eventbridge(
    event_name: str = "PutObject",
    *,
    service: str = "s3",
    request_parameters: Mapping[str, Any] | None = None,
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> dict[str, Any]:
    """An API call recorded by CloudTrail, delivered by EventBridge.

    ``source`` is ``aws.<service>`` and ``detail-type`` ``AWS API Call via CloudTrail``;
    ``detail`` is the CloudTrail record.
    """
    params = dict(request_parameters or {"bucketName": "uploads", "key": "photo.jpg"})
    detail = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAJ45Q7YFFAREXAMPLE",
            "arn": f"arn:aws:iam::{account_id}:user/ada",
            "accountId": account_id,
            "userName": "ada",
        },
        "eventTime": _iso_time(_now_ms()),
        "eventSource": f"{service}.amazonaws.com",
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": SOURCE_IP,
        "userAgent": "[aws-cli/2.15.0]",
        "requestParameters": params,
        "responseElements": None,
        "requestID": secrets.token_hex(8).upper(),
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": False,
        "recipientAccountId": account_id,
        "eventCategory": "Data",
    }
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:8]
    detail["additionalEventData"] = {"x-amz-id-2": digest}
    return _eventbridge_envelope(
        f"aws.{service}", "AWS API Call via CloudTrail", detail, region, account_id
    )
