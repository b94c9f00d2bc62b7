"""LiftError and helpers: one error shape for every response."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from typing import Any


__all__ = [
    "LiftError",
    "UnsupportedEventError",
    "bad_request",
    "conflict",
    "forbidden",
    "internal_error",
    "not_found",
    "too_many_requests",
    "unauthorized",
    "validation_error",
]


class LiftError(Exception):
    """An error that maps to an HTTP status and the body ``{"error": {...}}``.

    ``LiftError(status_code, code, message, details=None, *, headers=None)``: the status
    is an ``int`` from 100 to 599, ``code`` a non-empty string (``"NOT_FOUND"``) and
    ``message`` a string, shown to the client, so it must never carry internal text.
    Anything else (arguments in another order, a status given as a string) raises
    ``TypeError`` or ``ValueError`` here, not a response API Gateway would reject later.
    """

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        details: Any = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        if isinstance(status_code, bool) or not isinstance(status_code, int):
            raise TypeError(
                f"LiftError(status_code, code, message): status_code must be an int, "
                f"not {type(status_code).__name__}"
            )
        if not 100 <= status_code <= 599:
            raise ValueError(f"LiftError status_code must be 100-599, not {status_code}")
        if not isinstance(code, str):
            raise TypeError(f"LiftError code must be a str, not {type(code).__name__}")
        if not code:
            raise ValueError("LiftError code must not be empty")
        if not isinstance(message, str):
            raise TypeError(f"LiftError message must be a str, not {type(message).__name__}")
        if headers is not None and not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            raise TypeError("LiftError headers must map str to str")
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers

    def to_body(self) -> dict[str, Any]:
        """The error body: ``{"error": {"code", "message", "details"?}}``."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status_code}, {self.code!r}, {self.message!r})"


class UnsupportedEventError(LiftError):
    """Raised by ``App.__call__`` for an event that no adapter recognises."""

    def __init__(self, message: str = "The event is not a recognised AWS event shape") -> None:
        super().__init__(400, "UNSUPPORTED_EVENT", message)


def bad_request(message: str = "Bad request", details: Any = None) -> LiftError:
    """400 ``BAD_REQUEST``."""
    return LiftError(400, "BAD_REQUEST", message, details)


def unauthorized(message: str = "Unauthorized", details: Any = None) -> LiftError:
    """401 ``UNAUTHORIZED``."""
    return LiftError(401, "UNAUTHORIZED", message, details)


def forbidden(message: str = "Forbidden", details: Any = None) -> LiftError:
    """403 ``FORBIDDEN``."""
    return LiftError(403, "FORBIDDEN", message, details)


def not_found(message: str = "Not found", details: Any = None) -> LiftError:
    """404 ``NOT_FOUND``."""
    return LiftError(404, "NOT_FOUND", message, details)


def conflict(message: str = "Conflict", details: Any = None) -> LiftError:
    """409 ``CONFLICT``."""
    return LiftError(409, "CONFLICT", message, details)


def validation_error(message: str = "Validation failed", details: Any = None) -> LiftError:
    """422 ``VALIDATION_ERROR``."""
    return LiftError(422, "VALIDATION_ERROR", message, details)


def too_many_requests(
    message: str = "Too many requests", details: Any = None, *, retry_after: int | None = None
) -> LiftError:
    """429 ``TOO_MANY_REQUESTS``, with ``Retry-After`` when given."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return LiftError(429, "TOO_MANY_REQUESTS", message, details, headers=headers)


def internal_error(message: str = "Internal server error") -> LiftError:
    """500 ``INTERNAL_ERROR`` with a generic message."""
    return LiftError(500, "INTERNAL_ERROR", message)
