"""Error frames: the one error shape sent to a WebSocket client through ``@connections``.

API Gateway only returns a route's integration response to the client when the route
has a route response, so an error that the client must see (a message that failed
validation, a rate limit) is sent as a frame when the route has none
(``WebSocketOptions(route_responses=False)``); with a route response the response
alone carries it. Either way the client gets it once. The frame is the error body,
``{"error": {"code", "message", "details"?}}``, the same body the response carries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .context import Context
    from .errors import LiftError

__all__ = ["error_frame", "has_route_response", "send_error_frame"]


def error_frame(error: LiftError) -> dict[str, Any]:
    """The frame for ``error``: its error body."""
    return error.to_body()


def has_route_response(ctx: Context) -> bool:
    """Whether API Gateway returns this WebSocket event's response to its client.

    Read from the app's ``WebSocketOptions``, the setting the deployment is built from
    (:meth:`lift.apigw.ApiDefinition.from_app`); an app without options has them on.
    """
    options = getattr(ctx.app, "websocket_options", None)
    if options is None:
        return True
    return bool(options.has_route_response(ctx.websocket.route_key))


def send_error_frame(ctx: Context, error: LiftError) -> bool:
    """Send ``error`` to the connection of a WebSocket MESSAGE event whose route has no
    route response; whether it was sent.

    Nothing is sent for other events (a ``$connect`` has no connection yet) nor when
    the route response returns the error to the client already. A failed send (the
    client left, ``@connections`` unavailable) is logged, never raised: the error
    still becomes the invocation's response.
    """
    if not ctx.is_websocket or ctx.request.method != "MESSAGE" or has_route_response(ctx):
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
