"""Amazon SQS events (every record of the batch).

Detected with the other ``Records`` batches by their first record, in :mod:`lift.events`.
"""

from __future__ import annotations

from typing import Any

from ..request import Request, TriggerType
from ._common import MalformedEventError

_T = TriggerType.SQS


def normalise(event: dict[str, Any]) -> Request:
    """Build a :class:`Request` whose ``source`` is the queue name."""
    records: list[Any] = event["Records"]
    for record in records:
        message_id = record.get("messageId") if isinstance(record, dict) else None
        if not isinstance(message_id, str) or not message_id:  # what batch failures report
            raise MalformedEventError(_T, "Every SQS record must have a 'messageId'")
    arn = records[0].get("eventSourceARN")
    if not isinstance(arn, str) or not arn:
        raise MalformedEventError(_T, "Field 'eventSourceARN' must be a string")
    return Request(_T, event, records=records, source=arn.rsplit(":", 1)[-1])
