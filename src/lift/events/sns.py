"""Amazon SNS notifications delivered to Lambda (every record of the batch)."""

from __future__ import annotations

from typing import Any

from ..request import Request, TriggerType
from ._common import MalformedEventError, mapping

_T = TriggerType.SNS


def detect(event: dict[str, Any]) -> bool:
    """An SNS event is ``Records`` whose first record has ``EventSource == "aws:sns"``."""
    records = event.get("Records")
    return (
        isinstance(records, list)
        and bool(records)
        and isinstance(records[0], dict)
        and records[0].get("EventSource") == "aws:sns"
    )


def topic_name(arn: str) -> str:
    """``arn:aws:sns:us-east-1:123456789012:alerts`` -> ``alerts``."""
    return arn.rsplit(":", 1)[-1]


def normalise(event: dict[str, Any]) -> Request:
    """Build a :class:`Request` whose ``source`` is the topic name.

    ``records`` holds the batch's records as sent; each record's message is
    ``record["Sns"]["Message"]`` (Lambda delivers one message per invocation today).
    """
    records: list[Any] = event["Records"]
    topic = ""
    for record in records:
        if not isinstance(record, dict):
            raise MalformedEventError(_T, "Every SNS record must be an object")
        sns = mapping(record.get("Sns"), _T, "Sns")
        arn = sns.get("TopicArn")
        if not isinstance(arn, str) or not isinstance(sns.get("Message"), str):
            raise MalformedEventError(_T, "Every SNS record must carry 'TopicArn' and 'Message'")
        topic = topic or topic_name(arn)
    return Request(_T, event, records=records, source=topic)
