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

from ...apigw.ids import new_connection_id
from ._authorizers import authorizer_request, authorizer_token
from ._eventbridge import cloudtrail_eventbridge, eventbridge, scheduled
from ._http import ApiRequestOptions, RequestOptions, alb, function_url, http_v1, http_v2
from ._messaging import sns, sqs
from ._s3 import s3, s3_eventbridge
from ._shared import ACCOUNT_ID, API_ID, REGION, SOURCE_IP, USER_AGENT, Query
from ._streams import dynamodb_stream, kinesis
from ._websocket import (
    ConnectionOptions,
    connection_options,
    websocket_connect,
    websocket_disconnect,
    websocket_message,
    websocket_request_context,
)

__all__ = [
    "ACCOUNT_ID",
    "API_ID",
    "ApiRequestOptions",
    "ConnectionOptions",
    "REGION",
    "RequestOptions",
    "SOURCE_IP",
    "USER_AGENT",
    "Query",
    "alb",
    "authorizer_request",
    "authorizer_token",
    "cloudtrail_eventbridge",
    "connection_options",
    "dynamodb_stream",
    "eventbridge",
    "function_url",
    "http_v1",
    "http_v2",
    "kinesis",
    "new_connection_id",
    "s3",
    "s3_eventbridge",
    "scheduled",
    "sns",
    "sqs",
    "websocket_connect",
    "websocket_disconnect",
    "websocket_message",
    "websocket_request_context",
]
