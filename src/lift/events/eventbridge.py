"""Amazon EventBridge events, including scheduled ones."""

from __future__ import annotations

from typing import Any

from ..request import Request, TriggerType
from ._common import MalformedEventError

SCHEDULED_DETAIL_TYPE = "Scheduled Event"


def rule_name(arn: str) -> str:
    """``arn:aws:events:us-east-1:123456789012:rule/nightly`` -> ``nightly``."""
    return arn.rsplit("/", 1)[-1]


def normalise(event: dict[str, Any]) -> Request:
    """Build a :class:`Request`.

    Scheduled events (``source == "aws.events"``, ``detail-type == "Scheduled Event"``)
    become ``SCHEDULED`` with the rule name as ``source``; the rest are ``EVENTBRIDGE``
    with the event's ``source``.
    """
    source = event.get("source")
    detail_type = event.get("detail-type")
    if not isinstance(source, str) or not isinstance(detail_type, str):
        raise MalformedEventError(
            TriggerType.EVENTBRIDGE, "Fields 'source' and 'detail-type' must be strings"
        )
    if source == "aws.events" and detail_type == SCHEDULED_DETAIL_TYPE:
        resources = event.get("resources")
        if not isinstance(resources, list) or not resources or not isinstance(resources[0], str):
            raise MalformedEventError(
                TriggerType.SCHEDULED, "A scheduled event must name its rule in 'resources'"
            )
        return Request(
            TriggerType.SCHEDULED, event, source=rule_name(resources[0]), detail_type=detail_type
        )
    return Request(TriggerType.EVENTBRIDGE, event, source=source, detail_type=detail_type)
