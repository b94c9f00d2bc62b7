"""Error frames: the one error shape sent to a WebSocket client through ``@connections``.

API Gateway only returns a route's integration response to the client when the route
has a route response, so an error that the client must see (a message that failed
validation, a rate limit) is also sent as a frame. The frame is the error body,
``{"error": {"code", "message", "details"?}}``, the same body the response carries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .context import Context
    from .errors import LiftError

__all__ = ["error_frame", "send_error_frame"]


def error_frame(error: LiftError) -> dict[str, Any]:
    """The frame for ``error``: its error body."""
    return error.to_body()


def send_error_frame(ctx: Context, error: LiftError) -> bool:
    """Send ``error`` to the connection of a WebSocket MESSAGE event; whether it was sent.

    Nothing is sent for other events (a ``$connect`` has no connection yet). A failed
    send (the client left, ``@connections`` unavailable) is logged, never raised: the
    error still becomes the invocation's response.
    """
    if not ctx.is_websocket or ctx.request.method != "MESSAGE":
        return False
    try:
        ctx.websocket.send(error_frame(error))
    except Exception as exc:  # noqa: BLE001 - the response still carries the error
        ctx.logger.warning(
            "Could not send the error frame",
            code=error.code,
            exception_type=type(exc).__name__,
        )
        return False
    return True
