"""Amazon DynamoDB Streams and Kinesis Data Streams batches."""

from __future__ import annotations

from typing import Any

from ..request import Request, TriggerType
from ._common import MalformedEventError

__all__ = ["normalise_dynamodb", "normalise_kinesis"]


def _resource_name(arn: str, kind: str) -> str:
    """The name after ``kind/`` in an ARN's resource, or ``""``.

    ``arn:aws:dynamodb:...:table/orders/stream/2026-01-01T00:00:00.000`` -> ``orders``
    (``kind="table"``); ``arn:aws:kinesis:...:stream/clicks`` -> ``clicks``.
    """
    parts = arn.split(":", 5)[-1].split("/")
    return parts[1] if len(parts) > 1 and parts[0] == kind else ""


def _normalise(
    event: dict[str, Any], trigger: TriggerType, payload: str, sequence: str, kind: str
) -> Request:
    records: list[Any] = event["Records"]
    source = ""
    for record in records:
        data = record.get(payload) if isinstance(record, dict) else None
        number = data.get(sequence) if isinstance(data, dict) else None
        if not isinstance(number, str) or not number:
            # The sequence number is what a partial batch failure reports.
            raise MalformedEventError(trigger, f"Every record must carry '{payload}.{sequence}'")
        arn = record.get("eventSourceARN")
        if arn is not None and not isinstance(arn, str):
            raise MalformedEventError(trigger, "Field 'eventSourceARN' must be a string")
        if not source and arn:
            source = _resource_name(arn, kind)
    return Request(trigger, event, records=records, source=source)


def normalise_dynamodb(event: dict[str, Any]) -> Request:
    """Build a ``DYNAMODB_STREAM`` :class:`Request` whose ``source`` is the table name.

    Each record's change is ``record["dynamodb"]`` (``Keys``, ``NewImage``, ``OldImage``,
    ``SequenceNumber``) in DynamoDB's typed JSON (``{"S": "text"}``).
    """
    return _normalise(event, TriggerType.DYNAMODB_STREAM, "dynamodb", "SequenceNumber", "table")


def normalise_kinesis(event: dict[str, Any]) -> Request:
    """Build a ``KINESIS`` :class:`Request` whose ``source`` is the stream name.

    Each record's payload is ``record["kinesis"]["data"]``, base64-encoded.
    """
    return _normalise(event, TriggerType.KINESIS, "kinesis", "sequenceNumber", "stream")
