"""Type aliases shared across the package."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .context import Context

__all__ = ["Handler", "Middleware"]

Handler = Callable[["Context"], Any]
"""A handler takes the :class:`~lift.Context` and returns a result."""

Middleware = Callable[[Handler], Handler]
"""A middleware wraps a handler and returns a new handler."""
