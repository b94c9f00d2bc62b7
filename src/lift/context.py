"""Context: one per invocation, the handler's view of the event and its response."""

from __future__ import annotations

import json
from collections.abc import Mapping

from .errors import LiftError
from .identity import Identity, restore_identity
from .request import Request, TriggerType
from .response import Response, json_dumps

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from typing import Any, TypeVar

    from .app import App
    from .observability import Logger, Metrics
    from .websocket.context import WebSocketContext

    T = TypeVar("T")

__all__ = ["Context", "ResponseWriter"]

_MISSING = object()
_WEBSOCKET = TriggerType.WEBSOCKET


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if value - value != 0.0:  # inf - inf is NaN; finite - itself is 0.0
        raise ValueError("Number out of range")
    return value


# Built once; NaN/Infinity/-Infinity and overflowing numbers are refused.
_DECODER = json.JSONDecoder(parse_constant=_not_json, parse_float=_finite)


class ResponseWriter:
    """Returned by :meth:`Context.status`; writes the response the handler will send."""

    __slots__ = ("_ctx", "_status")

    def __init__(self, ctx: Context, status: int) -> None:
        self._ctx = ctx
        self._status = status

    def json(self, obj: Any) -> Response:
        """Write ``obj`` as JSON with the chosen status."""
        return self._write(json_dumps(obj), "application/json")

    def text(self, text: str) -> Response:
        """Write ``text`` as ``text/plain``."""
        return self._write(text, "text/plain; charset=utf-8")

    def body(self, data: bytes, content_type: str = "application/octet-stream") -> Response:
        """Write raw bytes (sent base64-encoded unless the type is textual)."""
        return self._write(data, content_type)

    def empty(self) -> Response:
        """Write the status with no body."""
        response = Response(None, self._status)
        self._ctx.response = response
        return response

    def _write(self, body: str | bytes, content_type: str) -> Response:
        response = Response(body, self._status, {"Content-Type": content_type})
        self._ctx.response = response
        return response


