"""``ApiDefinition``: what API Gateway deploys in front of an app, read from the app.

One description serves everyone: the test client and the local gateway emulate it, and
``lift template`` renders it. So a middleware that can refuse connections makes
``$connect`` a deployed route everywhere, not only in the emulators.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .route_selection import DEFAULT_ROUTE_SELECTION, route_for

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "LIFECYCLE_ROUTES",
    "ApiDefinition",
    "Authorizer",
    "ConnectionsTable",
    "FanoutQueue",
    "Trigger",
    "route_responses_of",
]

LIFECYCLE_ROUTES = ("$connect", "$disconnect")
CONNECTIONS_TABLE_ENV = "LIFT_CONNECTIONS_TABLE"
FANOUT_QUEUE_ENV = "LIFT_FANOUT_QUEUE_URL"
FANOUT_DEFAULT_QUEUE = "lift-fanout"
_PREDEFINED = ("$connect", "$disconnect", "$default")


@dataclass(frozen=True)
class Authorizer:
    """A Lambda REQUEST authorizer on ``$connect``.

    ``identity_sources`` lists what API Gateway requires before it calls the authorizer
    (empty: it runs on every ``$connect``).
    """

    identity_sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConnectionsTable:
    """The DynamoDB connections table; ``name`` ``None`` lets the deployment name it."""

    name: str | None = None


@dataclass(frozen=True)
class Trigger:
    """A non-WebSocket route of the app: ``kind`` (``http``, ``sqs``, ``s3``,
    ``eventbridge``, ``schedule``...), ``method`` (``-`` for events) and ``pattern``
    (a path, queue, bucket, rule...); ``expression`` is a schedule's rate or cron."""

    kind: str
    method: str
    pattern: str
    expression: str | None = None

    def describe(self) -> str:
        """``sqs orders``, ``http GET /items/{id}``, ``schedule nightly``."""
        if self.method != "-":
            return f"{self.kind} {self.method} {self.pattern}"
        return f"{self.kind} {self.pattern}"


