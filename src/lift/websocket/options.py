"""WebSocketOptions: how an App treats WebSocket events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..types import Handler
    from .fanout import FanoutOptions

__all__ = ["WebSocketOptions"]


@dataclass
class WebSocketOptions:
    """WebSocket settings for :class:`~lift.App`.

    ``auto_connections`` saves each accepted connection to ``store`` and deletes it on
    ``$disconnect``. ``default_handler`` answers route keys with no handler of their own
    (before ``$default``). ``management_endpoint`` and ``region`` override where
    ``@connections`` calls go. ``route_selection`` is the API's route selection
    expression (used by the local gateway, the test client and the deploy template).
    ``fanout`` sends to many connections through a queue (see :class:`FanoutOptions`).
    """

    auto_connections: bool = False
    store: Any = None
    default_handler: Handler | None = None
    management_endpoint: str | None = None
    region: str | None = None
    route_selection: str = "$request.body.action"
    fanout: FanoutOptions | None = None
