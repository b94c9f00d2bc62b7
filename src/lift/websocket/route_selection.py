"""Moved to :mod:`lift.apigw.route_selection` (route selection is API Gateway's rule).

Imported lazily: the runtime (``lift.websocket``) sits below the model (``lift.apigw``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

if TYPE_CHECKING:
    from ..apigw.route_selection import DEFAULT_ROUTE_SELECTION, route_for, select_route

__all__ = ["DEFAULT_ROUTE_SELECTION", "route_for", "select_route"]


__getattr__ = lazy_attributes(__name__, dict.fromkeys(__all__, "lift.apigw.route_selection"))