class Context:
    """Everything a handler needs for one invocation.

    Request accessors (``param``, ``query``, ``header``, ``json``...), per-invocation
    state (``set``/``get``), identity (``user_id``, ``tenant_id``, ``claims``), the
    response (``status(201).json(obj)``, ``set_header``) and, for WebSocket events,
    :attr:`websocket`.
    """

    # Per-invocation fields start as these class-level defaults, so a context costs
    # three assignments. The identity is restored only when asked for (see lift.identity).
    _identity: Identity | None = None
    message: Any = None
    """The validated message or body of a route registered with ``model=``."""
    response: Response | None = None
    response_headers: dict[str, str] | None = None
    _state: dict[str, Any] | None = None
    _json: Any = _MISSING
    _ws: WebSocketContext | None = None
    _logger: Logger | None = None
    _metrics: Metrics | None = None

    def __init__(self, request: Request, lambda_context: Any = None, app: App | None = None):
        self.request = request
        self.lambda_context = lambda_context
        self.app = app

    # -- request -----------------------------------------------------------------
    @property
    def method(self) -> str:
        """HTTP method, or the WebSocket event type (``CONNECT``/``MESSAGE``/``DISCONNECT``)."""
        return self.request.method

    @property
    def path(self) -> str:
        """Request path (for WebSocket events, the legacy path of the route key)."""
        return self.request.path

    @property
    def params(self) -> Mapping[str, str]:
        """Path parameters."""
        return self.request.path_params

    def param(self, name: str) -> str | None:
        """A path parameter."""
        return self.request.path_params.get(name)

    def query(self, name: str, default: str | None = None) -> str | None:
        """A query-string parameter (its last value)."""
        return self.request.query.get(name, default)

    def header(self, name: str) -> str | None:
        """A request header by case-insensitive name."""
        return self.request.headers.get(name.lower())

    @property
    def headers(self) -> Mapping[str, str]:
        """Request headers with lower-cased names."""
        return self.request.headers

    @property
    def body(self) -> bytes:
        """The request body as bytes."""
        return self.request.body

    @property
    def text(self) -> str:
        """The request body as text."""
        return self.request.text

    def json(self) -> Any:
        """The body parsed as JSON; 400 ``INVALID_JSON`` when it is not.

        Standard JSON only: ``NaN``, ``Infinity`` and numbers too large for a float
        (``1e400``) are refused too.
        """
        if self._json is _MISSING:
            raw = self.request.text
            if not raw.strip():
                raise LiftError(400, "INVALID_JSON", "The request body is empty")
            try:
                self._json = _DECODER.decode(raw)
            except (ValueError, RecursionError):
                raise LiftError(400, "INVALID_JSON", "The request body is not valid JSON") from None
        return self._json

    def bind(self, model: type[T]) -> T:
        """Parse the JSON body into ``model`` (pydantic model or dataclass).

        Raises 422 ``VALIDATION_ERROR`` with per-field details.
        """
        from .binding import bind_model

        return bind_model(model, self.json())

    # -- state -------------------------------------------------------------------
    def set(self, key: str, value: Any) -> None:
        """Store a value for later middleware and handlers of this invocation."""
        if self._state is None:
            self._state = {}
        self._state[key] = value

    def get(self, key: str, default: Any = None) -> Any:
        """A value stored with :meth:`set`."""
        if self._state is None:
            return default
        return self._state.get(key, default)

    @property
    def request_id(self) -> str:
        """The Lambda request id, else API Gateway's request id."""
        request_id = getattr(self.lambda_context, "aws_request_id", None)
        if isinstance(request_id, str) and request_id:
            return request_id
        value = self.request.request_context.get("requestId")
        return value if isinstance(value, str) else ""

    @property
    def logger(self) -> Logger:
        """The app's logger, bound to this invocation's request id."""
        if self._logger is None:
            from .observability import default_logger

            base = self.app.logger if self.app is not None else default_logger()
            self._logger = base.bind(request_id=self.request_id)
        return self._logger

    @property
    def metrics(self) -> Metrics:
        """This invocation's metrics: the app's sink, or its per-invocation buffer.

        A sink with ``for_invocation()`` (``EMFMetrics`` has it) gives each invocation
        its own buffer, written when the invocation ends; others are used as they are.
        """
        metrics = self._metrics
        if metrics is None:
            if self.app is not None:
                base: Metrics = self.app.metrics
            else:
                from .observability import default_metrics

                base = default_metrics()
            scoped = getattr(base, "for_invocation", None)
            metrics = scoped() if scoped is not None else base
            self._metrics = metrics
        return metrics

    # -- identity ----------------------------------------------------------------
    @property
    def user_id(self) -> str | None:
        """Who made the request (see :meth:`set_identity`).

        On a WebSocket event it is restored when first asked for: from
        ``requestContext.authorizer``, else (after ``$connect``) from the stored
        connection, read at most once per invocation.
        """
        return (self._identity or restore_identity(self)).user_id

    @property
    def tenant_id(self) -> str | None:
        """The requester's tenant, restored like :attr:`user_id`."""
        return (self._identity or restore_identity(self)).tenant_id

    @property
    def claims(self) -> Mapping[str, Any]:
        """The requester's claims (read-only when empty), restored like :attr:`user_id`."""
        return (self._identity or restore_identity(self)).claims

    @property
    def is_authenticated(self) -> bool:
        """Whether an identity with a user id is set or restored."""
        return bool(self.user_id)

    def set_identity(
        self,
        user_id: str | None = None,
        tenant_id: str | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> None:
        """Set who made the request (done by auth middleware, or a ``$connect`` handler).

        With connection tracking, the identity set on ``$connect`` is stored with the
        connection and restored on the connection's later events.
        """
        self._identity = Identity(user_id or None, tenant_id or None, dict(claims or {}))

    # -- response ----------------------------------------------------------------
    def status(self, code: int) -> ResponseWriter:
        """Start a response: ``ctx.status(201).json(obj)``."""
        return ResponseWriter(self, code)

    def set_header(self, name: str, value: str) -> None:
        """Add a header to the response, whatever the handler returns."""
        if self.response_headers is None:
            self.response_headers = {}
        self.response_headers[name] = value

    # -- websocket ---------------------------------------------------------------
    @property
    def is_websocket(self) -> bool:
        """Whether the event is an API Gateway WebSocket event."""
        return self.request.trigger is _WEBSOCKET

    @property
    def websocket(self) -> WebSocketContext:
        """The WebSocket context; 400 ``NOT_WEBSOCKET`` for other events."""
        if self._ws is None:
            if self.request.trigger is not _WEBSOCKET:
                raise LiftError(400, "NOT_WEBSOCKET", "This request is not a WebSocket event")
            from .websocket.context import WebSocketContext

            self._ws = WebSocketContext(self)
        return self._ws

    def as_websocket(self) -> WebSocketContext:
        """The WebSocket context (legacy name for :attr:`websocket`)."""
        return self.websocket

    def __repr__(self) -> str:
        return f"<Context {self.request!r}>"
