"""Lift: a Lambda-native handler framework with first-class API Gateway WebSocket support."""

from ._lazy import lazy_attributes
from .app import App
from .context import Context
from .errors import (
    LiftError,
    UnsupportedEventError,
    bad_request,
    conflict,
    forbidden,
    internal_error,
    not_found,
    too_many_requests,
    unauthorized,
    validation_error,
)
from .request import Request, TriggerType
from .response import Response

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from .types import Handler, Middleware

# The type aliases are built (with typing) on first use: importing lift never loads it.
__getattr__ = lazy_attributes(__name__, {"Handler": ".types", "Middleware": ".types"})

__version__ = "0.1.0"

__all__ = [
    "App",
    "Context",
    "Handler",
    "LiftError",
    "Middleware",
    "Request",
    "Response",
    "TriggerType",
    "UnsupportedEventError",
    "__version__",
    "bad_request",
    "conflict",
    "forbidden",
    "internal_error",
    "not_found",
    "too_many_requests",
    "unauthorized",
    "validation_error",
]
