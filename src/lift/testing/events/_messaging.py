"""SQS and SNS batches."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from collections.abc import Mapping
from typing import Any

from ._shared import ACCOUNT_ID, REGION, _arn, _iso_time, _now_ms, _records, _text


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
    arn = _arn("sqs", region, account_id, queue)
    attributes_of = message_attributes or {}

    def record(index: int, body: Any) -> dict[str, Any]:
        now = _now_ms()
        text = _text(body)
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
        return {
            "messageId": str(uuid.uuid4()),
            "receiptHandle": "AQEB" + base64.b64encode(secrets.token_bytes(96)).decode(),
            "body": text,
            "attributes": attributes,
            "messageAttributes": {
                name: _message_attribute(value) for name, value in attributes_of.items()
            },
            "md5OfBody": hashlib.md5(text.encode(), usedforsecurity=False).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": arn,
            "awsRegion": region,
        }

    return _records(bodies, "Hello from SQS!", record)


def sns(
    *messages: Any,
    topic: str = "alerts",
    subject: str | None = None,
    message_attributes: Mapping[str, str] | None = None,
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> dict[str, Any]:
    """An SNS notification batch, one record per message (dicts are JSON-encoded)."""
    arn = _arn("sns", region, account_id, topic)
    attributes = dict(message_attributes or {})

    def record(_: int, message: Any) -> dict[str, Any]:
        return {
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": f"{arn}:{uuid.uuid4()}",
            "Sns": {
                "Type": "Notification",
                "MessageId": str(uuid.uuid4()),
                "TopicArn": arn,
                "Subject": subject,
                "Message": _text(message),
                "Timestamp": _iso_time(_now_ms(), millis=True),
                "SignatureVersion": "1",
                "Signature": base64.b64encode(secrets.token_bytes(64)).decode("ascii"),
                "SigningCertUrl": f"https://sns.{region}.amazonaws.com/SimpleNotificationService-{secrets.token_hex(16)}.pem",
                "UnsubscribeUrl": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe",
                "MessageAttributes": {
                    name: {"Type": "String", "Value": value} for name, value in attributes.items()
                },
            },
        }

    return _records(messages, "Hello from SNS!", record)