@dataclass(frozen=True)
class FanoutQueue:
    """The SQS queue broadcasts to many connections go through (``FanoutOptions``).

    ``route``: the queue name the app's delivery route answers; ``queue_url``: a queue
    configured in code (else the deployment creates one); ``shard_size``,
    ``rate_per_second`` (``@connections`` calls per second per worker) and
    ``max_attempts`` (receives before the dead-letter queue).
    """

    route: str
    queue_url: str | None = None
    shard_size: int = 100
    rate_per_second: float = 500.0
    max_attempts: int = 5

    def maximum_concurrency(self, quota: float) -> int:
        """Workers at once so that together they stay under ``quota`` calls per second.

        Lambda's SQS ``ScalingConfig.MaximumConcurrency`` is 2 to 1000.
        """
        return max(2, min(1000, int(quota // self.rate_per_second)))


@dataclass(frozen=True)
class ApiDefinition:
    """The WebSocket API API Gateway runs for an app.

    ``routes``: the deployed route keys (predefined keys first). ``route_selection``:
    the selection expression. ``route_responses``: the routes whose integration
    response is sent back to the client. ``authorizer``, ``connections_table`` and the
    app's other ``triggers``.
    """

    routes: tuple[str, ...]
    route_selection: str = DEFAULT_ROUTE_SELECTION
    route_responses: frozenset[str] = field(default_factory=frozenset)
    authorizer: Authorizer | None = None
    connections_table: ConnectionsTable | None = None
    triggers: tuple[Trigger, ...] = ()
    fanout: FanoutQueue | None = None

    # -- building -------------------------------------------------------------------
    @classmethod
    def from_app(cls, app: Any, *, route_responses: bool | None = None) -> ApiDefinition:
        """The definition of ``app`` (a :class:`lift.App`, or any Lambda handler).

        Deployed routes: every registered key; ``$default`` also for a
        ``default_handler``; ``$connect`` whenever running it could refuse or has an
        effect (a ``$connect`` handler, any middleware, connection tracking, an
        authorizer); ``$disconnect`` when registered, tracked or seen by middleware.
        A plain handler function gets ``$connect``, ``$disconnect`` and ``$default``.
        Message routes have a route response when the app's
        ``WebSocketOptions(route_responses=...)`` says so (the default), the setting the
        runtime reads to decide whether an error also needs an error frame.
        ``route_responses`` (``None``: the app's setting) may only restate it: a value
        that disagrees is a :class:`ValueError`, since the client would then get such
        an error twice or never. A plain handler function has no setting: there
        ``route_responses`` decides (default on).
        """
        routes_attr = getattr(app, "websocket_routes", None)
        if not isinstance(routes_attr, dict):
            return cls._for_handler(
                route_responses=True if route_responses is None else route_responses
            )
        options = getattr(app, "websocket_options", None)
        route_responses = _route_responses(options, route_responses)
        middleware = list(getattr(app, "middleware", ()))
        registered = [str(key) for key in routes_attr]
        keys = set(registered)
        tracked = bool(getattr(options, "auto_connections", False))
        authorizer = _authorizer(middleware)
        if middleware or tracked or authorizer is not None:
            keys.update(LIFECYCLE_ROUTES)
        if getattr(options, "default_handler", None) is not None:
            keys.add("$default")
        ordered = [key for key in _PREDEFINED if key in keys]
        ordered += [key for key in registered if key not in _PREDEFINED]
        selection = str(getattr(options, "route_selection", None) or DEFAULT_ROUTE_SELECTION)
        fanout = _fanout(options)
        routes_method = getattr(app, "routes", None)
        expressions = getattr(app, "schedule_expressions", None)
        expressions = expressions if isinstance(expressions, dict) else {}
        triggers = tuple(
            Trigger(
                str(route.kind),
                str(route.method),
                str(route.path),
                expressions.get(route.path) if route.kind == "schedule" else None,
            )
            for route in (routes_method() if callable(routes_method) else ())
            if route.kind != "websocket" and not (fanout and _delivers_fanout(route))
        )
        return cls(
            routes=tuple(ordered),
            route_selection=selection,
            route_responses=_two_way(ordered, route_responses),
            authorizer=authorizer,
            connections_table=_table(options),
            triggers=triggers,
            fanout=fanout,
        )

    @classmethod
    def _for_handler(cls, *, route_responses: bool) -> ApiDefinition:
        return cls(routes=_PREDEFINED, route_responses=_two_way(_PREDEFINED, route_responses))

    # -- questions the emulators ask ------------------------------------------------
    def has_route(self, route_key: str) -> bool:
        """Whether ``route_key`` is deployed."""
        return route_key in self.routes

    @property
    def invokes_connect(self) -> bool:
        """Whether ``$connect`` reaches the app (else API Gateway accepts by itself)."""
        return "$connect" in self.routes

    @property
    def invokes_disconnect(self) -> bool:
        """Whether ``$disconnect`` reaches the app."""
        return "$disconnect" in self.routes

    def select(self, body: str) -> str | None:
        """The deployed route a message goes to; ``None``: no route (Forbidden)."""
        key = route_for(self.route_selection, body, self.routes)
        return key if key in self.routes else None

    def returns_response(self, route_key: str) -> bool:
        """Whether ``route_key`` sends its integration response back to the client."""
        return route_key in self.route_responses


def route_responses_of(app: Any, given: bool | None = None) -> bool:
    """Whether ``app``'s message routes have route responses (see ``from_app``).

    :class:`ValueError` when ``given`` disagrees with the app's setting.
    """
    if not isinstance(getattr(app, "websocket_routes", None), dict):
        return True if given is None else given
    return _route_responses(getattr(app, "websocket_options", None), given)


def _route_responses(options: Any, given: bool | None) -> bool:
    """The app's route-response setting; ``given`` must agree with it."""
    # Truth as WebSocketOptions.has_route_response reads it, so both sides agree.
    configured = bool(getattr(options, "route_responses", True))
    if given is not None and given != configured:
        raise ValueError(
            f"route_responses={given} disagrees with the app's "
            f"WebSocketOptions(route_responses={configured}): set it there, so the "
            "deployment and the app's error frames agree"
        )
    return configured


def _two_way(routes: Iterable[str], enabled: bool) -> frozenset[str]:
    if not enabled:
        return frozenset()
    return frozenset(key for key in routes if key not in LIFECYCLE_ROUTES)


def _is_websocket_auth(middleware: Any) -> bool:
    cls = type(middleware)
    return cls.__name__ == "WebSocketAuth" and cls.__module__.startswith("lift.")


def _authorizer(middleware: list[Any]) -> Authorizer | None:
    """A REQUEST authorizer when ``websocket_auth`` checks ``$connect``."""
    auth = next((mw for mw in middleware if _is_websocket_auth(mw)), None)
    if auth is None or "$connect" in tuple(getattr(auth, "skip_routes", ())):
        return None
    return Authorizer(identity_sources=_identity_sources(auth))


def _identity_sources(auth: Any) -> tuple[str, ...]:
    """The identity source matching ``websocket_auth``'s token source, when it has one.

    With several sources there is none: API Gateway refuses a connection missing any
    listed source before the authorizer runs, which would break the other sources.
    """
    sources: tuple[Any, ...] = tuple(getattr(auth, "sources", ()))
    if len(sources) != 1:
        return ()
    source = sources[0]
    name = str(getattr(source, "name", ""))
    if source.kind == "subprotocol":
        return ("route.request.header.Sec-WebSocket-Protocol",)
    if not name or not all(c.isalnum() or c in "._-" for c in name):
        return ()
    if source.kind == "query":
        return (f"route.request.querystring.{name}",)
    header = "-".join(part.capitalize() for part in name.split("-"))
    return (f"route.request.header.{header}",)


def _table(options: Any) -> ConnectionsTable | None:
    """The connections table when connections are tracked or stored in DynamoDB."""
    store = getattr(options, "store", None)
    cls = type(store)
    dynamodb = cls.__name__ == "DynamoDBConnectionStore" and cls.__module__.startswith("lift.")
    if not dynamodb and not getattr(options, "auto_connections", False):
        return None
    configured = getattr(store, "table_name", None) if dynamodb else None
    if configured == os.environ.get(CONNECTIONS_TABLE_ENV):
        # Read from the shell that loaded the app: the deployment names the table.
        configured = None
    return ConnectionsTable(configured if isinstance(configured, str) else None)


def _fanout(options: Any) -> FanoutQueue | None:
    """The fan-out queue of ``WebSocketOptions(fanout=FanoutOptions(...))``."""
    fanout = getattr(options, "fanout", None)
    if fanout is None:
        return None
    url = getattr(fanout, "queue_url", None)
    if url == os.environ.get(FANOUT_QUEUE_ENV):
        url = None
    url = url if isinstance(url, str) and url else None
    return FanoutQueue(
        route=url.rstrip("/").rsplit("/", 1)[-1] if url else FANOUT_DEFAULT_QUEUE,
        queue_url=url,
        shard_size=int(getattr(fanout, "shard_size", 100)),
        rate_per_second=float(getattr(fanout, "rate_per_second", 500.0)),
        max_attempts=int(getattr(fanout, "max_attempts", 5)),
    )


def _delivers_fanout(route: Any) -> bool:
    """Whether ``route`` is the delivery route Lift registers for the fan-out queue."""
    module = str(getattr(route.handler, "__module__", ""))
    return route.kind == "sqs" and module.startswith("lift.websocket.fanout")
