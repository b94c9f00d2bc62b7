"""HTTP routing (static and ``{param}`` segments) and event routing by pattern."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from .errors import LiftError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "EventRouter",
    "HTTPRouter",
    "Route",
    "checked_prefixes",
    "normalise_path",
    "strip_prefix",
]

Handler = Callable[["Any"], "Any"]
# Patterns as text: compiled (and cached by :mod:`re`) by the first route, not at import.
_COLON_PARAM = r"^:([A-Za-z_][A-Za-z0-9_]*)$"
_BRACE_PARAM = r"^\{([A-Za-z_][A-Za-z0-9_]*)(\+?)\}$"


class Route:
    """A registered handler and its middleware-wrapped form (built once).

    ``model``: the class the body is validated into before the handler runs (``None``:
    no validation); ``reply``: the class describing what the route sends back.
    """

    __slots__ = ("compiled", "handler", "kind", "method", "model", "path", "reply")

    def __init__(
        self,
        kind: str,
        method: str,
        path: str,
        handler: Handler,
        *,
        model: type[Any] | None = None,
        reply: type[Any] | None = None,
    ) -> None:
        self.kind = kind
        self.method = method
        self.path = path
        self.handler = handler
        self.compiled: Handler = handler
        self.model = model
        self.reply = reply

    def typed(self) -> Handler:
        """The handler, behind validation of the body into :attr:`model` when set."""
        if self.model is None:
            return self.handler
        from .typed import typed_handler

        return typed_handler(self.handler, self.model)

    def describe(self) -> str:
        """One line for ``lift routes``."""
        name = getattr(self.handler, "__qualname__", repr(self.handler))
        return f"{self.kind:<11} {self.method:<8} {self.path:<32} {name}"


def normalise_path(path: str) -> str:
    """Drop a trailing slash (but keep ``/``)."""
    if len(path) > 1 and path.endswith("/"):
        return path.rstrip("/") or "/"
    return path or "/"


class _Node:
    __slots__ = ("greedy", "methods", "param", "param_name", "static")

    def __init__(self) -> None:
        self.static: dict[str, _Node] = {}
        self.param: _Node | None = None
        self.param_name = ""
        self.greedy = False
        self.methods: dict[str, Route] = {}


class HTTPRouter:
    """Routes ``(method, path)`` to a :class:`Route`.

    Static paths are a dict lookup; paths with parameters walk a segment trie where a
    static segment wins over a parameter. ``{name+}`` matches the rest of the path.
    """

    def __init__(self) -> None:
        self._static: dict[str, dict[str, Route]] = {}
        self._root = _Node()
        self.routes: list[Route] = []

    def add(self, method: str, path: str, handler: Handler) -> Route:
        """Register a route; registering the same method and path twice is an error."""
        method = method.upper()
        path = normalise_path(path if path.startswith("/") else "/" + path)
        segments = path.strip("/").split("/") if path != "/" else []
        has_params = False
        node = self._root
        for index, segment in enumerate(segments):
            colon = re.match(_COLON_PARAM, segment)
            brace = re.match(_BRACE_PARAM, segment)
            if colon or brace:
                has_params = True
                name = (colon or brace).group(1)  # type: ignore[union-attr]
                greedy = bool(brace and brace.group(2))
                if greedy and index != len(segments) - 1:
                    raise ValueError(f"Greedy parameter must be last in {path!r}")
                if node.param is None:
                    node.param = _Node()
                    node.param_name = name
                    node.greedy = greedy
                elif node.param_name != name or node.greedy != greedy:
                    raise ValueError(
                        f"Conflicting parameter names {node.param_name!r} and {name!r} in {path!r}"
                    )
                node = node.param
            else:
                node = node.static.setdefault(segment, _Node())
        if method in node.methods:
            raise ValueError(f"Route {method} {path} is already registered")
        route = Route("http", method, path, handler)
        node.methods[method] = route
        if not has_params:
            self._static.setdefault(path, {})[method] = route
        self.routes.append(route)
        return route

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route for ``method`` and ``path`` and its parameters.

        Raises 404 ``NOT_FOUND`` or 405 ``METHOD_NOT_ALLOWED`` (with ``Allow``).
        """
        path = normalise_path(path)
        params: dict[str, str] = {}
        methods = self._static.get(path)
        if methods is None:
            segments = path.strip("/").split("/") if path != "/" else []
            node = self._walk(self._root, segments, 0, params)
            methods = node.methods if node is not None else None
        if not methods:
            raise LiftError(404, "NOT_FOUND", "No route matches the request path")
        route = methods.get(method)
        if route is None and method == "HEAD":
            route = methods.get("GET")
        if route is None:
            allowed = ", ".join(sorted(methods))
            raise LiftError(
                405,
                "METHOD_NOT_ALLOWED",
                f"Method {method} is not allowed on this path",
                headers={"Allow": allowed},
            )
        return route, params

    def _walk(
        self, node: _Node, segments: list[str], index: int, params: dict[str, str]
    ) -> _Node | None:
        if index == len(segments):
            return node if node.methods else None
        segment = segments[index]
        child = node.static.get(segment)
        if child is not None:
            found = self._walk(child, segments, index + 1, params)
            if found is not None:
                return found
        if node.param is not None and segment:
            if node.greedy:
                params[node.param_name] = "/".join(segments[index:])
                return node.param if node.param.methods else None
            found = self._walk(node.param, segments, index + 1, params)
            if found is not None:
                params[node.param_name] = segment
                return found
        return None


