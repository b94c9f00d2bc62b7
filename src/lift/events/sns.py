"""Amazon SNS notifications delivered to Lambda (every record of the batch).

Detected with the other ``Records`` batches by their first record, in :mod:`lift.events`.
"""

from __future__ import annotations

from typing import Any

from ..request import Request, TriggerType
from ._common import MalformedEventError, mapping

_T = TriggerType.SNS


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
        topic = topic or arn.rsplit(":", 1)[-1]  # arn:aws:sns:<region>:<account>:<topic>
    return Request(_T, event, records=records, source=topic)
