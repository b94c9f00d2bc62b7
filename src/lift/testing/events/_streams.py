"""DynamoDB Streams and Kinesis batches."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from typing import Any

from ._shared import ACCOUNT_ID, REGION, _arn, _now_ms, _records, _sequence_number, _text


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
    arn = _arn("dynamodb", region, account_id, f"table/{table}/stream/2026-01-01T00:00:00.000")

    def record(index: int, change: Mapping[str, Any]) -> dict[str, Any]:
        name = change.get("eventName", "INSERT")
        images = {k: v for k, v in change.items() if k in ("Keys", "NewImage", "OldImage")}
        if name == "INSERT":
            view = "NEW_IMAGE" if "OldImage" not in images else "NEW_AND_OLD_IMAGES"
        else:
            view = "NEW_AND_OLD_IMAGES"
        return {
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

    return _records(changes, {"eventName": "INSERT", "Keys": {"id": {"S": "1"}}}, record)


def kinesis(
    *payloads: Any,
    stream: str = "clicks",
    partition_key: str = "1",
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> dict[str, Any]:
    """A Kinesis Data Streams batch, one record per payload (base64 in ``kinesis.data``)."""
    arn = _arn("kinesis", region, account_id, f"stream/{stream}")

    def record(index: int, payload: Any) -> dict[str, Any]:
        if isinstance(payload, (bytes, bytearray)):
            raw = bytes(payload)
        else:
            raw = _text(payload).encode("utf-8")
        sequence = _sequence_number(index)
        return {
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

    return _records(payloads, "Hello from Kinesis!", record)
