"""The local gateway's HTTP server: routes, guards and the listening socket (aiohttp).

``/`` and ``/{stage}`` take WebSocket upgrades (:mod:`lift.local.session`); a plain GET
there serves ``static_dir``'s page or redirects to the inspector. ``/_lift/`` is the
inspector page and ``/_lift/events`` its live feed. Every other path is the
``@connections`` endpoint or a file of ``static_dir``. Every request passes the guards
of :mod:`lift.local.guards` first.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from .connections import handle_connections_request
from .guards import HeadDeadlines, guard_middleware
from .inspector import Inspector, inspector_page
from .session import READ_LIMIT, Sessions

if TYPE_CHECKING:
    from .gateway import Gateway

__all__ = ["INSPECTOR_PATH", "Server", "is_protected_path"]

INSPECTOR_PATH = "/_lift/"
_KEEPALIVE_SECONDS = 15.0


def is_protected_path(path: str) -> bool:
    """Paths only the gateway's own pages (or non-browser clients) may use."""
    return path == "/_lift" or path.startswith(INSPECTOR_PATH) or "@connections" in path


class Server:
    """The aiohttp application and listening socket of one gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.sessions = Sessions(gateway)
        self.deadlines = HeadDeadlines(gateway.head_timeout)
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port``; the bound port."""
        gw = self.gateway
        guard = guard_middleware(gw.allowed_hosts, lambda: gw.port, is_protected_path)
        app = web.Application(
            client_max_size=READ_LIMIT, middlewares=[self.deadlines.middleware(), guard]
        )
        app.router.add_get("/", self._root)
        app.router.add_get(f"/{gw.stage}", self._root)
        app.router.add_get("/_lift", self._inspector_redirect)
        app.router.add_get(INSPECTOR_PATH, self._inspector_page)
        app.router.add_get(f"{INSPECTOR_PATH}events", self._inspector_events)
        app.router.add_route("*", "/{tail:.*}", self._other)
        runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            shutdown_timeout=2.0,
            keepalive_timeout=_KEEPALIVE_SECONDS,
        )
        await runner.setup()
        factory = self.deadlines.wrap(runner.server)  # type: ignore[arg-type]
        loop = asyncio.get_running_loop()
        try:
            listener = await loop.create_server(
                factory, host or None, port, backlog=2048, reuse_address=True
            )
        except BaseException:
            await runner.cleanup()
            raise
        self._runner, self._listener = runner, listener
        return int(listener.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening and close what is left (sessions are closed before this)."""
        if self._listener is not None:
            self._listener.close()
        self.deadlines.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._listener.wait_closed(), 2.0)
            self._listener = None

    # -- handlers ------------------------------------------------------------------------
    async def _root(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self.sessions.handle(request)
        static = self._static_file(request)
        if static is not None:
            return web.FileResponse(static, headers={"Cache-Control": "no-store"})
        raise web.HTTPFound(INSPECTOR_PATH)

    def _static_file(self, request: web.Request) -> Path | None:
        """The file of ``static_dir`` a GET/HEAD asks for (never outside it), or ``None``."""
        root = self.gateway.static_dir
        if root is None or request.method not in ("GET", "HEAD"):
            return None
        relative = request.path.lstrip("/") or "index.html"
        if "@connections" in relative or relative.startswith("_lift"):
            return None
        candidate = (root / relative).resolve()
        if not candidate.is_relative_to(root) or not candidate.is_file():
            return None
        return candidate

    async def _other(self, request: web.Request) -> web.StreamResponse:
        static = self._static_file(request)
        if static is not None:
            return web.FileResponse(static, headers={"Cache-Control": "no-store"})
        try:
            body = await asyncio.wait_for(request.read(), self.deadlines.timeout)
        except asyncio.TimeoutError:
            return web.Response(status=408, text="Request Timeout\n")
        status, headers, payload = handle_connections_request(
            self.gateway, request.method, request.raw_path, body, stage=self.gateway.stage
        )
        return web.Response(status=status, headers=headers, body=payload)

    async def _inspector_redirect(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(INSPECTOR_PATH)

    async def _inspector_page(self, request: web.Request) -> web.Response:
        return web.Response(
            body=inspector_page(),
            content_type="text/html",
            charset="utf-8",
            headers={
                "Cache-Control": "no-store",
                "X-Frame-Options": "DENY",
                "Content-Security-Policy": "frame-ancestors 'none'",
            },
        )

    async def _inspector_events(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False, max_msg_size=4096)
        await ws.prepare(request)
        inspector = self.gateway.inspector
        if inspector is None or self.gateway.closing:
            await ws.close(code=1001, message=b"Going away")
            return ws
        queue = inspector.watch()
        reader = asyncio.create_task(self._watch_reader(ws, inspector, queue))
        try:
            while (text := await queue.get()) is not None:
                await ws.send_str(text)
        except (ConnectionError, RuntimeError):
            pass
        finally:
            inspector.unwatch(queue)
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            await ws.close(code=1001, message=b"Going away")
        return ws

    @staticmethod
    async def _watch_reader(
        ws: web.WebSocketResponse, inspector: Inspector, queue: asyncio.Queue[str | None]
    ) -> None:
        async for _ in ws:  # the page sends nothing; this notices when it goes away
            pass
        inspector.release(queue)
