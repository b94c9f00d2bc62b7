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

from .._lazy import import_relative
from ..errors import UnsupportedEventError
from ..request import Request
from . import detection
from ._common import MalformedEventError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

__all__ = ["ADAPTERS", "MalformedEventError", "parse"]

Detector = Callable[[dict[str, "Any"]], bool]
Normaliser = Callable[[dict[str, "Any"]], Request]

# Batches of ``Records``: the normaliser of each event source (``module[.function]``).
_BY_RECORD_SOURCE: dict[str, str] = {
    "aws:sqs": "sqs",
    "aws:s3": "s3",
    "aws:dynamodb": "streams.normalise_dynamodb",
    "aws:kinesis": "streams.normalise_kinesis",
}


def _records_source(event: dict[str, Any]) -> str | None:
    records = event.get("Records")
    if type(records) is list and records and type(records[0]) is dict:
        first = records[0]
        source = first.get("eventSource")
        if type(source) is str:
            return _BY_RECORD_SOURCE.get(source)
        if first.get("EventSource") == "aws:sns":  # SNS alone capitalises the key
            return "sns"
    return None


def _detect_records(event: dict[str, Any]) -> bool:
    return _records_source(event) is not None


def _normalise_records(event: dict[str, Any]) -> Request:
    source = _records_source(event)
    assert source is not None  # detected just before
    return _normaliser(source)(event)


_LOADED: dict[str, Normaliser] = {"records": _normalise_records}


def _normaliser(target: str) -> Normaliser:
    """The normaliser ``module[.function]`` (``normalise`` by default) of this package;
    the adapter's module is imported by the first event of its kind."""
    function = _LOADED.get(target)
    if function is None:
        module, _, name = target.partition(".")
        adapter = import_relative(f".{module}", __name__)
        function = _LOADED[target] = getattr(adapter, name or "normalise")
    return function


ADAPTERS: tuple[tuple[Detector, str], ...] = (
    (detection.websocket, "websocket"),
    (detection.apigw_v2, "apigw_v2"),
    (detection.apigw_v1, "apigw_v1"),
    (detection.authorizer, "authorizer"),
    (_detect_records, "records"),
    (detection.s3, "s3"),
    (detection.eventbridge, "eventbridge"),
)
"""Detection, in order, and the normaliser (see :func:`_normaliser`) of what it detects."""


def parse(event: Any) -> Request:
    """Detect the event's kind and normalise it.

    Raises :class:`UnsupportedEventError` when no adapter recognises the event and
    :class:`MalformedEventError` when a recognised event has fields of the wrong shape.
    """
    if not isinstance(event, dict):
        raise UnsupportedEventError("The event must be a JSON object")
    for detect, target in ADAPTERS:
        if detect(event):
            return (_LOADED.get(target) or _normaliser(target))(event)
    from .unrouted import describe

    kind = describe(event)
    if kind is not None:
        raise UnsupportedEventError(f"Lift does not route {kind} event")
    raise UnsupportedEventError()
