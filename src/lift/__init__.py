"""Lift: a Lambda-native handler framework with first-class API Gateway WebSocket support."""

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
from .types import Handler, Middleware

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