class EventRouter:
    """Routes non-HTTP events by glob pattern (``orders-*``) on the event's source name.

    A pattern matches the source name only (queue, bucket, topic, table, stream, rule,
    ARN); with ``match_detail_type`` (EventBridge) it may match the ``detail-type`` too.
    ``*`` matches every event, even one whose source has no name.
    """

    def __init__(self, kind: str, *, match_detail_type: bool = False) -> None:
        self.kind = kind
        self.match_detail_type = match_detail_type
        self.routes: list[Route] = []

    def add(self, pattern: str, handler: Handler) -> Route:
        """Register ``pattern``; the same pattern twice is an error."""
        if not isinstance(pattern, str) or not pattern:
            raise ValueError(f"A {self.kind} route pattern must be a non-empty string")
        if any(route.path == pattern for route in self.routes):
            raise ValueError(f"{self.kind} route {pattern!r} is already registered")
        route = Route(self.kind, "-", pattern, handler)
        self.routes.append(route)
        return route

    def match(self, source: str, detail_type: str = "") -> Route:
        """The first route whose pattern matches ``source`` (or ``detail_type``); else 404."""
        from fnmatch import fnmatchcase  # imported by the first event, not by the app

        for route in self.routes:
            pattern = route.path
            if pattern == "*" or (source and fnmatchcase(source, pattern)):
                return route
            if self.match_detail_type and detail_type and fnmatchcase(detail_type, pattern):
                return route
        raise LiftError(404, "ROUTE_NOT_FOUND", f"No {self.kind} handler matches the event")


def checked_prefixes(prefixes: Sequence[str]) -> tuple[str, ...]:
    """``App(strip_prefixes=...)`` checked and normalised: ``/v1`` style, longest first."""
    if isinstance(prefixes, str):
        prefixes = (prefixes,)
    result = []
    for prefix in prefixes:
        if not isinstance(prefix, str) or not prefix.strip("/"):
            raise ValueError("A prefix to strip must be a non-empty path such as '/v1'")
        result.append("/" + prefix.strip("/"))
    # The longest first, so that "/api/v1" wins over "/api".
    return tuple(sorted(result, key=len, reverse=True))


def strip_prefix(path: str, prefixes: tuple[str, ...]) -> str:
    """``path`` without the first of ``prefixes`` it starts with (at a segment boundary)."""
    for prefix in prefixes:
        if path.startswith(prefix):
            rest = path[len(prefix) :]
            if not rest:
                return "/"
            if rest[0] == "/":
                return rest
    return path
