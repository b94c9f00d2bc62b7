"""Moved to :mod:`lift.apigw.route_selection` (route selection is API Gateway's rule).

Imported lazily: the runtime (``lift.websocket``) sits below the model (``lift.apigw``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..apigw.route_selection import DEFAULT_ROUTE_SELECTION, route_for, select_route

__all__ = ["DEFAULT_ROUTE_SELECTION", "route_for", "select_route"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module("lift.apigw.route_selection"), name)
