"""Event adapters: ordered detection, then normalisation into a :class:`Request`.

Order matters and is fixed: WebSocket first (a ``$connect`` event may also carry
``httpMethod``/``path``), then HTTP API v2 and function URLs (``requestContext.http``),
REST v1 and ALB (``httpMethod``), API Gateway authorizers (``methodArn``/``routeArn``,
which the three before leave alone), batches of ``Records`` by their event source (SQS,
S3, SNS, DynamoDB Streams, Kinesis), S3 through EventBridge, then EventBridge. Anything
else is refused with :class:`UnsupportedEventError`, naming the kind when it is known.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import UnsupportedEventError
from ..request import Request
from . import apigw_v1, apigw_v2, authorizer, eventbridge, s3, sns, sqs, streams, websocket
from ._common import MalformedEventError

__all__ = ["ADAPTERS", "MalformedEventError", "parse"]

Adapter = tuple[Callable[[dict[str, Any]], bool], Callable[[dict[str, Any]], Request]]
Normaliser = Callable[[dict[str, Any]], Request]

_BY_RECORD_SOURCE: dict[str, Normaliser] = {
    "aws:sqs": sqs.normalise,
    "aws:s3": s3.normalise,
    "aws:dynamodb": streams.normalise_dynamodb,
    "aws:kinesis": streams.normalise_kinesis,
}


def _records_normaliser(event: dict[str, Any]) -> Normaliser | None:
    records = event.get("Records")
    if type(records) is list and records and type(records[0]) is dict:
        first = records[0]
        source = first.get("eventSource")
        if type(source) is str:
            return _BY_RECORD_SOURCE.get(source)
        if first.get("EventSource") == "aws:sns":  # SNS alone capitalises the key
            return sns.normalise
    return None


def _detect_records(event: dict[str, Any]) -> bool:
    return _records_normaliser(event) is not None


def _normalise_records(event: dict[str, Any]) -> Request:
    normaliser = _records_normaliser(event)
    assert normaliser is not None  # detected just before
    return normaliser(event)


ADAPTERS: tuple[Adapter, ...] = (
    (websocket.detect, websocket.normalise),
    (apigw_v2.detect, apigw_v2.normalise),
    (apigw_v1.detect, apigw_v1.normalise),
    (authorizer.detect, authorizer.normalise),
    (_detect_records, _normalise_records),
    (s3.detect, s3.normalise),
    (eventbridge.detect, eventbridge.normalise),
)


def parse(event: Any) -> Request:
    """Detect the event's kind and normalise it.

    Raises :class:`UnsupportedEventError` when no adapter recognises the event and
    :class:`MalformedEventError` when a recognised event has fields of the wrong shape.
    """
    if not isinstance(event, dict):
        raise UnsupportedEventError("The event must be a JSON object")
    for detect, normalise in ADAPTERS:
        if detect(event):
            return normalise(event)
    from .unrouted import describe

    kind = describe(event)
    if kind is not None:
        raise UnsupportedEventError(f"Lift does not route {kind} event")
    raise UnsupportedEventError()
