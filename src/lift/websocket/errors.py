"""Errors raised by WebSocket operations."""

from __future__ import annotations

from ..errors import LiftError

__all__ = [
    "ConnectionGoneError",
    "ForbiddenError",
    "ManagementAPIError",
    "ManagementTimeoutError",
    "PayloadTooLargeError",
    "ThrottledError",
]


class ConnectionGoneError(LiftError):
    """The connection is closed (the Management API answered ``GoneException``, 410)."""

    def __init__(self, connection_id: str) -> None:
        super().__init__(410, "CONNECTION_GONE", "The connection is gone")
        self.connection_id = connection_id


class PayloadTooLargeError(LiftError):
    """The payload is over API Gateway's 128 KiB frame limit; nothing was sent."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            413, "PAYLOAD_TOO_LARGE", f"The payload is {size} bytes; the limit is {limit} bytes"
        )
        self.size = size
        self.limit = limit


class ManagementAPIError(LiftError):
    """The ``@connections`` Management API failed; ``aws_code`` is AWS's error code.

    ``maybe_delivered`` is true when the request was sent and no clear answer came back
    (a timeout, a reset connection, a malformed answer): the service may have acted on
    it, so sending it again may deliver it twice.
    """

    def __init__(
        self,
        message: str = "The WebSocket management API call failed",
        aws_code: str = "",
        *,
        maybe_delivered: bool = False,
    ) -> None:
        super().__init__(502, "MANAGEMENT_API_ERROR", message)
        self.aws_code = aws_code
        self.maybe_delivered = maybe_delivered


class ManagementTimeoutError(ManagementAPIError):
    """The call did not finish before its deadline (504 ``MANAGEMENT_API_TIMEOUT``).

    ``maybe_delivered`` tells whether the request had been sent when time ran out.
    """

    def __init__(self, *, maybe_delivered: bool) -> None:
        super().__init__(
            "The WebSocket management API did not answer in time",
            "Timeout",
            maybe_delivered=maybe_delivered,
        )
        self.status_code = 504
        self.code = "MANAGEMENT_API_TIMEOUT"


class ForbiddenError(ManagementAPIError):
    """``ForbiddenException``: the function may not manage this API's connections."""

    def __init__(self) -> None:
        super().__init__("Not allowed to manage this WebSocket API's connections", "Forbidden")


class ThrottledError(ManagementAPIError):
    """Throttling (``LimitExceededException``, 429) or 5xx persisted through every retry."""

    def __init__(self, aws_code: str = "LimitExceededException") -> None:
        super().__init__("The WebSocket management API is throttling requests", aws_code)
