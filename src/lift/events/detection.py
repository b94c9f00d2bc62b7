"""Event detection: which adapter an event belongs to, in the order :func:`parse` asks.

Each rule reads only the event's top-level keys and its request context. The rules live
here, apart from the adapters that normalise, so an app imports no adapter until an event
of its kind arrives.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from typing import Any


__all__ = ["apigw_v1", "apigw_v2", "authorizer", "eventbridge", "s3", "websocket"]

WEBSOCKET_EVENT_TYPES = frozenset({"CONNECT", "MESSAGE", "DISCONNECT"})
AUTHORIZER_TYPES = ("TOKEN", "REQUEST")
S3_NOTIFICATION_PREFIX = "Object "


def websocket(event: dict[str, Any]) -> bool:
    """A WebSocket event has ``requestContext.eventType`` CONNECT, MESSAGE or DISCONNECT.

    Checked first: a ``$connect`` event can also carry ``httpMethod`` and ``path``. The
    REQUEST authorizer of a ``$connect`` carries the same context plus ``methodArn``:
    it is not a ``$connect`` (only CONNECT events pay for that check).
    """
    rc = event.get("requestContext")
    if not isinstance(rc, dict):
        return False
    event_type = rc.get("eventType")
    if event_type == "CONNECT":
        return "methodArn" not in event
    return isinstance(event_type, str) and event_type in WEBSOCKET_EVENT_TYPES


def apigw_v2(event: dict[str, Any]) -> bool:
    """An HTTP API v2 event has ``version == "2.0"`` and ``requestContext.http``.

    So does a Lambda function URL event (domain ``<id>.lambda-url.<region>.on.aws``,
    stage ``$default``), handled the same way. An HTTP API authorizer's event (payload
    2.0) has the same shape plus ``routeArn``: it is not a request.
    """
    rc = event.get("requestContext")
    return (
        event.get("version") == "2.0"
        and isinstance(rc, dict)
        and "http" in rc
        and "routeArn" not in event
    )


def apigw_v1(event: dict[str, Any]) -> bool:
    """A REST v1 event carries ``httpMethod`` (checked after WebSocket and HTTP v2).

    Not one with ``methodArn`` (a REQUEST authorizer's event) or ``apiPath`` (a Bedrock
    agent's action group). ALB events share this shape and are told apart in
    :func:`lift.events.apigw_v1.normalise`, where the request context is read anyway.
    """
    return "httpMethod" in event and "methodArn" not in event and "apiPath" not in event


def authorizer(event: dict[str, Any]) -> bool:
    """An authorizer event has ``type`` TOKEN or REQUEST and a ``methodArn`` or ``routeArn``."""
    return ("methodArn" in event or "routeArn" in event) and event.get("type") in AUTHORIZER_TYPES


def s3(event: dict[str, Any]) -> bool:
    """Direct notifications have ``eventSource == "aws:s3"``; EventBridge ones ``aws.s3``.

    Through EventBridge, only S3's own notifications (``Object Created``, ``Object
    Deleted``, ``Object Restore Completed``...) are S3 events; anything else from
    ``aws.s3``, such as ``AWS API Call via CloudTrail``, is an EventBridge event.
    """
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict):
        return records[0].get("eventSource") == "aws:s3"
    if event.get("source") != "aws.s3":
        return False
    detail_type = event.get("detail-type")
    return isinstance(detail_type, str) and detail_type.startswith(S3_NOTIFICATION_PREFIX)


def eventbridge(event: dict[str, Any]) -> bool:
    """An EventBridge event has ``source`` and ``detail-type``."""
    return "detail-type" in event and "source" in event
