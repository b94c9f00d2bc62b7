"""Event adapters: ordered detection, then normalisation into a :class:`Request`.

Order matters and is fixed: WebSocket first (a ``$connect`` event may also carry
``httpMethod``/``path``), then HTTP API v2 (``requestContext.http``), REST v1
(``httpMethod``), SQS, S3 (direct and through EventBridge), then EventBridge.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import UnsupportedEventError
from ..request import Request
from . import apigw_v1, apigw_v2, eventbridge, s3, sqs, websocket
from ._common import MalformedEventError

__all__ = ["ADAPTERS", "MalformedEventError", "parse"]

Adapter = tuple[Callable[[dict[str, Any]], bool], Callable[[dict[str, Any]], Request]]

ADAPTERS: tuple[Adapter, ...] = (
    (websocket.detect, websocket.normalise),
    (apigw_v2.detect, apigw_v2.normalise),
    (apigw_v1.detect, apigw_v1.normalise),
    (sqs.detect, sqs.normalise),
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
    raise UnsupportedEventError()
