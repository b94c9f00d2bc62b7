"""``recovery``: turn exceptions into the standard error response inside the chain."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..dispatch import run_handler
from ..request import TriggerType

if TYPE_CHECKING:
    from ..context import Context
    from ..types import Handler, Middleware

__all__ = ["recovery"]

_RESPONSE_SHAPED = (TriggerType.HTTP, TriggerType.WEBSOCKET)


def recovery() -> Middleware:
    """Convert any exception raised inside into a :class:`~lift.Response`.

    A ``LiftError`` gives its status and error body; anything else a 500
    ``INTERNAL_ERROR`` with a generic message, its traceback logged through
    ``ctx.logger.exception``. Middleware added before ``recovery`` (outer ones) then see
    a ``Response`` instead of an exception. The app does the same at the outermost
    level; this makes it happen earlier.

    Only HTTP and WebSocket events are converted: an SQS, S3 or EventBridge handler's
    exception is re-raised, so that Lambda retries the event instead of dropping it.
    """

    def middleware(handler: Handler) -> Handler:
        def recovered(ctx: Context) -> Any:
            if ctx.request.trigger not in _RESPONSE_SHAPED:
                return handler(ctx)
            return run_handler(handler, ctx)

        return recovered

    return middleware
