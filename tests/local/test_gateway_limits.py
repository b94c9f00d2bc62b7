"""The local gateway's limits: broken or slow clients cost nothing, no message or answer
can break a connection, and every invocation has API Gateway's deadline.

Everything goes through real sockets: raw ones for what no well-behaved client sends,
`websockets` clients for the rest.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from websockets.asyncio.client import connect as async_connect
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from lift import App
from lift.local.gateway import Gateway
from lift.local.invocation import STALL_SECONDS, WorkerPool
from tests.local import test_gateway as base
from tests.local.test_gateway import make_app, receive_json
from tests.local.test_gateway_security import MAX, http, upgrade_headers
from tests.local_support import Recorder

recorder = base.recorder  # the fixtures of the gateway's main tests
start = base.start
gateway = base.gateway


# -- the handshake -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "broken",
    [
        {"Sec-WebSocket-Key": "not a key"},
        {"Sec-WebSocket-Version": "8"},
        {"Connection": "keep-alive"},
    ],
    ids=["key", "version", "connection"],
)
def test_a_broken_upgrade_leaves_no_record(
    gateway: Gateway, recorder: Recorder, broken: dict[str, str]
) -> None:
    status, _ = http(gateway, "GET", "/", upgrade_headers(**broken))
    assert status == (426 if "Sec-WebSocket-Version" in broken else 400)
    time.sleep(0.2)
    assert len(recorder.of("$connect")) == len(recorder.of("$disconnect"))
    store = gateway.app.websocket_options.store  # type: ignore[attr-defined]
    assert store.count_active() == 0
    assert gateway.connection_ids == []


def test_a_client_gone_during_connect_still_gets_its_disconnect(
    start: Callable[..., Gateway], recorder: Recorder
) -> None:
    app = make_app(recorder)
    store = app.websocket_options.store
    gateway = start(app)
    sock = socket.create_connection(("127.0.0.1", gateway.port), timeout=5)
    head = "".join(f"{k}: {v}\r\n" for k, v in upgrade_headers().items())
    sock.sendall(f"GET /?sleep=0.5 HTTP/1.1\r\nHost: localhost\r\n{head}\r\n".encode())
    connect_event = recorder.wait("$connect")[0]
    sock.close()  # while $connect still runs; it saves a record, then succeeds
    event = recorder.wait("$disconnect")[0]
    connection_id = connect_event["requestContext"]["connectionId"]
    assert event["requestContext"]["connectionId"] == connection_id
    assert event["requestContext"]["disconnectStatusCode"] == 1006
    deadline = time.monotonic() + 5
    assert store is not None
    while store.count_active() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert store.count_active() == 0
    assert gateway.connection_ids == []


# -- messages that must not break a connection ---------------------------------------------
def test_deeply_nested_json_goes_to_default(gateway: Gateway) -> None:
    nested = "[" * 100_000
    with connect(gateway.ws_url) as ws:
        ws.send(nested)
        answer = receive_json(ws)
        assert answer["route"] == "$default" and answer["body"] == nested
        ws.send(json.dumps({"action": "chat", "text": "still open"}))
        assert receive_json(ws) == {"route": "chat", "text": "still open"}


def raw_app(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A Lambda handler without Lift, returning route responses as given."""
    route = event["requestContext"]["routeKey"]
    if route in ("$connect", "$disconnect"):
        return {"statusCode": 200}
    action = json.loads(event["body"]).get("action")
    if action == "bad64":
        return {"statusCode": 200, "body": "not base64!", "isBase64Encoded": True}
    if action == "big":
        return {"statusCode": 200, "body": "x" * (MAX + 1)}
    if action == "big64":
        return {
            "statusCode": 200,
            "body": base64.b64encode(b"x" * (MAX + 1)).decode(),
            "isBase64Encoded": True,
        }
    if action == "object":
        return {"statusCode": 200, "body": {"not": "a string"}}
    if action == "max":
        return {"statusCode": 200, "body": "y" * MAX}
    return {"statusCode": 200, "body": "ok"}


