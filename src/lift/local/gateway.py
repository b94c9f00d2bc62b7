"""The local WebSocket gateway behind ``lift dev``: API Gateway's behaviour on localhost.

One port serves everything (:mod:`lift.local.server`):

* ``ws://host:port/`` (or ``/{stage}``): WebSocket clients (:mod:`lift.local.session`).
  The upgrade request becomes the ``$connect`` event; a non-2xx result refuses the
  handshake with that status. Text messages are routed by
  ``WebSocketOptions.route_selection``; ``$disconnect`` follows every close with its
  code and reason.
* ``/{stage}/@connections/{id}``: the Management API (POST/GET/DELETE, 410 when gone),
  for the app's boto3 calls and for any other process.
* ``/_lift/``: the inspector page, fed live over ``/_lift/events``.
* with ``static_dir``: the files of that directory (``/`` is its ``index.html``), so an
  app's own web page is served from the same origin.

Limits as on AWS: messages over 128 KiB close the connection with 1009, binary frames
with 1003; idle connections (10 minutes) and old ones (2 hours) close with 1001; each
invocation has ``integration_timeout`` seconds (29). Each invocation runs on a thread of
its own (:mod:`lift.local.invocation`), so a slow handler never stalls other
connections; the messages of one connection are handled in order. Only local host
names, and only the gateway's own pages on its inspector and ``@connections`` endpoint,
are answered (:mod:`lift.local.guards`).

The rules are the API Gateway model's (:class:`lift.apigw.WebSocketApi`, built from
``ApiDefinition.from_app(app)`` as the test client and ``lift template`` build it); the
gateway and its sessions only perform what the model answers. Its connections are the
model's :class:`~lift.apigw.ConnectionTable`, which tells the gateway of each frame to
send and each ``DeleteConnection``.

The gateway points the app at itself: it sets ``LIFT_WS_MANAGEMENT_ENDPOINT`` (and
placeholder AWS settings, see :mod:`lift.local.environment`) and, unless
``direct_management=False``, gives the app the connection table itself as its
Management API (``app.management_api``) so that ``ctx.websocket.send`` needs no HTTP
round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterable
from os import PathLike
from pathlib import Path
from typing import Any, TextIO

from ..apigw import IDLE_TIMEOUT, MAX_LIFETIME, CloseCode, ConnectionTable, WebSocketApi
from ..apigw import close_reason as _close_reason
from ..apigw.definition import route_responses_of
from .address import LocalAddress
from .authorize import ConnectAuthorizer
from .environment import apply_local_environment, restore_environment
from .guards import allowed_hosts
from .inspector import Inspector, gateway_facts, preview
from .invocation import INTEGRATION_TIMEOUT, Invoker, WorkerPool
from .live import CloseRequest, LiveConnection, LocalLambdaContext
from .server import INSPECTOR_PATH, Server

__all__ = ["Gateway", "LocalLambdaContext", "run_dev"]

AppCallable = Callable[[dict[str, Any], Any], Any]


def _now_ms() -> int:
    return int(time.time() * 1000)


class Gateway(LocalAddress):
    """A local API Gateway WebSocket API in front of ``app`` (a Lambda handler callable).

    ``start()`` serves in a background thread and returns the bound port (``port=0``
    picks a free one); ``stop()`` closes every connection (each gets its
    ``$disconnect``) and the server. Usable as a context manager. ``serve_forever()``
    serves until Ctrl+C. :attr:`connections` (the model's table, thread-safe) is the
    registry of its ``@connections`` endpoint; ``post``/``info``/``delete`` reach it.
    """

    def __init__(
        self,
        app: AppCallable,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        stage: str = "local",
        idle_timeout: float = IDLE_TIMEOUT,
        max_lifetime: float = MAX_LIFETIME,
        workers: int = 1000,
        integration_timeout: float = INTEGRATION_TIMEOUT,
        head_timeout: float = 10.0,
        hosts: Iterable[str] = (),
        direct_management: bool = True,
        configure_env: bool = True,
        quiet: bool = False,
        stream: TextIO | None = None,
        log_size: int = 500,
        static_dir: str | PathLike[str] | None = None,
        route_responses: bool | None = None,
        authorizer: ConnectAuthorizer | None = None,
    ) -> None:
        if not stage or "/" in stage:
            raise ValueError("stage must be a non-empty name without '/'")
        if integration_timeout <= 0 or head_timeout <= 0 or workers < 1:
            raise ValueError("timeouts must be positive and workers at least 1")
        self.app = app
        self.host = host
        self.port = port
        self.stage = stage
        self.idle_timeout = idle_timeout
        self.max_lifetime = max_lifetime
        self.workers = workers
        """The most invocations running at once (Lambda's default concurrency limit)."""
        self.integration_timeout = integration_timeout
        """Seconds API Gateway waits for each invocation (29 on AWS)."""
        self.head_timeout = head_timeout
        """Seconds a client has to send a complete request head (and body)."""
        self.hosts = tuple(hosts)
        """Host names answered besides localhost, 127.0.0.1, [::1] and ``host``."""
        self.direct_management = direct_management
        self.configure_env = configure_env
        self.quiet = quiet
        self.stream = stream
        self._log_size = log_size
        self.static_dir = Path(static_dir).resolve() if static_dir is not None else None
        """Files served over plain GET (``/`` is ``index.html``); ``None``: no files."""
        route_responses_of(app, route_responses)  # refuses a disagreement here, not later
        self.route_responses = route_responses
        """Send a message handler's returned body to its client, as a route response
        does; ``None``: as the app's ``WebSocketOptions(route_responses=...)`` says (a
        value that disagrees with it is refused when the gateway starts)."""
        self.live: dict[str, LiveConnection] = {}
        self.inspector: Inspector | None = None
        self.invoker: Invoker | None = None
        self.closing = False
        self.connections = ConnectionTable(
            on_post=self._on_post,
            on_delete=self._on_delete,
            buffer=False,
            keep_history=False,
            record_calls=False,
        )
        """The API's connections (the model's table; frames go straight to the sockets)."""
        self.api: WebSocketApi | None = None
        """The API Gateway model the sessions drive (built when the gateway starts)."""
        self.authorizer = authorizer
        """The REQUEST authorizer run before ``$connect``, as API Gateway runs it."""
        self._allowed = allowed_hosts(host, self.hosts)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread_id: int | None = None
        self._thread: threading.Thread | None = None
        self._pool: WorkerPool | None = None
        self._server: Server | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._restore_env: dict[str, str | None] | None = None
        self._restore_attrs: list[tuple[Any, str, Any]] = []
        self._fanout_queue: Any = None

    # -- addresses -------------------------------------------------------------------
    @property
    def ws_url(self) -> str:
        """``ws://host:port/``: where WebSocket clients connect."""
        return f"ws://{self.authority}/"

    @property
    def inspector_url(self) -> str:
        """The inspector page."""
        return f"{self.url}{INSPECTOR_PATH}"

    @property
    def connection_ids(self) -> list[str]:
        """The ids of the open connections."""
        return [c.id for c in list(self.live.values()) if not c.closing]

    def allowed_hosts(self) -> Collection[str]:
        """The host names requests may address (any port; loopback addresses too)."""
        return self._allowed

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> int:
        """Bind and serve in a daemon thread; returns the bound port."""
        if self._thread is not None:
            return self.port
        ready = threading.Event()
        errors: list[BaseException] = []
        self.closing = False
        self._pool = WorkerPool(self.workers)
        self.invoker = Invoker(
            self.app, self._pool, timeout=self.integration_timeout, report=self.write
        )
        self._thread = threading.Thread(
            target=self._thread_main, args=(ready, errors), name="lift-gateway", daemon=True
        )
        self._thread.start()
        ready.wait()
        if errors:
            self._thread.join()
            self._thread = None
            self._release_pool()
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
        self._release_pool()
        self._detach()

    @property
    def pool(self) -> WorkerPool | None:
        """The worker threads invocations run on (``None`` when stopped)."""
        return self._pool

    def _release_pool(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        self.invoker = None

    def serve_forever(self, *, title: str | None = None) -> None:
        """Serve until Ctrl+C or SIGTERM, printing where everything is."""
        self.start()
        self.write(self.describe(title))
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
            self.write("Shutting down: closing connections...")
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
                *[f"  Authorizer    {a.name} on $connect" for a in [self.authorizer] if a],
                f"  App env       LIFT_WS_MANAGEMENT_ENDPOINT={self.endpoint}",
                "Press Ctrl+C to stop.",
            ]
        )

    def __enter__(self) -> Gateway:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
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
        server = Server(self)
        self.port = await server.start(self.host, self.port)
        self._server = server
        self._attach()
        self.inspector = Inspector(gateway_facts(self), log_size=self._log_size)
        interval = max(0.02, min(1.0, self.idle_timeout / 4, self.max_lifetime / 4))
        self._sweeper = asyncio.create_task(self._sweep(interval))

    async def _shutdown(self) -> None:
        self.closing = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        deadline = time.monotonic() + 10
        while self.live and time.monotonic() < deadline:
            live = list(self.live.values())
            for conn in live:
                self.close_connection(conn, CloseCode.GOING_AWAY)
            await asyncio.wait([c.finished for c in live], timeout=deadline - time.monotonic())
        if self.inspector is not None:
            self.inspector.close()
        await asyncio.sleep(0)
        if self._server is not None:
            await self._server.stop()
            self._server = None

    def _attach(self) -> None:
        """Point the app at this gateway (undone by :meth:`_detach`)."""
        if self.configure_env:
            self._restore_env = apply_local_environment(self.endpoint)
        self.api = WebSocketApi.for_app(
            self.app,
            route_responses=self.route_responses,
            connections=self.connections,
            idle_timeout=self.idle_timeout,
            max_lifetime=self.max_lifetime,
        )
        if self.direct_management and getattr(self.app, "management_api", False) is None:
            self._set_attr(self.app, "management_api", self.connections)
        from ..websocket.fanout_queue import MemoryFanoutQueue

        queue = MemoryFanoutQueue.attach(self.app, context=LocalLambdaContext)
        if queue is not None:  # the fan-out queue, delivered in process
            queue.on_send = lambda: self._submit(queue.drain)
            self._fanout_queue = queue

    def _submit(self, work: Callable[[], Any]) -> None:
        pool = self._pool
        if pool is not None and not self.closing:
            pool.submit(work)

    def _set_attr(self, target: Any, name: str, value: Any) -> None:
        self._restore_attrs.append((target, name, getattr(target, name)))
        setattr(target, name, value)

    def _detach(self) -> None:
        if self._fanout_queue is not None:
            self._fanout_queue.detach()
            self._fanout_queue = None
        while self._restore_attrs:
            target, name, value = self._restore_attrs.pop()
            setattr(target, name, value)
        if self._restore_env is not None:
            restore_environment(self._restore_env)
            self._restore_env = None

    # -- the ConnectionRegistry of @connections (thread-safe) ------------------------
    def post(self, connection_id: str, data: bytes) -> bool:
        """Send ``data`` to the client (a text frame when UTF-8, else binary)."""
        return self.connections.post(connection_id, data)

    def info(self, connection_id: str) -> dict[str, Any] | None:
        """``GetConnection`` facts of an open connection."""
        return self.connections.info(connection_id)

    def delete(self, connection_id: str) -> bool:
        """Close the connection with 1000, after the messages already posted to it."""
        return self.connections.delete(connection_id)

    def _on_post(self, connection_id: str, data: bytes) -> None:
        conn = self.live.get(connection_id)
        if conn is None or conn.closing:
            return
        frame: str | bytes
        try:
            frame = data.decode("utf-8")
        except UnicodeDecodeError:
            frame = data
        self._in_loop(self._deliver, conn, frame, len(data))

    def _on_delete(self, connection_id: str) -> None:
        conn = self.live.get(connection_id)
        if conn is not None:
            self._in_loop(self.close_connection, conn, CloseCode.NORMAL)

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

    # -- for the sessions (loop thread) ------------------------------------------------
    def _deliver(self, conn: LiveConnection, frame: str | bytes, size: int) -> None:
        conn.outbox.put_nowait(frame)
        self.write_event("OUT", conn.id, f"{size} B")
        self.record("out", conn.id, data=preview(frame), size=size)

    def close_connection(self, conn: LiveConnection, code: int, reason: str = "") -> None:
        """Close ``conn`` with ``code`` (and API Gateway's reason for it unless given)
        after what is already queued for it."""
        if conn.close_code is not None:
            return
        conn.closing = True
        conn.close_code = int(code)
        conn.close_reason = _close_reason(code, reason)
        conn.outbox.put_nowait(CloseRequest(conn.close_code, conn.close_reason))

    def record(self, kind: str, connection_id: str, **fields: Any) -> None:
        """Add an entry to the inspector's log."""
        if self.inspector is not None:
            self.inspector.record({"at": _now_ms(), "kind": kind, "id": connection_id, **fields})

    def write(self, text: str) -> None:
        """Print a line to the terminal (unless ``quiet``)."""
        if self.quiet:
            return
        stream = self.stream or sys.stdout
        try:
            stream.write(text + "\n")
            stream.flush()
        except (OSError, ValueError):  # a closed or broken stream never stops the gateway
            pass

    def write_event(self, kind: str, connection_id: str, detail: str) -> None:
        """Print one event line."""
        if self.quiet:
            return
        now = time.time()
        stamp = time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now * 1000) % 1000:03d}"
        self.write(f"{stamp}  {kind:<10}  {connection_id}  {detail}")

    async def _sweep(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            if self.api is None:
                continue
            for connection_id, step in self.api.expired():
                conn = self.live.get(connection_id)
                if conn is not None:
                    self.close_connection(conn, step.code, step.reason)


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
