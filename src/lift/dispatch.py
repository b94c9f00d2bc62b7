"""Run handlers (``def`` or ``async def``) and map their results and errors to a Response.

Middleware chains are composed here, once per route. A chain that mixes ``def`` and
``async def`` layers is joined with adapters at composition time, so a sync handler under
sync middleware runs exactly as written, with nothing added per event. Coroutines are
awaited on one event loop kept for the process, running in its own daemon thread
(started on the first ``async def`` call), so a client or pool an async handler keeps in
a global stays bound to the same loop across invocations.
"""

from __future__ import annotations

import _thread
import functools
from collections.abc import Coroutine, Sequence

from .errors import LiftError, internal_error
from .response import Response, error_response, to_response

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    import asyncio
    import threading
    from typing import Any

    from .context import Context
    from .types import Handler, Middleware

__all__ = [
    "compose",
    "event_loop",
    "failure_response",
    "is_async",
    "merge_headers",
    "result_response",
    "run_coroutine",
    "run_handler",
    "to_async",
    "to_sync",
]

_CO_COROUTINE = 0x0080  # inspect.CO_COROUTINE, without importing inspect


# -- results and failures -----------------------------------------------------------------
def run_handler(handler: Handler, ctx: Context) -> Response:
    """Call ``handler`` and turn its result, or the error it raised, into a Response."""
    try:
        response = result_response(handler(ctx), ctx)
    except Exception as exc:  # noqa: BLE001 - mapped to the one error shape
        response = failure_response(exc, ctx)
    if ctx.response_headers:
        merge_headers(response, ctx.response_headers)
    return response


def result_response(result: Any, ctx: Context) -> Response:
    """The Response for a handler's ``result`` (an awaitable is awaited first).

    Raises what encoding raises (``ValueError`` for NaN or Infinity, ``TypeError``,
    ``RecursionError``); callers turn that into :func:`failure_response`.
    """
    if _is_awaitable(result):
        result = run_coroutine(_awaited(result))
    return to_response(result, ctx.response)


def failure_response(exc: Exception, ctx: Context) -> Response:
    """The response for an exception: a LiftError's own, else a logged, generic 500."""
    if isinstance(exc, LiftError):
        try:
            return error_response(exc)
        except (ValueError, TypeError, RecursionError) as encoding_error:
            exc = encoding_error  # details that cannot be JSON: a generic 500, logged
    import traceback  # only on failures: importing it costs milliseconds of cold start

    ctx.logger.error(
        "Unhandled error",
        route=ctx.request.route_key or ctx.request.path,
        method=ctx.request.method,
        exception_type=type(exc).__name__,
        traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    )
    return error_response(internal_error())


def merge_headers(response: Response, headers: dict[str, str]) -> None:
    """Add ``headers`` the handler set through the context, unless the response has them."""
    for name, value in headers.items():
        response.headers.setdefault(name, value)


_PLAIN = frozenset({type(None), dict, list, str, bytes, Response})


def _is_awaitable(value: Any) -> bool:
    return type(value) not in _PLAIN and hasattr(value, "__await__")


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


# -- sync and async ------------------------------------------------------------------------
def is_async(func: Any) -> bool:
    """Whether calling ``func`` returns a coroutine (an ``async def``, a partial of one, an
    object whose ``__call__`` is one, or a function marked by ``markcoroutinefunction``)."""
    while isinstance(func, functools.partial):
        func = func.func
    if getattr(func, "_is_coroutine_marker", None) is not None:
        return True
    code = getattr(func, "__code__", None)
    if code is None:
        method = getattr(func, "__func__", None)  # a bound method
        code = getattr(method, "__code__", None)
    if code is None and not isinstance(func, type):
        call = getattr(type(func), "__call__", None)  # noqa: B004
        code = getattr(call, "__code__", None)
    return code is not None and bool(code.co_flags & _CO_COROUTINE)


def to_sync(handler: Handler) -> Handler:
    """A ``def`` handler that runs the ``async def`` ``handler`` on the process loop."""

    @functools.wraps(handler)
    def run_sync(ctx: Context) -> Any:
        return run_coroutine(handler(ctx))

    return run_sync


