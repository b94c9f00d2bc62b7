"""Amazon DynamoDB Streams and Kinesis Data Streams batches."""

from __future__ import annotations

from typing import Any

from ..request import Request, TriggerType
from ._common import MalformedEventError

__all__ = ["detect_dynamodb", "detect_kinesis", "normalise_dynamodb", "normalise_kinesis"]


def _first_source(event: dict[str, Any]) -> Any:
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict):
        return records[0].get("eventSource")
    return None


def detect_dynamodb(event: dict[str, Any]) -> bool:
    """A DynamoDB Streams batch: ``Records`` with ``eventSource == "aws:dynamodb"``."""
    return bool(_first_source(event) == "aws:dynamodb")


def detect_kinesis(event: dict[str, Any]) -> bool:
    """A Kinesis batch: ``Records`` with ``eventSource == "aws:kinesis"``."""
    return bool(_first_source(event) == "aws:kinesis")


def table_name(arn: str) -> str:
    """``arn:aws:dynamodb:...:table/orders/stream/2026-01-01T00:00:00.000`` -> ``orders``."""
    resource = arn.split(":", 5)[-1]
    parts = resource.split("/")
    return parts[1] if len(parts) > 1 and parts[0] == "table" else ""


def stream_name(arn: str) -> str:
    """``arn:aws:kinesis:us-east-1:123456789012:stream/clicks`` -> ``clicks``."""
    resource = arn.split(":", 5)[-1]
    parts = resource.split("/")
    return parts[1] if len(parts) > 1 and parts[0] == "stream" else ""


def _normalise(
    event: dict[str, Any], trigger: TriggerType, payload: str, sequence: str, name_of: Any
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
            source = name_of(arn)
    return Request(trigger, event, records=records, source=source)


def normalise_dynamodb(event: dict[str, Any]) -> Request:
    """Build a ``DYNAMODB_STREAM`` :class:`Request` whose ``source`` is the table name.

    Each record's change is ``record["dynamodb"]`` (``Keys``, ``NewImage``, ``OldImage``,
    ``SequenceNumber``) in DynamoDB's typed JSON (``{"S": "text"}``).
    """
    return _normalise(event, TriggerType.DYNAMODB_STREAM, "dynamodb", "SequenceNumber", table_name)


def normalise_kinesis(event: dict[str, Any]) -> Request:
    """Build a ``KINESIS`` :class:`Request` whose ``source`` is the stream name.

    Each record's payload is ``record["kinesis"]["data"]``, base64-encoded.
    """
    return _normalise(event, TriggerType.KINESIS, "kinesis", "sequenceNumber", stream_name)
