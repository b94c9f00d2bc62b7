"""The @connections retry policy, without I/O: what is retried, for how long, and why."""

from __future__ import annotations

import time
from typing import Any

import pytest

from lift.websocket.errors import (
    ConnectionGoneError,
    ForbiddenError,
    ManagementAPIError,
    ManagementTimeoutError,
    PayloadTooLargeError,
    ThrottledError,
)
from lift.websocket.management.policy import (
    LAMBDA_MARGIN,
    RetryPolicy,
    TransportFailure,
    answer_error,
    lambda_deadline,
    transport_error,
)


def test_next_delay_stops_when_attempts_are_spent() -> None:
    policy = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.01)
    far = time.monotonic() + 60
    assert policy.next_delay(0, time.monotonic(), far) is not None
    assert policy.next_delay(1, time.monotonic(), far) is not None
    assert policy.next_delay(2, time.monotonic(), far) is None


def test_next_delay_stops_when_the_sleep_would_pass_the_deadline() -> None:
    policy = RetryPolicy(max_attempts=100, base_delay=10.0, max_delay=10.0)
    now = time.monotonic()
    delays = [policy.next_delay(5, now, now + 0.001) for _ in range(50)]
    assert all(delay is None or delay < 0.001 for delay in delays)
    assert RetryPolicy(max_attempts=5).next_delay(0, now, now) is None


def test_backoff_is_full_jitter_and_capped() -> None:
    policy = RetryPolicy(base_delay=0.05, max_delay=1.0)
    assert policy.backoff(3, uniform=lambda low, high: high) == 0.4
    assert policy.backoff(30, uniform=lambda low, high: high) == 1.0
    assert policy.backoff(10_000, uniform=lambda low, high: high) == 1.0  # no overflow
    assert policy.backoff(3, uniform=lambda low, high: low) == 0


@pytest.mark.parametrize("options", [{"max_attempts": 0}, {"base_delay": -1}, {"max_delay": -1}])
def test_policy_refuses_nonsense(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**options)


@pytest.mark.parametrize(
    ("status", "code", "kind", "retry"),
    [
        (410, "GoneException", ConnectionGoneError, False),
        (413, "PayloadTooLargeException", PayloadTooLargeError, False),
        (403, "ForbiddenException", ForbiddenError, False),
        (429, "LimitExceededException", ThrottledError, True),
        (400, "TooManyRequestsException", ThrottledError, True),
        (500, "InternalServerErrorException", ThrottledError, True),
        (503, "", ThrottledError, True),
        (400, "BadRequestException", ManagementAPIError, False),
    ],
)
def test_answers_map_to_typed_errors(status: int, code: str, kind: type, retry: bool) -> None:
    error, again = answer_error(status, code, b'{"message":"internal detail"}', "c1", 3)
    assert type(error) is kind
    assert again is retry
    assert "internal detail" not in getattr(error, "message", "")


@pytest.mark.parametrize(
    ("kind", "sent", "replayable", "retry", "maybe"),
    [
        ("connect", False, False, True, False),
        ("deadline", False, False, True, False),
        ("reset", False, False, True, False),  # the request never fully left
        ("deadline", True, False, False, True),
        ("reset", True, False, False, True),
        ("malformed", True, False, False, True),
        ("reset", True, True, True, True),  # an idempotent call, or retry_unsafe
    ],
)
def test_failures_are_retried_only_when_no_duplicate_can_follow(
    kind: str, sent: bool, replayable: bool, retry: bool, maybe: bool
) -> None:
    error, again = transport_error(
        TransportFailure(kind, sent=sent, reason="x"), replayable=replayable
    )
    assert again is retry
    assert error.maybe_delivered is maybe
    assert isinstance(error, ManagementTimeoutError) is (kind == "deadline")


class _Context:
    def __init__(self, remaining: Any) -> None:
        self.remaining = remaining

    def get_remaining_time_in_millis(self) -> Any:
        if isinstance(self.remaining, Exception):
            raise self.remaining
        return self.remaining


def test_lambda_deadline_keeps_a_margin() -> None:
    before = time.monotonic()
    deadline = lambda_deadline(_Context(3000))
    assert deadline is not None
    assert before + 3.0 - LAMBDA_MARGIN <= deadline <= time.monotonic() + 3.0 - LAMBDA_MARGIN
    almost_out = lambda_deadline(_Context(100))
    assert almost_out is not None and almost_out <= time.monotonic()


@pytest.mark.parametrize(
    "context",
    [None, object(), _Context("3000"), _Context(True), _Context(float("nan")), _Context(OSError())],
)
def test_lambda_deadline_is_unknown_without_a_usable_context(context: Any) -> None:
    assert lambda_deadline(context) is None
