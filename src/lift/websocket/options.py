"""WebSocketOptions and ChannelOptions: how an App treats WebSocket events and channels.

Both are plain classes (compared by value, shown with their fields) rather than
dataclasses: an app module builds them at import, and a cold start should not pay for
:mod:`dataclasses` there.
"""

from __future__ import annotations

import _thread
from collections.abc import Callable

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from datetime import timedelta
    from typing import Any

    from ..context import Context
    from ..types import Handler
    from .fanout import FanoutOptions

__all__ = ["ChannelOptions", "WebSocketOptions"]

HISTORY_MAX = 10_000
"""The most messages a channel may keep."""

_STORE_LOCK = _thread.allocate_lock()


class _Fields:
    """Equality and ``repr`` over the names in ``_FIELDS``."""

    __slots__ = ()
    _FIELDS: tuple[str, ...] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._FIELDS)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _Fields)
        return self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={v!r}" for n, v in zip(self._FIELDS, self._values(), strict=True))
        return f"{type(self).__name__}({shown})"


class ChannelOptions(_Fields):
    """How channels behave (one set of options for every channel of the app).

    ``authorize(ctx, channel) -> bool``, when set, decides whether the connection of
    ``ctx`` may subscribe to ``channel`` (a refusal is 403 ``CHANNEL_FORBIDDEN``).
    ``presence_events`` publishes joins and leaves to the channel's members. ``history``
    keeps the last N messages of each channel (0: no history, no sequence numbers) for
    ``history_ttl`` (default 24 hours).
    """

    __slots__ = ("authorize", "history", "history_ttl", "presence_events")
    _FIELDS = ("authorize", "presence_events", "history", "history_ttl")

    def __init__(
        self,
        authorize: Callable[[Context, str], bool] | None = None,
        presence_events: bool = False,
        history: int = 0,
        history_ttl: timedelta | None = None,
    ) -> None:
        from datetime import timedelta

        if history_ttl is None:
            history_ttl = timedelta(hours=24)
        if isinstance(history, bool) or not 0 <= history <= HISTORY_MAX:
            raise ValueError(f"history must be an int from 0 to {HISTORY_MAX}")
        if history_ttl <= timedelta(0):
            raise ValueError("history_ttl must be positive")
        self.authorize = authorize
        self.presence_events = presence_events
        self.history = history
        self.history_ttl: timedelta = history_ttl


class WebSocketOptions(_Fields):
    """WebSocket settings for :class:`~lift.App`.

    ``auto_connections`` saves each accepted connection to ``store`` and deletes it on
    ``$disconnect``. ``default_handler`` answers route keys with no handler of their own
    (before ``$default``). ``management_endpoint`` and ``region`` override where
    ``@connections`` calls go. ``route_selection`` is the API's route selection
    expression (used by the local gateway, the test client and the deploy template).
    ``fanout`` sends to many connections through a queue (see :class:`FanoutOptions`).
    ``channels`` configures channels (subscriptions live in ``store``).

    When an app needs a store and none is given, the app names the default one
    (:func:`~lift.websocket.stores.default_store`) and it is built on first read of
    ``store``, once: creating the app imports no store module and does no I/O.

    ``route_responses`` gives every message route a ``$default`` route response, so what
    a handler returns (an error too) is sent back to its client by API Gateway. Turn it
    off for an app that answers only through ``@connections``: then an error the client
    must see (a message that failed validation, a rate limit) is sent to it as an error
    frame instead (:mod:`lift.frames`). The deploy template, ``lift dev``, the test
    client and the runtime all read this one setting, so a client gets such an error
    exactly once either way.
    """

    __slots__ = (
        "_store",
        "_store_factory",
        "auto_connections",
        "channels",
        "default_handler",
        "fanout",
        "management_endpoint",
        "region",
        "route_responses",
        "route_selection",
    )
    _FIELDS = (
        "auto_connections",
        "store",
        "default_handler",
        "management_endpoint",
        "region",
        "route_selection",
        "fanout",
        "channels",
        "route_responses",
    )

    def __init__(  # noqa: PLR0917 - positional as the dataclass it replaces allowed
        self,
        auto_connections: bool = False,
        store: Any = None,
        default_handler: Handler | None = None,
        management_endpoint: str | None = None,
        region: str | None = None,
        route_selection: str = "$request.body.action",
        fanout: FanoutOptions | None = None,
        channels: ChannelOptions | None = None,
        route_responses: bool = True,
    ) -> None:
        if not isinstance(route_responses, bool):  # read by the template and the runtime
            raise TypeError("route_responses must be True or False")
        self.auto_connections = auto_connections
        self._store: Any = store
        self._store_factory: Callable[[], Any] | None = None
        self.default_handler = default_handler
        self.management_endpoint = management_endpoint
        self.region = region
        self.route_selection = route_selection
        self.fanout = fanout
        self.channels = channels
        self.route_responses = route_responses

    def _values(self) -> tuple[Any, ...]:
        # The store as given (or built): comparing or showing options builds no default.
        return tuple(self._store if n == "store" else getattr(self, n) for n in self._FIELDS)

    @property
    def store(self) -> Any:
        """The connection store (built from the default on first read when so named)."""
        store = self._store
        if store is None and self._store_factory is not None:
            with _STORE_LOCK:
                store = self._store
                if store is None and self._store_factory is not None:
                    store = self._store = self._store_factory()
                    self._store_factory = None
        return store

    @store.setter
    def store(self, value: Any) -> None:
        with _STORE_LOCK:  # not overwritten by a default whose build is under way
            self._store = value
            self._store_factory = None

    def default_store_on_first_use(self, factory: Callable[[], Any]) -> None:
        """Build ``store`` with ``factory()`` when it is first read (unless set before)."""
        with _STORE_LOCK:
            if self._store is None:
                self._store_factory = factory

    def has_route_response(self, route_key: str) -> bool:
        """Whether API Gateway sends ``route_key``'s integration response to the client.

        Message routes have one when ``route_responses`` is on; ``$connect`` and
        ``$disconnect`` never do.
        """
        return bool(self.route_responses) and route_key not in ("$connect", "$disconnect")