@pytest.mark.parametrize("action", ["bad64", "big", "big64", "object"])
def test_a_bad_route_response_answers_internal_error_and_keeps_the_connection(
    start: Callable[..., Gateway], action: str
) -> None:
    gateway = start(raw_app)
    with connect(gateway.ws_url, max_size=4 * MAX) as ws:
        ws.send(json.dumps({"action": action}))
        answer = receive_json(ws)
        assert answer["message"] == "Internal server error"
        assert set(answer) == {"message", "connectionId", "requestId"}
        ws.send(json.dumps({"action": "max"}))
        assert ws.recv(timeout=5) == "y" * MAX  # exactly 128 KiB is allowed
        ws.send(json.dumps({"action": "fine"}))
        assert ws.recv(timeout=5) == "ok"


# -- the integration timeout and isolation ---------------------------------------------------
def slow_app(recorder: Recorder) -> App:
    app = make_app(recorder)

    @app.websocket("remaining")
    def remaining(ctx: Any) -> None:
        ctx.websocket.send({"ms": ctx.lambda_context.get_remaining_time_in_millis()})

    return app


def test_a_message_past_the_integration_timeout_gets_an_error_frame(
    start: Callable[..., Gateway], recorder: Recorder
) -> None:
    gateway = start(slow_app(recorder), integration_timeout=0.5)
    with connect(gateway.ws_url) as ws:
        started = time.monotonic()
        ws.send(json.dumps({"action": "slow", "seconds": 2}))
        answer = receive_json(ws)
        assert 0.4 < time.monotonic() - started < 1.5
        assert answer["message"] == "Endpoint request timed out"
        assert set(answer) == {"message", "connectionId", "requestId"}
        ws.send(json.dumps({"action": "chat", "text": "next"}))  # the slow one still runs
        assert receive_json(ws) == {"route": "chat", "text": "next"}
        ws.send(json.dumps({"action": "remaining"}))
        assert 0 < receive_json(ws)["ms"] <= 500


def test_a_connect_past_the_integration_timeout_is_refused_with_504(
    start: Callable[..., Gateway], recorder: Recorder
) -> None:
    gateway = start(make_app(recorder), integration_timeout=0.5)
    with pytest.raises(InvalidStatus) as refused:
        connect(gateway.ws_url + "?sleep=2")
    assert refused.value.response.status_code == 504
    with connect(gateway.ws_url) as ws:
        ws.send("fine")
        assert receive_json(ws)["body"] == "fine"


def test_many_slow_handlers_never_stall_a_new_client(gateway: Gateway, recorder: Recorder) -> None:
    async def scenario() -> float:
        busy = [await async_connect(gateway.ws_url) for _ in range(80)]
        try:
            for ws in busy:
                await ws.send(json.dumps({"action": "slow", "seconds": 4}))
            await asyncio.to_thread(recorder.wait, "slow", 64)
            started = time.monotonic()
            async with async_connect(gateway.ws_url) as fresh:
                await fresh.send(json.dumps({"action": "chat", "text": "quick"}))
                answer = json.loads(await asyncio.wait_for(fresh.recv(), 10))
                assert answer == {"route": "chat", "text": "quick"}
            elapsed = time.monotonic() - started
            await asyncio.to_thread(recorder.wait, "slow", 80, 1.0)  # all at once
            return elapsed
        finally:
            for ws in busy:
                await ws.close()

    assert asyncio.run(scenario()) < 1.0