def to_async(handler: Handler, *, in_thread: bool = False) -> Handler:
    """An ``async def`` handler that calls the ``def`` ``handler``.

    With ``in_thread`` the call happens in a worker thread, so the sync code may itself
    wait for coroutines on the loop (a sync middleware between async ones).
    """
    if in_thread:

        @functools.wraps(handler)
        async def threaded(ctx: Context) -> Any:
            import asyncio
            import contextvars

            call = functools.partial(contextvars.copy_context().run, handler, ctx)
            return await asyncio.get_running_loop().run_in_executor(None, call)

        return threaded

    @functools.wraps(handler)
    async def inline(ctx: Context) -> Any:
        return handler(ctx)

    return inline


def compose(handler: Handler, middleware: Sequence[Middleware]) -> Handler:
    """Wrap ``handler`` in ``middleware`` (the first is the outermost) and return a ``def``.

    Each layer gets an inner handler of its own kind: a ``def`` middleware over an
    ``async def`` handler is given a sync adapter (so it sees results, not coroutines),
    and the reverse. A layer's kind is seen from the handler it returns, so a layer
    whose kind differs from its inner handler's is called once more, with the adapted
    handler. Only mixed chains get adapters; an all-sync chain is unchanged. A ``def``
    layer between ``async def`` ones runs in a worker thread, so it may wait for the
    coroutines inside it.
    """
    inner = handler
    inner_async = is_async(inner)
    has_async = inner_async
    for layer in reversed(middleware):
        wrapped = layer(inner)
        wrapped_async = is_async(wrapped)
        if wrapped_async != inner_async:
            adapted = to_async(inner, in_thread=has_async) if wrapped_async else to_sync(inner)
            wrapped = layer(adapted)
            wrapped_async = is_async(wrapped)
        inner, inner_async = wrapped, wrapped_async
        has_async = has_async or wrapped_async
    return to_sync(inner) if inner_async else inner


# -- the process event loop ------------------------------------------------------------------
_loop: asyncio.AbstractEventLoop | None = None
_loop_thread: threading.Thread | None = None
_loop_lock = _thread.allocate_lock()  # threading itself is imported by the first async handler


def event_loop() -> asyncio.AbstractEventLoop:
    """The event loop ``async def`` handlers run on: one per process, started once."""
    global _loop, _loop_thread
    loop = _loop
    if loop is not None and _loop_thread is not None and _loop_thread.is_alive():
        return loop
    with _loop_lock:
        if _loop is None or _loop_thread is None or not _loop_thread.is_alive():
            import asyncio
            import threading

            new_loop = asyncio.new_event_loop()
            ready = threading.Event()

            def serve() -> None:
                asyncio.set_event_loop(new_loop)
                new_loop.call_soon(ready.set)
                new_loop.run_forever()

            thread = threading.Thread(target=serve, name="lift-event-loop", daemon=True)
            thread.start()
            ready.wait()
            _loop, _loop_thread = new_loop, thread
        return _loop


def run_coroutine(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coroutine`` on the process loop and wait for its result (or exception).

    The coroutine sees the caller's context variables. Calling this from the loop's own
    thread would wait forever, so it raises ``RuntimeError`` instead.
    """
    import asyncio
    import threading

    loop = event_loop()
    if threading.current_thread() is _loop_thread:
        coroutine.close()
        raise RuntimeError(
            "A sync function called from an async handler waited for a coroutine; await it instead"
        )
    # call_soon_threadsafe copies the caller's context into the task it starts
    stopped, value = asyncio.run_coroutine_threadsafe(_contained(coroutine), loop).result()
    if stopped:
        raise value
    return value


async def _contained(coroutine: Coroutine[Any, Any, Any]) -> tuple[bool, Any]:
    """Await ``coroutine``; a ``SystemExit`` or ``KeyboardInterrupt`` it raises is handed
    back to the waiting thread instead of stopping the loop every invocation shares."""
    try:
        return False, await coroutine
    except (SystemExit, KeyboardInterrupt) as exc:
        return True, exc
