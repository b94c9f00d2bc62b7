"""API Gateway's WebSocket limits and close codes, each written once.

The 128 KiB frame limit itself is defined by the runtime
(:data:`lift.websocket.payload.MAX_PAYLOAD_BYTES`, which refuses oversize sends before
any call); the model re-exports it as :data:`MAX_FRAME_BYTES`.
"""

from __future__ import annotations

from enum import IntEnum

from ..websocket.payload import MAX_PAYLOAD_BYTES

__all__ = [
    "CLOSE_REASONS",
    "IDLE_TIMEOUT",
    "INTEGRATION_TIMEOUT",
    "MAX_FRAME_BYTES",
    "MAX_LIFETIME",
    "CloseCode",
    "close_reason",
]

MAX_FRAME_BYTES = MAX_PAYLOAD_BYTES
"""128 KiB: the largest message a client may send, or ``@connections`` may post."""

INTEGRATION_TIMEOUT = 29.0
"""Seconds API Gateway waits for a route's integration before it answers a timeout."""

IDLE_TIMEOUT = 600.0
"""Seconds without a message in either direction before API Gateway closes (1001)."""

MAX_LIFETIME = 7200.0
"""Seconds a connection may live (two hours) before API Gateway closes it (1001)."""


class CloseCode(IntEnum):
    """The close codes API Gateway sends or reports on ``$disconnect``."""

    NORMAL = 1000
    GOING_AWAY = 1001
    UNSUPPORTED_DATA = 1003
    NO_STATUS = 1005
    ABNORMAL = 1006
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011


CLOSE_REASONS: dict[int, str] = {
    CloseCode.NORMAL: "Connection Closed Normally",
    CloseCode.GOING_AWAY: "Going away",
    CloseCode.UNSUPPORTED_DATA: "Binary frames are not supported",
    CloseCode.NO_STATUS: "No status code",
    CloseCode.ABNORMAL: "Connection was closed abnormally",
    CloseCode.POLICY_VIOLATION: "Policy Violation",
    CloseCode.MESSAGE_TOO_BIG: "Message too big",
    CloseCode.INTERNAL_ERROR: "Internal server error",
}
"""The ``disconnectReason`` API Gateway reports for a close that came without a reason."""


def close_reason(code: int, reason: str = "") -> str:
    """``reason``, or API Gateway's phrase for ``code`` when it is empty."""
    return reason or CLOSE_REASONS.get(code, "")
