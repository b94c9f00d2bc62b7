"""What the local gateway refuses before any handler runs: foreign hosts, foreign pages,
and clients too slow to finish a request.

The gateway is a tool on a developer's own machine, and every web page they visit can
reach it. Three defences:

* **Host allow-list** (every request): a request whose ``Host`` is not a local name
  (``localhost``, ``127.0.0.1``, ``[::1]``, the bound address, or a name the developer
  allowed; any port) is refused with 403. This defeats DNS rebinding, where a page on
  ``evil.example`` re-resolves its own name to 127.0.0.1.
* **Origin check** (the inspector and the ``@connections`` endpoint): a browser request
  must come from the gateway's own origin. Browsers send ``Origin`` on cross-origin
  WebSocket handshakes and on every POST/DELETE, so a foreign page can neither watch the
  inspector's feed nor post into a connection (a ``text/plain`` POST needs no preflight);
  requests a browser marks cross-site (``Sec-Fetch-Site``) are refused too, except
  following a link to a page.
  Requests without ``Origin`` (boto3, curl, other processes) are not browser requests
  and pass. The app's own WebSocket endpoint accepts any origin, as API Gateway does:
  its ``$connect`` handler sees the ``Origin`` header and may refuse.
* **Request deadline**: a client gets ``head_timeout`` seconds from the moment its
  connection opens (or its previous response ended) to deliver a request's head; a
  client that drips bytes is disconnected (see :class:`HeadDeadlines`).
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Callable, Collection, Iterable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

__all__ = [
    "LOCAL_HOSTS",
    "HeadDeadlines",
    "allowed_hosts",
    "guard_middleware",
    "host_name",
    "is_allowed_host",
    "is_own_origin",
]

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
"""Host names that always reach the gateway (compared without port or brackets)."""

_WILDCARDS = frozenset({"", "0.0.0.0", "::"})
_SAME_ORIGIN_FETCH = frozenset({"same-origin", "none"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def host_name(authority: str) -> str | None:
    """The lower-cased host of a ``Host`` value (``name[:port]`` or ``[v6][:port]``);
    ``None`` when it is malformed."""
    authority = authority.strip().lower()
    if not authority:
        return None
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            return None
        rest = authority[end + 1 :]
        if rest and not (rest.startswith(":") and rest[1:].isdigit()):
            return None
        return authority[1:end]
    name, colon, port = authority.partition(":")
    if colon and not port.isdigit():
        return None
    return name.rstrip(".") or None


def allowed_hosts(bound: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The host names a gateway bound to ``bound`` answers to."""
    names = set(LOCAL_HOSTS)
    if bound not in _WILDCARDS:
        names.add(bound.strip("[]").lower())
    names.update(name.strip("[]").lower() for name in extra)
    return frozenset(names)


def is_allowed_host(authority: str | None, allowed: Collection[str]) -> bool:
    """Whether a ``Host`` header names this machine (any port)."""
    if authority is None:
        return False
    name = host_name(authority)
    if name is None:
        return False
    if name in allowed or name.endswith(".localhost"):
        return True
    try:  # the loopback network, in any spelling (127.0.0.2, ::ffff:127.0.0.1)
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_own_origin(origin: str, allowed: Collection[str], port: int) -> bool:
    """Whether ``origin`` is a page served by this gateway (``http``, a local name, its port)."""
    try:
        parts = urlsplit(origin)
        origin_port = parts.port
    except ValueError:
        return False
    if parts.scheme != "http" or parts.path or parts.username or parts.password:
        return False
    if (origin_port if origin_port is not None else 80) != port:
        return False
    return is_allowed_host(parts.netloc, allowed)


def _is_navigation(request: web.Request) -> bool:
    """A link followed to the page: harmless, as the linking page cannot read it (nor
    frame it)."""
    mode = request.headers.get("Sec-Fetch-Mode", "").lower()
    return request.method in ("GET", "HEAD") and mode == "navigate"


def _refuse(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text + "\n", headers={"Cache-Control": "no-store"})


def guard_middleware(
    allowed: Callable[[], Collection[str]],
    port: Callable[[], int],
    protected: Callable[[str], bool],
) -> Any:
    """An aiohttp middleware applying the Host allow-list to every request and the Origin
    check to the paths ``protected`` names."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        names = allowed()
        if not is_allowed_host(request.headers.get("Host"), names):
            return _refuse(403, "Forbidden: this server only answers to local host names")
        if protected(request.path):
            origin = request.headers.get("Origin")
            if origin is not None and not is_own_origin(origin, names, port()):
                return _refuse(403, "Forbidden: cross-origin requests are not accepted here")
            fetch_site = request.headers.get("Sec-Fetch-Site", "none").lower()
            if fetch_site not in _SAME_ORIGIN_FETCH and not _is_navigation(request):
                return _refuse(403, "Forbidden: cross-origin requests are not accepted here")
        return await handler(request)

    return guard


class HeadDeadlines:
    """Disconnects clients that take longer than ``timeout`` seconds to send a request head.

    ``wrap(factory)`` gives the protocol factory for ``loop.create_server``: each new
    connection is armed on arrival. :meth:`started` (from a middleware, once aiohttp has
    parsed a head) disarms it; :meth:`finished` re-arms it for the next request on a
    kept-alive connection. An expired connection is closed without an answer.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._timers: dict[Any, asyncio.TimerHandle] = {}

    def wrap(self, factory: Callable[[], Any]) -> Callable[[], Any]:
        """A protocol factory that arms every connection ``factory`` makes."""

        def make() -> Any:
            protocol = factory()
            self._arm(protocol)
            return protocol

        return make

    def started(self, protocol: Any) -> None:
        """A request head arrived on ``protocol``'s connection."""
        timer = self._timers.pop(protocol, None)
        if timer is not None:
            timer.cancel()

    def finished(self, protocol: Any) -> None:
        """A response ended; the next head has ``timeout`` seconds to arrive."""
        transport = getattr(protocol, "transport", None)
        if transport is not None and not transport.is_closing():
            self._arm(protocol)

    def close(self) -> None:
        """Disarm everything (the server is stopping)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    def _arm(self, protocol: Any) -> None:
        self.started(protocol)
        loop = asyncio.get_running_loop()
        self._timers[protocol] = loop.call_later(self.timeout, self._expire, protocol)

    def _expire(self, protocol: Any) -> None:
        self._timers.pop(protocol, None)
        transport = getattr(protocol, "transport", None)
        if transport is not None:
            transport.abort()

    def middleware(self) -> Any:
        """The aiohttp middleware that tells this object when requests start and end."""

        @web.middleware
        async def deadline(request: web.Request, handler: Handler) -> web.StreamResponse:
            protocol = request.protocol
            self.started(protocol)
            try:
                return await handler(request)
            finally:
                asyncio.get_running_loop().call_soon(self.finished, protocol)

        return deadline
