"""WebSocketOptions and ChannelOptions: how an App treats WebSocket events and channels."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..context import Context
    from ..types import Handler
    from .fanout import FanoutOptions

__all__ = ["ChannelOptions", "WebSocketOptions"]

HISTORY_MAX = 10_000
"""The most messages a channel may keep."""


@dataclass
class ChannelOptions:
    """How channels behave (one set of options for every channel of the app).

    ``authorize(ctx, channel) -> bool``, when set, decides whether the connection of
    ``ctx`` may subscribe to ``channel`` (a refusal is 403 ``CHANNEL_FORBIDDEN``).
    ``presence_events`` publishes joins and leaves to the channel's members. ``history``
    keeps the last N messages of each channel (0: no history, no sequence numbers) for
    ``history_ttl``.
    """

    authorize: Callable[[Context, str], bool] | None = None
    presence_events: bool = False
    history: int = 0
    history_ttl: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        if isinstance(self.history, bool) or not 0 <= self.history <= HISTORY_MAX:
            raise ValueError(f"history must be an int from 0 to {HISTORY_MAX}")
        if self.history_ttl <= timedelta(0):
            raise ValueError("history_ttl must be positive")


@dataclass
class WebSocketOptions:
    """WebSocket settings for :class:`~lift.App`.

    ``auto_connections`` saves each accepted connection to ``store`` and deletes it on
    ``$disconnect``. ``default_handler`` answers route keys with no handler of their own
    (before ``$default``). ``management_endpoint`` and ``region`` override where
    ``@connections`` calls go. ``route_selection`` is the API's route selection
    expression (used by the local gateway, the test client and the deploy template).
    ``fanout`` sends to many connections through a queue (see :class:`FanoutOptions`).
    ``channels`` configures channels (subscriptions live in ``store``).

    ``route_responses`` gives every message route a ``$default`` route response, so what
    a handler returns (an error too) is sent back to its client by API Gateway. Turn it
    off for an app that answers only through ``@connections``: then an error the client
    must see (a message that failed validation, a rate limit) is sent to it as an error
    frame instead (:mod:`lift.frames`). The deploy template, ``lift dev``, the test
    client and the runtime all read this one setting, so a client gets such an error
    exactly once either way.
    """

    auto_connections: bool = False
    store: Any = None
    default_handler: Handler | None = None
    management_endpoint: str | None = None
    region: str | None = None
    route_selection: str = "$request.body.action"
    fanout: FanoutOptions | None = None
    channels: ChannelOptions | None = None
    route_responses: bool = True

    def has_route_response(self, route_key: str) -> bool:
        """Whether API Gateway sends ``route_key``'s integration response to the client.

        Message routes have one when ``route_responses`` is on; ``$connect`` and
        ``$disconnect`` never do.
        """
        return self.route_responses and route_key not in ("$connect", "$disconnect")
