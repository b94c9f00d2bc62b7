"""Invoking the app as Lambda would: on its own thread, within the integration timeout.

Each invocation runs on a worker thread of its own, so a slow handler never holds up
another one, as each Lambda invocation has its own instance: threads are reused, a
core of them is started as needed, and threads busy for more than
:data:`STALL_SECONDS` do not count towards it: while invocations wait, new threads are
started so that a full core is free of slow handlers (up to ``max_threads``). Fast
handlers thus share a few threads, even on a busy machine; slow ones get their own.

API Gateway waits at most ``timeout`` seconds (29 by default) for an answer; past
that the caller gets a timed-out :class:`Invocation` and the thread is abandoned
(Python cannot stop it; it finishes in the background and its result is dropped).
Worker threads are daemons, so a handler that never returns cannot keep the process
alive.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from ..apigw.limits import INTEGRATION_TIMEOUT
from .live import LocalLambdaContext

__all__ = ["INTEGRATION_TIMEOUT", "STALL_SECONDS", "Invocation", "Invoker", "WorkerPool"]

STALL_SECONDS = 0.1
"""A job running longer than this is slow: its thread no longer counts as available."""

_IDLE_SECONDS = 30.0  # an idle worker thread exits after this long

AppCallable = Callable[[dict[str, Any], Any], Any]
_Job = tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]


class WorkerPool:
    """Daemon worker threads, reused: up to ``core`` started on demand, more (up to
    ``max_threads``) when :meth:`unstall` finds a job waiting while slow jobs hold threads.

    Unlike :class:`concurrent.futures.ThreadPoolExecutor`, its threads are daemons (a
    stuck handler never blocks interpreter exit), it grows past its core when jobs
    wait, and idle threads retire.
    """

    def __init__(self, max_threads: int, *, core: int = 64, name: str = "lift-dev") -> None:
        if max_threads < 1:
            raise ValueError("max_threads must be at least 1")
        self.max_threads = max_threads
        self.core = min(core, max_threads)
        self._name = name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._lock = threading.Lock()
        self._threads = 0
        self._closed = False
        self._running: dict[int, float] = {}  # thread id -> when its job started

    @property
    def threads(self) -> int:
        """Worker threads alive (busy, idle or abandoned)."""
        return self._threads

    def submit(self, func: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run ``func(*args)`` on a worker thread."""
        future: Future[Any] = Future()
        if self._closed:
            future.set_exception(RuntimeError("the worker pool is closed"))
            return future
        self._jobs.put((future, func, args))
        if not self._idle.acquire(blocking=False):
            self._spawn(self.core)
        return future

    def unstall(self, future: Future[Any]) -> bool:
        """Whether ``future``'s job is still waiting for a thread; if so, start threads
        until ``core`` of them are not held by slow jobs."""
        if future.running() or future.done():
            return False
        now = time.monotonic()
        slow = sum(1 for began in list(self._running.values()) if now - began >= STALL_SECONDS)
        for _ in range(self.core - (self._threads - slow)):
            if not self._spawn(self.max_threads):
                break
        return True

    def _spawn(self, limit: int) -> bool:
        with self._lock:
            if self._closed or self._threads >= limit:
                return False
            self._threads += 1
            number = self._threads
        thread = threading.Thread(target=self._work, name=f"{self._name}-{number}", daemon=True)
        thread.start()
        return True

    def close(self) -> None:
        """Cancel queued jobs and let idle threads exit (running ones finish on their own)."""
        self._closed = True
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job[0].cancel()
        with self._lock:
            for _ in range(self._threads):
                self._jobs.put(None)

    def _work(self) -> None:
        me = threading.get_ident()
        try:
            while True:
                try:
                    job = self._jobs.get(timeout=_IDLE_SECONDS)
                except queue.Empty:
                    if self._idle.acquire(blocking=False):  # no job is counting on us
                        return
                    continue
                if job is None:
                    return
                future, func, args = job
                if future.set_running_or_notify_cancel():
                    self._running[me] = time.monotonic()
                    try:
                        result = func(*args)
                    except BaseException as exc:  # noqa: BLE001 - handed to the waiter
                        future.set_exception(exc)
                    else:
                        future.set_result(result)
                    finally:
                        self._running.pop(me, None)
                    del future, job
                self._idle.release()
        finally:
            with self._lock:
                self._threads -= 1


@dataclass(frozen=True, slots=True)
class Invocation:
    """How one invocation went: its result (``None`` unless ``ok``) and duration."""

    result: Any
    elapsed_ms: float
    raised: bool = False
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        """The app returned within the deadline."""
        return not (self.raised or self.timed_out)


class Invoker:
    """Calls the app with a Lambda context, each call bounded by ``timeout`` seconds."""

    def __init__(
        self,
        app: AppCallable,
        pool: WorkerPool,
        *,
        timeout: float = INTEGRATION_TIMEOUT,
        report: Callable[[str], None] = lambda text: None,
    ) -> None:
        self.app = app
        self.pool = pool
        self.timeout = timeout
        self._report = report

    async def invoke(
        self,
        event: dict[str, Any] | Callable[[], dict[str, Any]],
        then: Callable[[Any], Any] | None = None,
        *,
        route: str = "",
    ) -> tuple[Invocation, Any]:
        """Run the app on ``event`` (or on what ``event()`` builds, on the worker thread);
        with ``then``, also ``then(result)`` on the same thread after a successful call
        (its value is the second item, else ``None``). ``route`` names it in reports."""
        start = time.perf_counter()
        deadline = time.monotonic() + self.timeout
        future = self.pool.submit(self._call, event, deadline, then)
        loop = asyncio.get_running_loop()
        watch: list[asyncio.TimerHandle] = []

        def check() -> None:
            if self.pool.unstall(future):
                watch[0] = loop.call_later(STALL_SECONDS, check)

        watch.append(loop.call_later(STALL_SECONDS, check))
        try:
            outcome, extra = await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except asyncio.TimeoutError:
            future.cancel()  # never started: it never will
            elapsed = (time.perf_counter() - start) * 1000
            route = route or _route_of(event)
            self._report(f"The app timed out on {route} after {self.timeout:g} s")
            return Invocation(None, elapsed, timed_out=True), None
        except RuntimeError:  # the pool is closed: the gateway is stopping
            return Invocation(None, (time.perf_counter() - start) * 1000, raised=True), None
        finally:
            watch[0].cancel()
        return outcome, extra

    def _call(
        self,
        event: dict[str, Any] | Callable[[], dict[str, Any]],
        deadline: float,
        then: Callable[[Any], Any] | None,
    ) -> tuple[Invocation, Any]:
        if callable(event):
            event = event()
        start = time.perf_counter()
        try:
            result = self.app(event, LocalLambdaContext(deadline))
        except Exception:  # noqa: BLE001 - the invocation failed, as a Lambda error would
            elapsed = (time.perf_counter() - start) * 1000
            route = _route_of(event)
            self._report(f"The app raised on {route}:\n{traceback.format_exc().rstrip()}")
            return Invocation(None, elapsed, raised=True), None
        elapsed = (time.perf_counter() - start) * 1000
        extra = None
        if then is not None:
            try:
                extra = then(result)
            except Exception:  # noqa: BLE001 - best effort, as documented by the caller
                extra = None
        return Invocation(result, elapsed), extra


def _route_of(event: Any) -> str:
    context = event.get("requestContext") if isinstance(event, dict) else None
    return str(context.get("routeKey")) if isinstance(context, dict) else "?"
