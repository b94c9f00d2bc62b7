"""``async def`` handlers and middleware: awaited on one loop kept for the process."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import io
import json
import subprocess
import sys
import threading
from typing import Any

import pytest

from lift import App, Context, LiftError, Response
from lift.dispatch import is_async
from lift.middleware import recovery, request_logging
from lift.observability import JSONLogger, MemoryMetrics
from lift.testing import events
from lift.types import Handler
from lift.websocket import MemoryConnectionStore, WebSocketOptions
from tests.paths import source_env


def make_app(**options: Any) -> tuple[App, io.StringIO]:
    stream = io.StringIO()
    return App(logger=JSONLogger(stream=stream), metrics=MemoryMetrics(), **options), stream


def message(route_key: str = "x", body: Any = None) -> dict[str, Any]:
    return events.websocket_message(body or {"action": route_key}, route_key=route_key)


def test_async_websocket_handler_result_is_sent_as_json() -> None:
    app, _ = make_app()

    @app.websocket("x")
    async def handler(ctx: Context) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"echo": ctx.json()["action"]}

    result = app(message())
    assert result["statusCode"] == 200
    assert json.loads(result["body"]) == {"echo": "x"}


def test_async_http_handler_and_its_errors() -> None:
    app, logs = make_app()

    @app.get("/items/{id}")
    async def get_item(ctx: Context) -> dict[str, Any]:
        if ctx.param("id") == "missing":
            raise LiftError(404, "NOT_FOUND", "No such item")
        if ctx.param("id") == "boom":
            raise RuntimeError("secret internal text")
        return {"id": ctx.param("id")}

    ok = app(events.http_v1("GET", "/items/7"))
    assert (ok["statusCode"], json.loads(ok["body"])) == (200, {"id": "7"})
    missing = app(events.http_v2("GET", "/items/missing"))
    assert missing["statusCode"] == 404
    assert json.loads(missing["body"])["error"]["code"] == "NOT_FOUND"
    boom = app(events.http_v1("GET", "/items/boom"))
    assert boom["statusCode"] == 500
    assert "secret" not in boom["body"]
    assert "RuntimeError" in logs.getvalue()


def test_one_loop_for_every_invocation() -> None:
    app, _ = make_app()
    loops: list[asyncio.AbstractEventLoop] = []
    threads: list[int] = []

    @app.websocket("x")
    async def handler(ctx: Context) -> None:
        loops.append(asyncio.get_running_loop())
        threads.append(threading.get_ident())

    for _ in range(3):
        assert app(message())["statusCode"] == 200
    other, _ = make_app()
    other.websocket("x", handler)
    other(message())
    assert len({id(loop) for loop in loops}) == 1
    assert not loops[0].is_closed()
    assert len(set(threads)) == 1


def _sync_recorder(seen: list[Any], name: str) -> Any:
    def middleware(handler: Handler) -> Handler:
        def wrapped(ctx: Context) -> Any:
            seen.append((name, "before"))
            result = handler(ctx)
            seen.append((name, type(result).__name__))
            return result

        return wrapped

    return middleware


def _async_recorder(seen: list[Any], name: str) -> Any:
    def middleware(handler: Handler) -> Handler:
        async def wrapped(ctx: Context) -> Any:
            seen.append((name, "before"))
            result = await handler(ctx)
            seen.append((name, type(result).__name__))
            return result

        return wrapped

    return middleware


@pytest.mark.parametrize("handler_kind", ["sync", "async"])
@pytest.mark.parametrize(
    "layers",
    [
        ("sync",),
        ("async",),
        ("sync", "async"),
        ("async", "sync"),
        ("async", "sync", "async"),
        ("sync", "async", "sync"),
    ],
)
def test_sync_and_async_middleware_mix(layers: tuple[str, ...], handler_kind: str) -> None:
    app, _ = make_app()
    seen: list[Any] = []
    for index, kind in enumerate(layers):
        build = _sync_recorder if kind == "sync" else _async_recorder
        app.use(build(seen, f"{kind}{index}"))

    if handler_kind == "async":

        async def handler(ctx: Context) -> dict[str, Any]:
            await asyncio.sleep(0)
            return {"ok": True}

    else:

        def handler(ctx: Context) -> dict[str, Any]:
            return {"ok": True}

    app.websocket("x", handler)
    result = app(message())
    assert json.loads(result["body"]) == {"ok": True}
    names = [f"{kind}{index}" for index, kind in enumerate(layers)]
    # outermost first on the way in, innermost first on the way out; every layer saw a dict
    assert seen == [(n, "before") for n in names] + [(n, "dict") for n in reversed(names)]


def test_async_middleware_can_refuse_and_set_identity() -> None:
    app, _ = make_app()

    def guard(handler: Handler) -> Handler:
        async def guarded(ctx: Context) -> Any:
            if ctx.query("token") != "ok":
                raise LiftError(401, "UNAUTHORIZED", "No")
            ctx.set_identity(user_id="ana")
            return await handler(ctx)

        return guarded

    app.use(guard)

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        assert ctx.user_id == "ana"

    assert app(events.websocket_connect(query={"token": "no"}))["statusCode"] == 401
    assert app(events.websocket_connect(query={"token": "ok"}))["statusCode"] == 200


def test_async_connect_with_connection_tracking() -> None:
    store = MemoryConnectionStore()
    app, _ = make_app(websocket=WebSocketOptions(auto_connections=True, store=store))

    @app.websocket("$connect")
    async def connect(ctx: Context) -> Response | None:
        await asyncio.sleep(0)
        if ctx.query("user") is None:
            return Response.json({"error": "who?"}, 403)
        ctx.set_identity(user_id=ctx.query("user"))
        return None

    refused = events.websocket_connect()
    assert app(refused)["statusCode"] == 403
    assert store.get(refused["requestContext"]["connectionId"]) is None
    accepted = events.websocket_connect(query={"user": "bo"})
    assert app(accepted)["statusCode"] == 200
    record = store.get(accepted["requestContext"]["connectionId"])
    assert record is not None and record.user_id == "bo"


def test_async_handlers_with_builtin_middleware() -> None:
    app, logs = make_app()
    app.use(request_logging())
    app.use(recovery())

    @app.websocket("x")
    async def handler(ctx: Context) -> None:
        raise LiftError(409, "CONFLICT", "Taken")

    assert app(message())["statusCode"] == 409
    line = json.loads(logs.getvalue().splitlines()[-1])
    assert line["message"] == "Request completed" and line["status"] == 409


def test_async_event_handlers_return_their_result() -> None:
    app, _ = make_app()

    @app.sqs("orders")
    async def orders(ctx: Context) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"batchItemFailures": []}

    assert app(events.sqs("a", queue="orders")) == {"batchItemFailures": []}


def test_an_awaitable_returned_by_a_sync_callable_is_awaited() -> None:
    app, _ = make_app()

    async def work(ctx: Context, value: int) -> dict[str, int]:
        return {"value": value}

    app.websocket("x", lambda ctx: work(ctx, 1))
    app.websocket("y", functools.partial(work, value=2))
    assert json.loads(app(message("x"))["body"]) == {"value": 1}
    assert json.loads(app(message("y"))["body"]) == {"value": 2}


def test_concurrent_invocations_share_the_loop_and_see_their_context() -> None:
    app, _ = make_app()
    request: contextvars.ContextVar[str] = contextvars.ContextVar("request", default="")
    both_waiting = threading.Barrier(2, timeout=10)
    loops: set[int] = set()

    @app.websocket("x")
    async def handler(ctx: Context) -> dict[str, Any]:
        loops.add(id(asyncio.get_running_loop()))
        await asyncio.get_running_loop().run_in_executor(None, both_waiting.wait)
        return {"mine": ctx.json()["n"], "var": request.get()}

    results: dict[int, Any] = {}

    def invoke(n: int) -> None:
        request.set(f"thread-{n}")
        results[n] = json.loads(app(message(body={"action": "x", "n": n}))["body"])

    workers = [threading.Thread(target=invoke, args=(n,)) for n in (1, 2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(10)
    assert results == {1: {"mine": 1, "var": "thread-1"}, 2: {"mine": 2, "var": "thread-2"}}
    assert len(loops) == 1


def test_is_async_recognises_the_forms_of_a_coroutine_function() -> None:
    async def coroutine_function(ctx: Context) -> None: ...

    class AsyncCallable:
        async def __call__(self, ctx: Context) -> None: ...

    class Methods:
        async def handle(self, ctx: Context) -> None: ...

        def sync(self, ctx: Context) -> None: ...

    assert is_async(coroutine_function)
    assert is_async(functools.partial(coroutine_function))
    assert is_async(AsyncCallable())
    assert is_async(Methods().handle)
    assert not is_async(Methods().sync)
    assert not is_async(lambda ctx: None)
    assert not is_async(AsyncCallable)


def test_sync_apps_start_no_loop_and_keep_their_handler() -> None:
    code = (
        "import sys, threading\n"
        "from lift import App\n"
        "from lift.testing import events\n"
        "app = App()\n"
        "def on_message(ctx): return None\n"
        "app.websocket('$default', on_message)\n"
        "assert app(events.websocket_message('hi'))['statusCode'] == 200\n"
        "assert app.websocket_routes['$default'].compiled is on_message\n"
        "assert 'asyncio' not in sys.modules, 'asyncio imported'\n"
        "assert [t.name for t in threading.enumerate()] == ['MainThread']\n"
    )
    env = source_env()
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)


def test_system_exit_in_an_async_handler_leaves_the_loop_running() -> None:
    app, _ = make_app()

    @app.websocket("x")
    async def stop(ctx: Context) -> None:
        raise SystemExit(3)

    @app.websocket("y")
    async def fine(ctx: Context) -> dict[str, bool]:
        return {"ok": True}

    with pytest.raises(SystemExit):
        app(message("x"))
    assert json.loads(app(message("y"))["body"]) == {"ok": True}


def test_async_authorizer_handlers_answer_in_the_authorizer_shape() -> None:
    from lift.authorizers import allow, deny

    app, _ = make_app()

    @app.authorizer()
    async def authorize(ctx: Context) -> Any:
        await asyncio.sleep(0)
        token = ctx.request.authorizer.token
        if token == "expired":
            raise LiftError(401, "UNAUTHORIZED", "Expired")
        if token == "banned":
            raise LiftError(403, "FORBIDDEN", "Banned")
        return allow("alice") if token == "good" else deny()

    def effect(token: str) -> str:
        answer = app(events.authorizer_token(token, method="GET", path="/items"))
        return str(answer["policyDocument"]["Statement"][0]["Effect"])

    assert effect("good") == "Allow"
    assert effect("bad") == "Deny"
    assert effect("banned") == "Deny"
    with pytest.raises(Exception, match="Unauthorized"):
        effect("expired")
