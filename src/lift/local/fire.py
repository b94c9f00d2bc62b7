"""Running an app's workers on the local gateway: SQS batches and scheduled events.

``POST /_lift/fire`` with ``{"source": "sqs", "name": "orders", "bodies": [...]}`` or
``{"source": "schedule", "name": "nightly"}`` builds the event AWS would send
(:mod:`lift.testing.events`) and runs the app on it inside the gateway, so the worker
shares the app's connection store and reaches the open connections through the
gateway's ``@connections`` endpoint, exactly as a deployed worker with the management
endpoint in its environment does. ``lift dev --fire`` and the inspector's form post it.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MAX_BODIES", "FireError", "build_event", "parse_request", "parse_spec"]

MAX_BODIES = 10
"""SQS delivers at most 10 messages in one batch to a Lambda function by default."""
_MAX_NAME = 256
SOURCES = ("sqs", "schedule")


class FireError(ValueError):
    """A fire request that cannot be run; the message is safe to show."""


def parse_spec(spec: str) -> tuple[str, str]:
    """``sqs:orders`` or ``schedule:nightly`` → ``(source, name)``."""
    source, sep, name = spec.partition(":")
    if not sep or source not in SOURCES or not name:
        raise FireError(f"expected sqs:QUEUE or schedule:RULE, got {spec!r}")
    return source, name


def parse_request(raw: bytes) -> tuple[str, str, list[Any]]:
    """The ``(source, name, bodies)`` of a fire request's JSON body."""
    try:
        request = json.loads(raw)
    except ValueError as exc:
        raise FireError("the request body must be JSON") from exc
    if not isinstance(request, dict):
        raise FireError("the request body must be a JSON object")
    source, name = request.get("source"), request.get("name")
    if source not in SOURCES:
        raise FireError("source must be 'sqs' or 'schedule'")
    if not isinstance(name, str) or not name or len(name) > _MAX_NAME:
        raise FireError("name must be a queue or rule name")
    bodies = request.get("bodies", [])
    if not isinstance(bodies, list) or len(bodies) > MAX_BODIES:
        raise FireError(f"bodies must be a list of at most {MAX_BODIES} messages")
    if source == "sqs" and not bodies:
        raise FireError("an SQS batch needs at least one message")
    return str(source), name, bodies


def build_event(source: str, name: str, bodies: list[Any]) -> dict[str, Any]:
    """The event AWS sends for this source."""
    from ..testing import events

    if source == "sqs":
        return events.sqs(*bodies, queue=name)
    return events.scheduled(name)
