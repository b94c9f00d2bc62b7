"""App: route registration, middleware composition, dispatch and the Lambda entry point."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence

from .context import Context
from .dispatch import compose, failure_response, merge_headers, result_response, run_coroutine
from .errors import LiftError
from .events import MalformedEventError, parse
from .request import Request, TriggerType
from .response import Response, error_response
from .routing import EventRouter, HTTPRouter, Route, checked_prefixes, strip_prefix

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from typing import Any, TypeAlias, TypeVar, overload

    from .observability import Logger, Metrics
    from .types import Handler, Middleware
    from .websocket.connections import Connections
    from .websocket.management import ManagementAPI
    from .websocket.options import WebSocketOptions

    H = TypeVar("H", bound=Handler)
    Model: TypeAlias = "type[Any] | None"

__all__ = ["App"]

_SCHEDULE = r"(rate|cron)\([^()\x00-\x1f]{1,254}\)"  # compiled by the first use
_WS_EVENT_TYPES = {"CONNECT": "$connect", "DISCONNECT": "$disconnect"}
_HTTP = TriggerType.HTTP
_WEBSOCKET = TriggerType.WEBSOCKET
_RESPONSE_SHAPED = (_HTTP, _WEBSOCKET)


def legacy_route_key(method: str, path: str) -> str | None:
    """The route key of a legacy ``handle(method, path)`` call, or ``None`` for HTTP.

    ``CONNECT`` -> ``$connect``, ``DISCONNECT`` -> ``$disconnect``,
    ``MESSAGE /message`` -> ``$default``, ``MESSAGE /<key>`` -> ``<key>``.
    """
    method = method.upper()
    if method in _WS_EVENT_TYPES:
        return _WS_EVENT_TYPES[method]
    if method != "MESSAGE":
        return None
    key = path.strip().lstrip("/")
    if key in ("", "message", "$default"):
        return "$default"
    return key


class App:
    """A Lambda application: register handlers, then use the app as the Lambda handler.

    >>> app = App()
    >>> @app.get("/items/{id}")
    ... def get_item(ctx): return {"id": ctx.param("id")}
    >>> handler = app
    """

    def __init__(
        self,
        *,
        websocket: WebSocketOptions | None = None,
        logger: Logger | None = None,
        metrics: Metrics | None = None,
        strip_prefixes: Sequence[str] = (),
        tracing: Any = None,
    ) -> None:
        """``strip_prefixes``: path prefixes removed before HTTP routing, such as the base
        path of a REST API behind a custom domain (``["/v1"]``: ``/v1/items`` is routed
        as ``/items``). ``tracing``: ``True``, an OpenTelemetry or Powertools ``Tracer``
        (see :mod:`lift.tracing`); off by default, at no cost."""
        from .observability import default_logger, default_metrics

        if websocket is not None and websocket.channels and not websocket.auto_connections:
            raise ValueError(
                "channels need auto_connections=True: a subscription lives as long as "
                "its connection's record in the store"
            )
        if websocket is not None and websocket.auto_connections and websocket.store is None:
            from .websocket.stores import default_store_factory

            # Made on first use, once, and shared by every invocation: creating the app
            # imports no store module and does no I/O.
            websocket.default_store_on_first_use(default_store_factory())
        self.websocket_options = websocket
        self.management_api: ManagementAPI | None = None
        """When set, every ``@connections`` call goes here (the test client uses it)."""
        self.logger: Logger = logger if logger is not None else default_logger()
        self.metrics: Metrics = metrics if metrics is not None else default_metrics()
        self.middleware: list[Middleware] = []
        self.http_router = HTTPRouter()
        self.websocket_routes: dict[str, Route] = {}
        self.strip_prefixes = checked_prefixes(strip_prefixes)
        self.schedule_expressions: dict[str, str] = {}
        """The ``expression`` of each ``@app.schedule`` rule that has one."""
        self.event_routers: dict[TriggerType, EventRouter] = {
            TriggerType.SQS: EventRouter("sqs"),
            TriggerType.S3: EventRouter("s3"),
            TriggerType.EVENTBRIDGE: EventRouter("eventbridge", match_detail_type=True),
            TriggerType.SCHEDULED: EventRouter("schedule"),
            TriggerType.SNS: EventRouter("sns"),
            TriggerType.DYNAMODB_STREAM: EventRouter("dynamodb_stream"),
            TriggerType.KINESIS: EventRouter("kinesis"),
            TriggerType.AUTHORIZER: EventRouter("authorizer"),
        }
        self._fallback = Route("fallback", "-", "-", _raise_route_error)
        self._ws_default: Route | None = None
        self._ws_lifecycle = {
            key: Route("websocket", "-", key, _accept) for key in ("$connect", "$disconnect")
        }
        self.tracing: Middleware | None = None
        if tracing is not None and tracing is not False:
            from .tracing import resolve

            self.tracing = resolve(tracing)
        self._compiled = False
        if websocket is not None and websocket.fanout is not None:
            from .websocket.fanout_worker import install

            install(self)  # the SQS route that delivers the fan-out queue's shards

    # -- registration ------------------------------------------------------------
    def use(self, middleware: Middleware) -> App:
        """Add a middleware; the first one added is the outermost."""
        self.middleware.append(middleware)
        self._compiled = False
        return self

    if TYPE_CHECKING:  # the overloads are for type checkers only

        @overload
        def websocket(
            self, route_key: str, handler: None = None, *, model: Model = None, reply: Model = None
        ) -> Callable[[H], H]: ...

        @overload
        def websocket(
            self, route_key: str, handler: Handler, *, model: Model = None, reply: Model = None
        ) -> App: ...

    def websocket(
        self,
        route_key: str,
        handler: Handler | None = None,
        *,
        model: Model = None,
        reply: Model = None,
    ) -> Any:
        """Register a WebSocket route by route key (``$connect``, ``$default``, ``chat``...).

        Used as ``@app.websocket("$connect")`` or ``app.websocket("$connect", handler)``;
        the second form returns the app so calls chain. ``model`` (a pydantic model or a
        dataclass) validates each message before the handler runs (see
        :mod:`lift.typed`); ``reply`` describes what the route sends (AsyncAPI).
        """
        _check_models(model, reply, route_key)
        if handler is None:

            def decorator(func: H) -> H:
                self._add_websocket(route_key, func, model, reply)
                return func

            return decorator
        self._add_websocket(route_key, handler, model, reply)
        return self

    def _add_websocket(
        self, route_key: str, handler: Handler, model: Model = None, reply: Model = None
    ) -> None:
        if not route_key or not isinstance(route_key, str):
            raise ValueError("A WebSocket route key must be a non-empty string")
        if route_key in self.websocket_routes:
            raise ValueError(f"WebSocket route {route_key!r} is already registered")
        _check_models(model, reply, route_key)
        self.websocket_routes[route_key] = Route(
            "websocket", "-", route_key, handler, model=model, reply=reply
        )
        self._compiled = False

    def handle(
        self, method: str, path: str, handler: Handler, *, model: Model = None, reply: Model = None
    ) -> App:
        """Register ``handler`` for ``method`` and ``path``.

        The legacy WebSocket pattern is understood: ``handle("CONNECT", "/connect", h)``
        is ``websocket("$connect", h)``; ``"DISCONNECT"`` is ``$disconnect``;
        ``"MESSAGE", "/message"`` is ``$default`` and ``"MESSAGE", "/<key>"`` route key
        ``<key>``.
        """
        route_key = legacy_route_key(method, path)
        if route_key is not None:
            self._add_websocket(route_key, handler, model, reply)
        else:
            _check_models(model, reply)
            route = self.http_router.add(method, path, handler)
            route.model, route.reply = model, reply
            self._compiled = False
        return self

    def route(
        self, method: str, path: str, *, model: Model = None, reply: Model = None
    ) -> Callable[[H], H]:
        """Decorator form of :meth:`handle`; ``model`` validates the JSON body."""
        _check_models(model, reply, legacy_route_key(method, path))

        def decorator(func: H) -> H:
            self.handle(method, path, func, model=model, reply=reply)
            return func

        return decorator

    def get(self, path: str, *, reply: Model = None) -> Callable[[H], H]:
        """Register a GET handler."""
        return self.route("GET", path, reply=reply)

    def post(self, path: str, *, model: Model = None, reply: Model = None) -> Callable[[H], H]:
        """Register a POST handler (``model``: the JSON body's class)."""
        return self.route("POST", path, model=model, reply=reply)

    def put(self, path: str, *, model: Model = None, reply: Model = None) -> Callable[[H], H]:
        """Register a PUT handler (``model``: the JSON body's class)."""
        return self.route("PUT", path, model=model, reply=reply)

    def patch(self, path: str, *, model: Model = None, reply: Model = None) -> Callable[[H], H]:
        """Register a PATCH handler (``model``: the JSON body's class)."""
        return self.route("PATCH", path, model=model, reply=reply)

    def delete(self, path: str, *, reply: Model = None) -> Callable[[H], H]:
        """Register a DELETE handler."""
        return self.route("DELETE", path, reply=reply)

    def _event_route(self, trigger: TriggerType, pattern: str) -> Callable[[H], H]:
        def decorator(func: H) -> H:
            self.event_routers[trigger].add(pattern, func)
            self._compiled = False
            return func

        return decorator

    def sqs(self, queue: str) -> Callable[[H], H]:
        """Handle SQS batches from queues whose name matches ``queue`` (glob)."""
        return self._event_route(TriggerType.SQS, queue)

    def s3(self, bucket: str) -> Callable[[H], H]:
        """Handle S3 notifications (direct or via EventBridge) for ``bucket`` (glob).

        The pattern matches the bucket name only. S3 API calls recorded by CloudTrail reach
        ``@app.eventbridge("aws.s3")``, not this route.
        """
        return self._event_route(TriggerType.S3, bucket)

    def eventbridge(self, pattern: str) -> Callable[[H], H]:
        """Handle EventBridge events whose ``source`` or ``detail-type`` matches ``pattern``."""
        return self._event_route(TriggerType.EVENTBRIDGE, pattern)

    def schedule(self, rule_name: str, *, expression: str | None = None) -> Callable[[H], H]:
        """Handle scheduled events of the rule ``rule_name`` (glob).

        ``expression`` (``rate(5 minutes)`` or ``cron(0 3 * * ? *)``) is when the rule
        fires; ``lift template`` creates the rule from it.
        """
        if expression is not None and not re.fullmatch(_SCHEDULE, expression):
            raise ValueError(f"A schedule expression is rate(...) or cron(...): {expression!r}")
        decorator = self._event_route(TriggerType.SCHEDULED, rule_name)
        if expression is not None:
            self.schedule_expressions[rule_name] = expression
        return decorator

    def sns(self, topic: str) -> Callable[[H], H]:
        """Handle SNS notifications from topics whose name matches ``topic`` (glob)."""
        return self._event_route(TriggerType.SNS, topic)

    def dynamodb_stream(self, table: str) -> Callable[[H], H]:
        """Handle DynamoDB Streams batches of tables whose name matches ``table`` (glob).

        Return :func:`lift.batch.batch_failures` (or :func:`lift.batch.process_batch`'s
        result) to report the records that failed.
        """
        return self._event_route(TriggerType.DYNAMODB_STREAM, table)

    def kinesis(self, stream: str) -> Callable[[H], H]:
        """Handle Kinesis Data Streams batches of streams whose name matches ``stream``."""
        return self._event_route(TriggerType.KINESIS, stream)

    def authorizer(self, arn: str = "*", *, simple_responses: bool = False) -> Callable[[H], H]:
        """Handle API Gateway Lambda authorizer events whose method/route ARN matches ``arn``.

        TOKEN and REQUEST authorizers of REST, HTTP (payload 1.0 and 2.0) and WebSocket
        APIs. The handler returns :func:`lift.authorizers.allow` or
        :func:`~lift.authorizers.deny`; Lift answers with the IAM policy API Gateway
        expects, or ``{"isAuthorized": ...}`` for an HTTP API payload 2.0 authorizer
        with ``simple_responses``. Raising ``LiftError(401)`` answers ``Unauthorized``
        (401); any other ``LiftError`` denies.
        """

        def decorator(func: H) -> H:
            from .authorizers import wrap_handler

            self.event_routers[TriggerType.AUTHORIZER].add(
                arn, wrap_handler(func, simple=simple_responses)
            )
            self._compiled = False
            return func

        return decorator

    def routes(self) -> list[Route]:
        """Every registered route: HTTP, WebSocket, then event routes."""
        result = list(self.http_router.routes) + list(self.websocket_routes.values())
        for router in self.event_routers.values():
            result.extend(router.routes)
        return result

    def connections(self, endpoint: str | None = None, *, region: str | None = None) -> Connections:
        """``@connections`` operations for code that handles no WebSocket event.

        An SQS worker or a scheduled job sends, broadcasts and disconnects through the
        result. ``endpoint`` (such as ``ctx.websocket.management_endpoint`` saved by a
        WebSocket handler, or ``Connection.endpoint`` from the store) defaults to
        ``WebSocketOptions.management_endpoint``, then ``LIFT_WS_MANAGEMENT_ENDPOINT``.
        """
        from .websocket.connections import Connections

        options = self.websocket_options
        store = options.store if options is not None else None
        api = self.management_api
        if api is None:
            from .websocket.management import client_for, resolve_endpoint, resolve_region

            target = endpoint or resolve_endpoint(
                {}, option=options.management_endpoint if options else None
            )
            region = region or (options.region if options else None)
            api = client_for(target, resolve_region(target, option=region))
            endpoint = target
        channels = options.channels if options is not None else None
        return Connections(api, store, self.logger, channels=channels, app=self, endpoint=endpoint)

    # -- composition ---------------------------------------------------------------
    def _compose(self, handler: Handler, *, websocket: bool = False) -> Handler:
        layers: list[Middleware] = [] if self.tracing is None else [self.tracing]
        options = self.websocket_options
        if websocket and options is not None and options.auto_connections:
            from .websocket.lifecycle import connection_lifecycle

            layers.append(connection_lifecycle)
        layers.extend(self.middleware)
        return compose(handler, layers)

    def _compile(self) -> None:
        for route in self.routes():
            route.compiled = self._compose(route.typed(), websocket=route.kind == "websocket")
        self._fallback.compiled = self._compose(_raise_route_error)
        for implicit in self._ws_lifecycle.values():
            implicit.compiled = self._compose(_accept, websocket=True)
        default = self.websocket_options.default_handler if self.websocket_options else None
        self._ws_default = None
        if default is not None:
            self._ws_default = Route("websocket", "-", "(default_handler)", default)
            self._ws_default.compiled = self._compose(default, websocket=True)
        self._compiled = True

    # -- dispatch ------------------------------------------------------------------
    def __call__(self, event: Any, lambda_context: Any = None) -> Any:
        """The Lambda entry point: ``handler = app``."""
        if not self._compiled:
            self._compile()
        try:
            request = parse(event)
        except MalformedEventError as exc:
            if exc.trigger not in _RESPONSE_SHAPED:
                raise
            self.logger.warning("Malformed event", error=exc.message, trigger=exc.trigger.value)
            return self._serialise(error_response(exc), exc.trigger, event)
        ctx = Context(request, lambda_context, self)
        try:
            route = self._resolve(request)
        except LiftError as exc:
            if request.trigger not in _RESPONSE_SHAPED:
                raise
            ctx.set("lift.route_error", exc)
            route = self._fallback
        try:
            return self._dispatch(route, ctx)
        finally:
            scoped = ctx._metrics
            if scoped is not None and scoped is not self.metrics:
                scoped.flush()
            self.metrics.flush()

    handler = __call__

    def _resolve(self, request: Request) -> Route:
        trigger = request.trigger
        if trigger is _WEBSOCKET:
            route = self.websocket_routes.get(request.route_key)
            if route is None:
                # API Gateway accepts connections whose $connect/$disconnect has no route;
                # middleware (auth) and connection tracking still apply.
                route = self._ws_lifecycle.get(request.route_key)
            if route is None:
                route = self._ws_default or self.websocket_routes.get("$default")
                if route is None:
                    raise LiftError(404, "ROUTE_NOT_FOUND", "No handler for this WebSocket route")
            return route
        if trigger is _HTTP:
            if self.strip_prefixes:
                request.path = strip_prefix(request.path, self.strip_prefixes)
            route, params = self.http_router.match(request.method, request.path)
            request.path_params = params
            return route
        return self.event_routers[trigger].match(request.source, request.detail_type)

    def _dispatch(self, route: Route, ctx: Context) -> Any:
        trigger = ctx.request.trigger
        if trigger is not _WEBSOCKET and trigger is not _HTTP:
            start = time.perf_counter()
            try:
                result = route.compiled(ctx)
                if type(result) is not dict and hasattr(result, "__await__"):
                    result = run_coroutine(_awaited(result))
                return result
            except Exception:
                self.logger.exception(
                    "Event handler failed",
                    request_id=ctx.request_id,
                    trigger=trigger.value,
                    route=route.path,
                    latency_ms=round((time.perf_counter() - start) * 1000, 3),
                )
                raise
        try:
            result = route.compiled(ctx)
            if (
                result is None
                and trigger is _WEBSOCKET
                and ctx.response is None
                and not ctx.response_headers
            ):
                return {"statusCode": 200}  # the common case: nothing to build
            response = result_response(result, ctx)
        except Exception as exc:  # noqa: BLE001 - mapped to the one error shape
            response = failure_response(exc, ctx)
        if ctx.response_headers:
            merge_headers(response, ctx.response_headers)
        if trigger is _HTTP and ctx.request.method == "HEAD":
            response.body = None
        return self._serialise(response, trigger, ctx.request.event)

    @staticmethod
    def _serialise(response: Response, trigger: TriggerType, event: Any) -> dict[str, Any]:
        if trigger is _WEBSOCKET:
            return response.to_websocket()
        if isinstance(event, dict):
            if event.get("version") == "2.0":
                return response.to_http_api()
            if "resource" not in event:  # REST events name their resource; ALB ones do not
                rc = event.get("requestContext")
                if type(rc) is dict and "elb" in rc:
                    return response.to_alb(multi_value="multiValueHeaders" in event)
        return response.to_rest()


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def _check_models(model: Any, reply: Any, route_key: str | None = None) -> None:
    if model is not None or reply is not None:
        from .typed import check_model

        check_model(model, route_key=route_key)
        check_model(reply, role="reply")


def _accept(ctx: Context) -> None:
    """The implicit handler of an unregistered ``$connect``/``$disconnect``: accept."""


def _raise_route_error(ctx: Context) -> Any:
    error = ctx.get("lift.route_error")
    raise error if isinstance(error, LiftError) else LiftError(404, "NOT_FOUND", "Not found")