def test_the_worker_pool_grows_only_past_slow_jobs() -> None:
    pool = WorkerPool(4, core=2)
    release = threading.Event()
    quick = [pool.submit(time.sleep, 0.01) for _ in range(50)]
    assert all(f.result(timeout=5) is None for f in quick)
    assert pool.threads <= 2  # fast jobs share the core
    try:
        slow = [pool.submit(release.wait, 5) for _ in range(2)]
        waiting = pool.submit(release.wait, 5)
        while not all(f.running() for f in slow):
            time.sleep(0.001)
        assert not waiting.running()
        assert pool.unstall(waiting)  # the core is busy, but not for long yet
        assert pool.threads == 2
        time.sleep(STALL_SECONDS)
        assert pool.unstall(waiting)  # the core is held by slow jobs: two more threads
        time.sleep(0.1)
        assert waiting.running() and pool.threads == 4
        assert not pool.unstall(waiting)
        last, extra = pool.submit(release.wait, 5), pool.submit(release.wait, 5)
        time.sleep(STALL_SECONDS)
        pool.unstall(extra)  # the limit is 4 threads
        time.sleep(0.1)
        assert pool.threads == 4 and last.running() and not extra.running()
        pool.close()
        assert extra.cancelled()
    finally:
        release.set()
    assert waiting.result(timeout=5) and last.result(timeout=5)
    deadline = time.monotonic() + 5
    while pool.threads and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pool.threads == 0  # closed: every thread exits


# -- slow clients -----------------------------------------------------------------------------
def closes_within(sock: socket.socket, seconds: float, drip: bytes = b"") -> float:
    """Drip ``drip`` byte by byte (then wait); seconds until the server closed."""
    started = time.monotonic()
    sock.settimeout(0.1)
    sent = 0
    while time.monotonic() - started < seconds:
        if sent < len(drip):
            try:
                sock.send(drip[sent : sent + 1])
            except OSError:
                return time.monotonic() - started
            sent += 1
        try:
            if sock.recv(4096) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except OSError:
            return time.monotonic() - started
    raise AssertionError(f"still open after {seconds} s")


def test_a_client_dripping_its_request_head_is_dropped(
    start: Callable[..., Gateway], recorder: Recorder
) -> None:
    gateway = start(make_app(recorder), head_timeout=0.5)
    head = f"GET /_lift/ HTTP/1.1\r\nHost: 127.0.0.1:{gateway.port}\r\nX-Pad: {'a' * 200}\r\n"
    with socket.create_connection(("127.0.0.1", gateway.port)) as sock:
        assert closes_within(sock, 3, head.encode()) < 1.5
    with socket.create_connection(("127.0.0.1", gateway.port)) as sock:  # sends nothing
        assert closes_within(sock, 3) < 1.5
    assert http(gateway, "GET", "/_lift/")[0] == 200  # the gateway still serves


def test_a_kept_alive_connection_gets_the_same_deadline_for_its_next_request(
    start: Callable[..., Gateway], recorder: Recorder
) -> None:
    gateway = start(make_app(recorder), head_timeout=0.5)
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as sock:
        sock.sendall(f"GET /_lift/ HTTP/1.1\r\nHost: localhost:{gateway.port}\r\n\r\n".encode())
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        assert closes_within(sock, 3, b"GET /_lift/ HTTP/1.1\r\n") < 1.5


def test_a_client_dripping_its_body_is_answered_408(
    start: Callable[..., Gateway], recorder: Recorder
) -> None:
    gateway = start(make_app(recorder), head_timeout=0.5)
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as sock:
        sock.sendall(
            (
                f"POST /{gateway.stage}/@connections/abc HTTP/1.1\r\nHost: localhost\r\n"
                "Content-Length: 100\r\n\r\nab"
            ).encode()
        )
        started = time.monotonic()
        assert sock.recv(4096).startswith(b"HTTP/1.1 408")
        assert time.monotonic() - started < 1.5


def test_the_gateway_options_are_checked(aws_env: None, recorder: Recorder) -> None:
    with pytest.raises(ValueError):
        Gateway(make_app(recorder), integration_timeout=0)
    with pytest.raises(ValueError):
        Gateway(make_app(recorder), workers=0)
