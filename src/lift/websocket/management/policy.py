"""The retry policy of ``@connections`` calls, free of I/O.

One policy for a single send and for every send of a broadcast: which failures are
worth another try, how long to sleep before it (exponential backoff with full jitter),
and when to stop (attempts spent, or the deadline would pass). A request that may have
reached the service is never sent again unless the caller allows it.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import (
    ConnectionGoneError,
    ForbiddenError,
    ManagementAPIError,
    ManagementTimeoutError,
    PayloadTooLargeError,
    ThrottledError,
)
from ..payload import MAX_PAYLOAD_BYTES

__all__ = [
    "LAMBDA_MARGIN",
    "THROTTLE_CODES",
    "ManagementHTTPError",
    "RetryPolicy",
    "TransportFailure",
    "answer_error",
    "lambda_deadline",
    "transport_error",
]

THROTTLE_CODES = frozenset(
    {
        "LimitExceededException",
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
    }
)

LAMBDA_MARGIN = 0.5
"""Seconds kept back from the Lambda's remaining time for the handler to finish."""


class ManagementHTTPError(Exception):
    """What the ``@connections`` endpoint answered when it was not a success.

    Kept on ``__cause__`` of the typed errors for logs; never shown to clients.
    """

    def __init__(self, status: int, aws_code: str, message: str) -> None:
        super().__init__(f"{status} {aws_code}: {message}")
        self.status = status
        self.aws_code = aws_code


class TransportFailure(Exception):
    """A request that got no usable answer.

    ``kind`` is ``"connect"`` (no connection), ``"deadline"`` (time ran out),
    ``"reset"`` (the connection broke) or ``"malformed"`` (the answer was not valid
    HTTP or too large). ``sent`` is whether the whole request had left when it happened,
    so that the service may have acted on it.
    """

    def __init__(self, kind: str, *, sent: bool, reason: str) -> None:
        super().__init__(f"{kind} ({'after' if sent else 'before'} sending): {reason}")
        self.kind = kind
        self.sent = sent


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded tries with full-jitter backoff.

    Try number ``n + 1`` (``n`` from 0) comes after a sleep of
    ``uniform(0, min(max_delay, base_delay * 2**n))``, and only if it can start before
    the deadline.
    """

    max_attempts: int = 5
    base_delay: float = 0.05
    max_delay: float = 1.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not (self.base_delay >= 0 and self.max_delay >= 0):
            raise ValueError("base_delay and max_delay must not be negative")

    def backoff(
        self, attempt: int, uniform: Callable[[float, float], float] = random.uniform
    ) -> float:
        """Full-jitter delay before try ``attempt + 2`` (``attempt`` from 0)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** min(attempt, 64))
        return uniform(0, ceiling)

    def next_delay(self, attempt: int, now: float, deadline: float) -> float | None:
        """The sleep before another try after try ``attempt + 1`` failed, or ``None``.

        ``None`` when every attempt is spent or the next try could not start before
        ``deadline`` (a monotonic time).
        """
        if attempt + 1 >= self.max_attempts:
            return None
        delay = self.backoff(attempt)
        return delay if now + delay < deadline else None


def answer_error(
    status: int, code: str, payload: bytes, connection_id: str, size: int
) -> tuple[ManagementAPIError | ConnectionGoneError | PayloadTooLargeError, bool]:
    """The typed error for an answer that is not a success, and whether to try again.

    Gone (410), too large (413) and forbidden (403) are final; throttling (429 or a
    throttling error code) and 5xx are worth another try.
    """
    cause = ManagementHTTPError(status, code, payload[:200].decode("utf-8", "replace"))
    error: ManagementAPIError | ConnectionGoneError | PayloadTooLargeError
    retry = False
    if code == "GoneException" or status == 410:
        error = ConnectionGoneError(connection_id)
    elif code == "PayloadTooLargeException" or status == 413:
        error = PayloadTooLargeError(size, MAX_PAYLOAD_BYTES)
    elif code == "ForbiddenException" or status == 403:
        error = ForbiddenError()
    elif code in THROTTLE_CODES or status == 429 or status >= 500:
        error, retry = ThrottledError(code or str(status)), True
    else:
        error = ManagementAPIError(aws_code=code or str(status))
    error.__cause__ = cause
    return error, retry


def transport_error(
    failure: TransportFailure, *, replayable: bool
) -> tuple[ManagementAPIError, bool]:
    """The typed error for a request without a usable answer, and whether to try again.

    A request that never fully left (no connection, a send that failed, time out
    before sending) is safe to try again. One that was sent is tried again only when
    ``replayable`` (an idempotent operation, or a caller who accepts duplicates).
    """
    error: ManagementAPIError
    if failure.kind == "deadline":
        error = ManagementTimeoutError(maybe_delivered=failure.sent)
    elif failure.kind == "connect":
        error = ManagementAPIError(
            "The WebSocket management API is unreachable", "EndpointConnectionError"
        )
    elif failure.kind == "malformed":
        error = ManagementAPIError(
            "The WebSocket management API gave a malformed answer",
            "MalformedResponse",
            maybe_delivered=failure.sent,
        )
    else:
        error = ManagementAPIError(
            "The WebSocket management API closed the connection",
            "ConnectionReset",
            maybe_delivered=failure.sent,
        )
    error.__cause__ = failure
    return error, replayable or not failure.sent


def lambda_deadline(lambda_context: Any, *, margin: float = LAMBDA_MARGIN) -> float | None:
    """The monotonic time by which calls must end in this invocation, if known.

    The Lambda context's ``get_remaining_time_in_millis()`` less ``margin`` seconds.
    ``None`` without a usable context.
    """
    remaining = getattr(lambda_context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None
    try:
        millis = remaining()
    except Exception:  # noqa: BLE001 - a broken context means no known deadline
        return None
    if isinstance(millis, bool) or not isinstance(millis, (int, float)):
        return None
    if not math.isfinite(millis):
        return None
    return time.monotonic() + max(0.0, millis / 1000 - margin)


def earliest(now: float, seconds: float, deadline: float | None) -> float:
    """``now + seconds``, or ``deadline`` when that comes first."""
    end = now + seconds
    return end if deadline is None else min(end, deadline)
