"""Typed routes: a message or body model validated before the handler runs.

``@app.websocket("chat", model=ChatMessage)`` and ``@app.post("/items", model=Item)``
wrap the handler once, at composition: the body is bound to the model (a pydantic model
or a dataclass, see :mod:`lift.binding`), the instance is set as ``ctx.message`` and
passed as the handler's second argument when it declares one. A body that is not JSON
(400 ``INVALID_JSON``) or does not fit (422 ``VALIDATION_ERROR`` with one detail per
field) never reaches the handler; on a WebSocket message whose route has no route
response the error is sent to the client as an error frame (:mod:`lift.frames`), else
the route response carries it. Routes without a model are not wrapped.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from .binding import bind_model
from .dispatch import is_async
from .errors import LiftError
from .frames import send_error_frame

if TYPE_CHECKING:
    from .context import Context
    from .types import Handler

__all__ = ["check_model", "takes_message", "typed_handler"]

_NO_MODEL_ROUTES = ("$connect", "$disconnect")


def check_model(model: Any, *, role: str = "model", route_key: str | None = None) -> None:
    """Refuse at registration what :func:`~lift.binding.bind_model` cannot bind."""
    if model is None:
        return
    import dataclasses

    valid = isinstance(model, type) and (
        hasattr(model, "model_validate") or dataclasses.is_dataclass(model)
    )
    if not valid:
        raise TypeError(f"{role}= takes a pydantic model or a dataclass, not {model!r}")
    if role == "model" and route_key in _NO_MODEL_ROUTES:
        raise ValueError(f"{route_key} carries no message body; model= is for message routes")


def takes_message(handler: Handler) -> bool:
    """Whether ``handler`` declares a second positional parameter (for the message)."""
    import inspect

    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):
        return False
    positional = 0
    for parameter in signature.parameters.values():
        if parameter.kind is parameter.VAR_POSITIONAL:
            return True
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            positional += 1
    return positional >= 2


def _bound(ctx: Context, model: type[Any]) -> Any:
    try:
        message = bind_model(model, ctx.json())
    except LiftError as error:
        send_error_frame(ctx, error)
        raise
    ctx.message = message
    return message


def typed_handler(handler: Handler, model: type[Any]) -> Handler:
    """``handler`` behind validation of the body into ``model`` (same kind: def/async)."""
    pass_message = takes_message(handler)
    if is_async(handler):

        @functools.wraps(handler)
        async def typed_async(ctx: Context) -> Any:
            message = _bound(ctx, model)
            if pass_message:
                return await handler(ctx, message)  # type: ignore[call-arg]
            return await handler(ctx)

        return typed_async

    @functools.wraps(handler)
    def typed(ctx: Context) -> Any:
        message = _bound(ctx, model)
        if pass_message:
            return handler(ctx, message)  # type: ignore[call-arg]
        return handler(ctx)

    return typed
