"""The local WebSocket gateway behind ``lift dev``: API Gateway's behaviour on localhost.

One port serves everything (aiohttp):

* ``ws://host:port/`` (or ``/{stage}``): WebSocket clients. The upgrade request becomes
  the ``$connect`` event; a non-2xx result refuses the handshake with that status.
  Text messages are routed by ``WebSocketOptions.route_selection``; ``$disconnect``
  follows every close with its code and reason.
* ``/{stage}/@connections/{id}``: the Management API (POST/GET/DELETE, 410 when gone),
  for the app's boto3 calls and for any other process.
* ``/_lift/``: the inspector page, fed live over ``/_lift/events``.
* with ``static_dir``: the files of that directory (``/`` is its ``index.html``), so an
  app's own web page is served from the same origin.

Limits as on AWS: messages over 128 KiB close the connection with 1009, binary frames
with 1003; idle connections (10 minutes) and old ones (2 hours) close with 1001.
Handlers run on a thread pool, so a slow handler never stalls other connections;
the messages of one connection are handled in order.

The gateway points the app at itself: it sets ``LIFT_WS_MANAGEMENT_ENDPOINT`` (and
placeholder AWS settings, see :mod:`lift.local.environment`) and, unless
``direct_management=False``, gives the app an in-process Management API
(``app.management_api``) so that ``ctx.websocket.send`` needs no HTTP round trip.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from aiohttp import WebSocketError, WSMsgType, web

from ..apigw.route_selection import DEFAULT_ROUTE_SELECTION, route_for
from .connections import MAX_PAYLOAD_BYTES, connection_info, handle_connections_request
from .environment import apply_local_environment, restore_environment
from .events import (
    close_reason,
    connect_event,
    disconnect_event,
    message_event,
    new_connection_id,
)
from .inspector import Inspector, inspector_page, preview
from .live import CloseRequest, LiveConnection, LocalLambdaContext, result_header, status_of
from .transport import RegistryManagementAPI

__all__ = ["Gateway", "LocalLambdaContext", "run_dev"]

AppCallable = Callable[[dict[str, Any], Any], Any]

INSPECTOR_PATH = "/_lift/"
_READ_LIMIT = 4 * MAX_PAYLOAD_BYTES  # larger messages are refused by the reader itself
_HOP_BY_HOP = frozenset({"connection", "content-length", "transfer-encoding", "upgrade"})


def _now_ms() -> int:
    return int(time.time() * 1000)


class Gateway:
    """A local API Gateway WebSocket API in front of ``app`` (a Lambda handler callable).

    ``start()`` serves in a background thread and returns the bound port (``port=0``
    picks a free one); ``stop()`` closes every connection (each gets its
    ``$disconnect``) and the server. Usable as a context manager. ``serve_forever()``
    serves until Ctrl+C. The gateway is the :class:`~lift.local.connections.ConnectionRegistry`
    of its ``@connections`` endpoint (``post``/``info``/``delete``, thread-safe).
    """

    def __init__(
        self,
        app: AppCallable,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        stage: str = "local",
        idle_timeout: float = 600.0,
        max_lifetime: float = 7200.0,
        workers: int = 64,
        direct_management: bool = True,
        configure_env: bool = True,
        quiet: bool = False,
        stream: TextIO | None = None,
        log_size: int = 500,
        static_dir: str | PathLike[str] | None = None,
        route_responses: bool = True,
    ) -> None:
        if not stage or "/" in stage:
            raise ValueError("stage must be a non-empty name without '/'")
        self.app = app
        self.host = host
        self.port = port
        self.stage = stage
        self.idle_timeout = idle_timeout
        self.max_lifetime = max_lifetime
        self.workers = workers
        self.direct_management = direct_management
        self.configure_env = configure_env
        self.quiet = quiet
        self.stream = stream
        self._log_size = log_size
        self.static_dir = Path(static_dir).resolve() if static_dir is not None else None
        """Files served over plain GET (``/`` is ``index.html``); ``None``: no files."""
        self.route_responses = route_responses
        """Send a message handler's returned body to its client, as a route response
        does (``lift template`` gives every message route one)."""
        self._live: dict[str, LiveConnection] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread_id: int | None = None
        self._thread: threading.Thread | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._runner: web.AppRunner | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._inspector: Inspector | None = None
        self._closing = False
        self._restore_env: dict[str, str | None] | None = None
        self._restore_attrs: list[tuple[Any, str, Any]] = []
        self._selection = DEFAULT_ROUTE_SELECTION

    # -- addresses -------------------------------------------------------------------
    @property
    def _public_host(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        host = "::1" if host == "::" else host
        return f"[{host}]" if ":" in host else host

    @property
    def url(self) -> str:
        """``http://host:port``."""
        return f"http://{self._public_host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """``ws://host:port/``: where WebSocket clients connect."""
        return f"ws://{self._public_host}:{self.port}/"

    @property
    def endpoint(self) -> str:
        """``http://host:port/{stage}``: the Management API endpoint (for boto3)."""
        return f"{self.url}/{self.stage}"

    @property
    def inspector_url(self) -> str:
        """The inspector page."""
        return f"{self.url}{INSPECTOR_PATH}"

    @property
    def connection_ids(self) -> list[str]:
        """The ids of the open connections."""
        return [c.id for c in list(self._live.values()) if not c.closing]

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> int:
        """Bind and serve in a daemon thread; returns the bound port."""
        if self._thread is not None:
            return self.port
        ready = threading.Event()
        errors: list[BaseException] = []
        self._closing = False
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="lift-dev")
        self._thread = threading.Thread(
            target=self._thread_main, args=(ready, errors), name="lift-gateway", daemon=True
        )
        self._thread.start()
        ready.wait()
        if errors:
            self._thread.join()
            self._thread = None
            self._executor.shutdown(wait=False)
            self._executor = None
            raise errors[0]
        return self.port

    def stop(self) -> None:
        """Close every connection (running ``$disconnect``), then the server."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        with contextlib.suppress(Exception):
            future.result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        self._thread = None
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self._detach()

    def serve_forever(self, *, title: str | None = None) -> None:
        """Serve until Ctrl+C or SIGTERM, printing where everything is."""
        self.start()
        self._write(self.describe(title))
        stopped = threading.Event()
        previous: Any = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        try:
            while not stopped.wait(0.5):
                if self._thread is None or not self._thread.is_alive():
                    break
        except KeyboardInterrupt:
            pass
        finally:
            self._write("Shutting down: closing connections...")
            self.stop()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    def describe(self, title: str | None = None) -> str:
        """Where clients, the Management API and the inspector are."""
        what = f" serving {title}" if title else ""
        return "\n".join(
            [
                f"Lift local gateway{what} (stage {self.stage!r})",
                f"  WebSocket     {self.ws_url}",
                f"  @connections  {self.endpoint}/@connections/{{connectionId}}",
                f"  Inspector     {self.inspector_url}",
                *([f"  Page          {self.url}/"] if self.static_dir is not None else []),
                f"  App env       LIFT_WS_MANAGEMENT_ENDPOINT={self.endpoint}",
                "Press Ctrl+C to stop.",
            ]
        )

    def __enter__(self) -> Gateway:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _thread_main(self, ready: threading.Event, errors: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._loop_thread_id = threading.get_ident()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._startup())
        except BaseException as exc:  # noqa: BLE001 - reported to start()'s caller
            errors.append(exc)
            ready.set()
            self._close_loop(loop)
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            self._close_loop(loop)

    def _close_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        self._loop = None
        self._loop_thread_id = None

    async def _startup(self) -> None:
        server = web.Application(client_max_size=4 * MAX_PAYLOAD_BYTES)
        server.router.add_get("/", self._websocket)
        server.router.add_get(f"/{self.stage}", self._websocket)
        server.router.add_get("/_lift", self._inspector_redirect)
        server.router.add_get(INSPECTOR_PATH, self._inspector_page)
        server.router.add_get(f"{INSPECTOR_PATH}events", self._inspector_events)
        server.router.add_route("*", "/{tail:.*}", self._connections)
        runner = web.AppRunner(server, handle_signals=False, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, backlog=2048, reuse_address=True)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        addresses = runner.addresses
        if addresses:
            self.port = int(addresses[0][1])
        self._inspector = Inspector(
            {
                "stage": self.stage,
                "wsUrl": self.ws_url,
                "endpoint": self.endpoint,
                "idleTimeout": self.idle_timeout,
                "maxLifetime": self.max_lifetime,
            },
            log_size=self._log_size,
        )
        self._attach()
        interval = max(0.02, min(1.0, self.idle_timeout / 4, self.max_lifetime / 4))
        self._sweeper = asyncio.create_task(self._sweep(interval))

    async def _shutdown(self) -> None:
        self._closing = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        deadline = time.monotonic() + 10
        while self._live and time.monotonic() < deadline:
            live = list(self._live.values())
            for conn in live:
                self._close(conn, 1001, "Going away")
            await asyncio.wait([c.finished for c in live], timeout=deadline - time.monotonic())
        if self._inspector is not None:
            self._inspector.close()
        await asyncio.sleep(0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _attach(self) -> None:
        """Point the app at this gateway (undone by :meth:`_detach`)."""
        if self.configure_env:
            self._restore_env = apply_local_environment(self.endpoint)
        options = getattr(self.app, "websocket_options", None)
        self._selection = str(getattr(options, "route_selection", None) or DEFAULT_ROUTE_SELECTION)
        if self.direct_management and getattr(self.app, "management_api", False) is None:
            self._set_attr(self.app, "management_api", RegistryManagementAPI(self))

    def _set_attr(self, target: Any, name: str, value: Any) -> None:
        self._restore_attrs.append((target, name, getattr(target, name)))
        setattr(target, name, value)

    def _detach(self) -> None:
        while self._restore_attrs:
            target, name, value = self._restore_attrs.pop()
            setattr(target, name, value)
        if self._restore_env is not None:
            restore_environment(self._restore_env)
            self._restore_env = None

    # -- the ConnectionRegistry of @connections (thread-safe) ------------------------
    def post(self, connection_id: str, data: bytes) -> bool:
        """Queue ``data`` for the client (a text frame when UTF-8, else binary)."""
        conn = self._live.get(connection_id)
        if conn is None or conn.closing:
            return False
        payload = bytes(data)
        frame: str | bytes
        try:
            frame = payload.decode("utf-8")
        except UnicodeDecodeError:
            frame = payload
        conn.touch()
        return self._in_loop(self._deliver, conn, frame, len(payload))

    def info(self, connection_id: str) -> dict[str, Any] | None:
        """``GetConnection`` facts of an open connection."""
        conn = self._live.get(connection_id)
        if conn is None or conn.closing:
            return None
        last = datetime.fromtimestamp(conn.last_active, timezone.utc)
        return connection_info(conn.connected_at, last, conn.source_ip, conn.user_agent or "")

    def delete(self, connection_id: str) -> bool:
        """Close the connection with 1000, after the messages already posted to it."""
        conn = self._live.get(connection_id)
        if conn is None or conn.closing:
            return False
        conn.closing = True
        return self._in_loop(self._close, conn, 1000, "Connection Closed Normally")

    def _in_loop(self, func: Callable[..., None], *args: Any) -> bool:
        loop = self._loop
        if loop is None:
            return False
        if threading.get_ident() == self._loop_thread_id:
            func(*args)
            return True
        try:
            loop.call_soon_threadsafe(func, *args)
        except RuntimeError:  # the loop is closed
            return False
        return True

    # -- loop-thread helpers -----------------------------------------------------------
    def _deliver(self, conn: LiveConnection, frame: str | bytes, size: int) -> None:
        conn.outbox.put_nowait(frame)
        self._write_event("OUT", conn.id, f"{size} B")
        self._record("out", conn.id, data=preview(frame), size=size)

    def _close(self, conn: LiveConnection, code: int, reason: str) -> None:
        if conn.close_code is not None:
            return
        conn.closing = True
        conn.close_code = code
        conn.close_reason = reason
        conn.outbox.put_nowait(CloseRequest(code, reason))

    def _record(self, kind: str, connection_id: str, **fields: Any) -> None:
        if self._inspector is not None:
            self._inspector.record({"at": _now_ms(), "kind": kind, "id": connection_id, **fields})

    def _write(self, text: str) -> None:
        if self.quiet:
            return
        stream = self.stream or sys.stdout
        try:
            stream.write(text + "\n")
            stream.flush()
        except (OSError, ValueError):  # a closed or broken stream never stops the gateway
            pass

    def _write_event(self, kind: str, connection_id: str, detail: str) -> None:
        if self.quiet:
            return
        now = time.time()
        stamp = time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now * 1000) % 1000:03d}"
        self._write(f"{stamp}  {kind:<10}  {connection_id}  {detail}")

    async def _sweep(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for conn in list(self._live.values()):
                if conn.close_code is not None:
                    continue
                if (
                    now - conn.started_mono >= self.max_lifetime
                    or now - conn.last_mono >= self.idle_timeout
                ):
                    self._close(conn, 1001, "Going away")

    # -- invoking the app (worker threads) -------------------------------------------
    def _invoke(self, event: dict[str, Any]) -> tuple[Any, float, bool]:
        """Run the app; ``(result, milliseconds, raised)``."""
        start = time.perf_counter()
        try:
            result = self.app(event, LocalLambdaContext())
        except Exception:  # noqa: BLE001 - the invocation failed, as a Lambda error would
            elapsed = (time.perf_counter() - start) * 1000
            route = event.get("requestContext", {}).get("routeKey")
            self._write(f"The app raised on {route}:\n{traceback.format_exc().rstrip()}")
            return None, elapsed, True
        return result, (time.perf_counter() - start) * 1000, False

    def _run_connect(self, event: dict[str, Any]) -> tuple[Any, float, str | None, str | None]:
        result, elapsed, _ = self._invoke(event)
        user_id = tenant_id = None
        if 200 <= status_of(result) < 300:
            options = getattr(self.app, "websocket_options", None)
            store = getattr(options, "store", None)
            if store is not None:
                try:
                    record = store.get(event["requestContext"]["connectionId"])
                except Exception:  # noqa: BLE001 - the inspector's user column is best effort
                    record = None
                if record is not None:
                    user_id, tenant_id = record.user_id, record.tenant_id
        return result, elapsed, user_id, tenant_id

    def _channels_of(self, connection_id: str) -> list[str] | None:
        """The connection's channels in the app's store, for the inspector (best effort)."""
        store = getattr(getattr(self.app, "websocket_options", None), "store", None)
        channels_of = getattr(store, "channels_of", None)
        if channels_of is None:
            return None
        try:
            return list(channels_of(connection_id))
        except Exception:  # noqa: BLE001 - the inspector's channels column is best effort
            return None

    async def _show_channels(self, connection_id: str) -> None:
        if self._inspector is None or self._executor is None:
            return
        loop = asyncio.get_running_loop()
        channels = await loop.run_in_executor(self._executor, self._channels_of, connection_id)
        if channels is not None and self._inspector is not None:
            self._inspector.channels(connection_id, channels)

    def _run_message(
        self, conn: LiveConnection, body: str, route_key: str
    ) -> tuple[int, float, bool]:
        request_id = new_connection_id()
        if not self._has_route(route_key):
            self._answer_error(conn, "Forbidden", request_id)
            return 403, 0.0, False
        event = message_event(
            body,
            route_key=route_key,
            connection_id=conn.id,
            connected_at=conn.connected_ms,
            stage=self.stage,
            source_ip=conn.source_ip,
            user_agent=conn.user_agent,
            request_id=request_id,
        )
        result, elapsed, raised = self._invoke(event)
        if raised:
            self._answer_error(conn, "Internal server error", request_id)
            return 500, elapsed, True
        if self.route_responses and isinstance(result, dict) and result.get("body") is not None:
            body_text = str(result["body"])
            data = (
                base64.b64decode(body_text)
                if result.get("isBase64Encoded")
                else body_text.encode("utf-8")
            )
            self.post(conn.id, data)
        return status_of(result), elapsed, False

    def _has_route(self, route_key: str) -> bool:
        routes = getattr(self.app, "websocket_routes", None)
        if routes is None or route_key in routes:
            return True
        options = getattr(self.app, "websocket_options", None)
        return getattr(options, "default_handler", None) is not None

    def _answer_error(self, conn: LiveConnection, message: str, request_id: str) -> None:
        """What API Gateway sends a client when it cannot deliver its message."""
        body = {"message": message, "connectionId": conn.id, "requestId": request_id}
        self.post(conn.id, json.dumps(body).encode())

    # -- HTTP handlers ---------------------------------------------------------------
    def _static_file(self, request: web.Request) -> Path | None:
        """The file of ``static_dir`` a GET/HEAD asks for (never outside it), or ``None``."""
        root = self.static_dir
        if root is None or request.method not in ("GET", "HEAD"):
            return None
        relative = request.path.lstrip("/") or "index.html"
        if "@connections" in relative or relative.startswith("_lift"):
            return None
        candidate = (root / relative).resolve()
        if not candidate.is_relative_to(root) or not candidate.is_file():
            return None
        return candidate

    async def _connections(self, request: web.Request) -> web.StreamResponse:
        static = self._static_file(request)
        if static is not None:
            return web.FileResponse(static, headers={"Cache-Control": "no-store"})
        body = await request.read()
        status, headers, payload = handle_connections_request(
            self, request.method, request.raw_path, body, stage=self.stage
        )
        return web.Response(status=status, headers=headers, body=payload)

    async def _inspector_redirect(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(INSPECTOR_PATH)

    async def _inspector_page(self, request: web.Request) -> web.Response:
        return web.Response(
            body=inspector_page(),
            content_type="text/html",
            charset="utf-8",
            headers={"Cache-Control": "no-store"},
        )

    async def _inspector_events(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        inspector = self._inspector
        if inspector is None or self._closing:
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

    # -- WebSocket clients -------------------------------------------------------------
    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            static = self._static_file(request)
            if static is not None:
                return web.FileResponse(static, headers={"Cache-Control": "no-store"})
            raise web.HTTPFound(INSPECTOR_PATH)
        if self._closing or self._executor is None:
            return web.Response(status=503, text="The gateway is shutting down")
        loop = asyncio.get_running_loop()
        connection_id = new_connection_id()
        source_ip = request.remote or "127.0.0.1"
        event = connect_event(
            connection_id=connection_id,
            headers=self._connect_headers(request, source_ip),
            query=request.query.items(),
            stage=self.stage,
            source_ip=source_ip,
        )
        rc = event["requestContext"]
        result, elapsed, user_id, tenant_id = await loop.run_in_executor(
            self._executor, self._run_connect, event
        )
        status = status_of(result)
        if not 200 <= status < 300:
            self._write_event("CONNECT", connection_id, f"{status} refused  {elapsed:.1f} ms")
            self._record("refused", connection_id, status=status)
            return self._refusal(status, result)
        protocol = result_header(result, "Sec-WebSocket-Protocol")
        ws = web.WebSocketResponse(
            protocols=(protocol,) if protocol else (),
            compress=False,
            max_msg_size=_READ_LIMIT,
        )
        conn = LiveConnection(
            connection_id,
            ws,
            source_ip=source_ip,
            user_agent=rc["identity"].get("userAgent"),
            connected_ms=rc["connectedAt"],
            user_id=user_id,
            tenant_id=tenant_id,
        )
        try:
            await ws.prepare(request)
        except (ConnectionError, RuntimeError):
            conn.close_code, conn.close_reason = 1006, close_reason(1006)
            await self._disconnected(conn)
            return ws
        self._live[connection_id] = conn
        who = f"  user={user_id}" if user_id else ""
        who += f"  tenant={tenant_id}" if tenant_id else ""
        self._write_event("CONNECT", connection_id, f"{status}  {elapsed:.1f} ms{who}")
        if self._inspector is not None:
            self._inspector.connected(conn.summary())
            await self._show_channels(connection_id)
        self._record("connect", connection_id, status=status, user=user_id, tenant=tenant_id)
        if self._closing:  # accepted while the gateway was stopping
            self._close(conn, 1001, "Going away")
        writer = asyncio.create_task(self._writer(conn))
        processor = asyncio.create_task(self._processor(conn))
        try:
            await self._reader(conn)
        finally:
            conn.closing = True
            if conn.close_code is None:
                conn.close_code, conn.close_reason = 1006, close_reason(1006)
            conn.outbox.put_nowait(CloseRequest(conn.close_code, conn.close_reason))
            conn.inbox.put_nowait(None)
            _, late = await asyncio.wait([writer, processor], timeout=60)
            for task in late:
                task.cancel()
            await ws.close()
            self._live.pop(connection_id, None)
            await self._disconnected(conn)
        return ws

    @staticmethod
    def _connect_headers(request: web.Request, source_ip: str) -> list[tuple[str, str]]:
        headers = list(request.headers.items())
        present = {name.lower() for name, _ in headers}
        extra = {
            "X-Forwarded-For": source_ip,
            "X-Forwarded-Port": str(request.url.port or ""),
            "X-Forwarded-Proto": request.scheme,
        }
        headers.extend((k, v) for k, v in extra.items() if k.lower() not in present)
        return headers

    @staticmethod
    def _refusal(status: int, result: Any) -> web.Response:
        headers = {}
        raw = result.get("headers") if isinstance(result, dict) else None
        if isinstance(raw, dict):
            headers = {str(k): str(v) for k, v in raw.items() if k.lower() not in _HOP_BY_HOP}
        body = result.get("body") if isinstance(result, dict) else None
        payload = body.encode() if isinstance(body, str) else b""
        return web.Response(status=status, headers=headers, body=payload)

    async def _reader(self, conn: LiveConnection) -> None:
        ws = conn.ws
        routes = getattr(self.app, "websocket_routes", None)
        while True:
            msg = await ws.receive()
            kind = msg.type
            if kind is WSMsgType.TEXT:
                text: str = msg.data
                size = len(text) if text.isascii() else len(text.encode("utf-8"))
                if size > MAX_PAYLOAD_BYTES:
                    await self._policy_close(conn, 1009)
                    return
                if conn.closing:
                    continue
                conn.touch()
                route_key = route_for(self._selection, text, routes)
                conn.inbox.put_nowait((text, route_key))
                self._record("in", conn.id, route=route_key, data=preview(text), size=size)
            elif kind is WSMsgType.BINARY:
                await self._policy_close(conn, 1003)
                return
            elif kind is WSMsgType.CLOSE:
                if conn.close_code is None:
                    code = int(msg.data) if msg.data else 1005
                    conn.close_code, conn.close_reason = code, close_reason(code, msg.extra or "")
                return
            elif kind is WSMsgType.ERROR:
                error = msg.data
                if conn.close_code is None:
                    code = int(error.code) if isinstance(error, WebSocketError) else 1006
                    conn.close_code, conn.close_reason = code, close_reason(code)
                return
            else:  # CLOSING (we are closing it) or CLOSED (the peer vanished)
                return

    async def _policy_close(self, conn: LiveConnection, code: int) -> None:
        if conn.close_code is None:
            conn.close_code, conn.close_reason = code, close_reason(code)
        conn.closing = True
        await conn.ws.close(code=code, message=conn.close_reason.encode())

    async def _writer(self, conn: LiveConnection) -> None:
        ws = conn.ws
        while True:
            item = await conn.outbox.get()
            if isinstance(item, CloseRequest):
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.close(code=item.code, message=item.reason.encode())
                return
            if ws.closed:
                continue
            try:
                if isinstance(item, str):
                    await ws.send_str(item)
                else:
                    await ws.send_bytes(item)
            except (ConnectionError, RuntimeError):
                continue

    async def _processor(self, conn: LiveConnection) -> None:
        loop = asyncio.get_running_loop()
        while (item := await conn.inbox.get()) is not None:
            body, route_key = item
            if self._executor is None:
                return
            status, elapsed, _ = await loop.run_in_executor(
                self._executor, self._run_message, conn, body, route_key
            )
            detail = f"{route_key}  {status}  {elapsed:.1f} ms  {len(body)} chars"
            self._write_event("MESSAGE", conn.id, detail)
            await self._show_channels(conn.id)

    async def _disconnected(self, conn: LiveConnection) -> None:
        code = conn.close_code if conn.close_code is not None else 1006
        reason = conn.close_reason
        event = disconnect_event(
            connection_id=conn.id,
            connected_at=conn.connected_ms,
            status_code=code,
            reason=reason,
            stage=self.stage,
            source_ip=conn.source_ip,
            user_agent=conn.user_agent,
        )
        try:
            if self._executor is not None:
                loop = asyncio.get_running_loop()
                result, elapsed, _ = await loop.run_in_executor(self._executor, self._invoke, event)
                detail = f"{code} {reason}  {status_of(result)}  {elapsed:.1f} ms"
                self._write_event("DISCONNECT", conn.id, detail)
        finally:
            if self._inspector is not None:
                self._inspector.disconnected(conn.id)
            self._record("disconnect", conn.id, code=code, reason=reason)
            if not conn.finished.done():
                conn.finished.set_result(None)


def run_dev(
    target: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    stage: str = "local",
    reload: bool = False,
    static_dir: str | None = None,
) -> None:
    """Serve ``module:app`` (imported from the current directory) until Ctrl+C.

    With ``reload`` the gateway runs in a child process that restarts whenever a
    Python file under the current directory changes.
    """
    if reload:
        from .reload import run_with_reload

        run_with_reload(target, host=host, port=port, stage=stage, static_dir=static_dir)
        return
    from ..loading import load_app

    app = load_app(target)
    gateway = Gateway(app, host=host, port=port, stage=stage, static_dir=static_dir)
    gateway.serve_forever(title=target)
