"""The local gateway defends the developer's machine: foreign hosts and pages are refused,
broken or slow clients cost nothing, and no message can break a connection.

Everything goes through real sockets: raw ones for what no well-behaved client sends,
`websockets` clients for the rest.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from websockets.asyncio.client import connect as async_connect
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from lift import App
from lift.local.gateway import Gateway
from lift.local.guards import host_name, is_allowed_host, is_own_origin
from lift.local.invocation import STALL_SECONDS, WorkerPool
from lift.local.session import RouteResponseError, route_response

from . import test_gateway as base
from .local_support import CHROMIUM, CHROMIUM_ARGS, requires_chromium
from .test_gateway import Recorder, connection_id_of, make_app, receive_json

recorder = base.recorder  # the fixtures of the gateway's main tests
start = base.start
gateway = base.gateway

MAX = 128 * 1024


def http(
    gateway: Gateway,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    *,
    host: str | None = "default",
) -> tuple[int, bytes]:
    """One HTTP/1.1 request on a raw socket, exactly as given; ``(status, body)``."""
    lines = [f"{method} {path} HTTP/1.1"]
    if host == "default":
        host = f"127.0.0.1:{gateway.port}"
    if host is not None:
        lines.append(f"Host: {host}")
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as sock:
        sock.sendall("\r\n".join(lines).encode() + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), payload


def upgrade_headers(**extra: str) -> dict[str, str]:
    return {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
        "Sec-WebSocket-Version": "13",
        **extra,
    }


def post_path(gateway: Gateway, connection_id: str) -> str:
    return f"/{gateway.stage}/@connections/{connection_id}"


@contextlib.contextmanager
def chromium_with(extra_args: list[str]) -> Iterator[Any]:
    """Headless Chromium with more command-line switches."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS + extra_args
        )
        try:
            yield browser
        finally:
            browser.close()


def nothing_arrives(ws: Any, wait: float = 0.3) -> bool:
    try:
        ws.recv(timeout=wait)
    except TimeoutError:
        return True
    return False


# -- Host allow-list (DNS rebinding) -----------------------------------------------------
@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "10.0.0.1", "[::2]"])
def test_requests_for_a_foreign_host_are_refused_everywhere(
    gateway: Gateway, recorder: Recorder, host: str
) -> None:
    with connect(gateway.ws_url) as ws:
        connection_id = connection_id_of(gateway, recorder)
        assert http(gateway, "GET", "/_lift/", host=host)[0] == 403
        status, body = http(
            gateway, "POST", post_path(gateway, connection_id), body=b"injected", host=host
        )
        assert status == 403 and b"injected" not in body
        assert http(gateway, "GET", "/", upgrade_headers(), host=host)[0] == 403
        assert http(gateway, "GET", "/_lift/events", upgrade_headers(), host=host)[0] == 403
        assert nothing_arrives(ws)
    assert len(recorder.of("$connect")) == 1  # the refused upgrade never reached the app


@pytest.mark.parametrize(
    "host", ["localhost", "localhost:{port}", "127.0.0.1:{port}", "[::1]:{port}", "app.localhost"]
)
def test_local_host_names_are_answered(gateway: Gateway, host: str) -> None:
    assert http(gateway, "GET", "/_lift/", host=host.format(port=gateway.port))[0] == 200


def test_a_request_without_host_is_refused(gateway: Gateway) -> None:
    assert http(gateway, "GET", "/_lift/", host=None)[0] in (400, 403)


def test_extra_host_names_can_be_allowed(start: Callable[..., Gateway], recorder: Recorder) -> None:
    gateway = start(make_app(recorder), hosts=["devbox.lan"])
    assert http(gateway, "GET", "/_lift/", host="devbox.lan:8000")[0] == 200
    assert http(gateway, "GET", "/_lift/", host="otherbox.lan")[0] == 403


# -- Origin check (cross-site WebSocket hijacking, cross-site posts) ---------------------
FOREIGN_ORIGINS = ["http://evil.example", "null", "http://localhost:1", "https://127.0.0.1"]


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
def test_a_foreign_page_cannot_watch_the_inspector_feed(gateway: Gateway, origin: str) -> None:
    feed_url = gateway.url.replace("http", "ws") + "/_lift/events"
    with pytest.raises(InvalidStatus) as refused:
        connect(feed_url, origin=origin)  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    with connect(feed_url, origin=gateway.url) as feed:  # type: ignore[arg-type]
        assert json.loads(feed.recv(timeout=5))["type"] == "snapshot"
    with connect(feed_url) as feed:  # not a browser
        assert json.loads(feed.recv(timeout=5))["type"] == "snapshot"


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
def test_a_foreign_page_cannot_post_into_a_connection(
    gateway: Gateway, recorder: Recorder, origin: str
) -> None:
    with connect(gateway.ws_url) as ws:
        connection_id = connection_id_of(gateway, recorder)
        path = post_path(gateway, connection_id)
        plain = {"Content-Type": "text/plain", "Origin": origin}
        assert http(gateway, "POST", path, plain, b"injected")[0] == 403
        assert http(gateway, "DELETE", path, {"Origin": origin})[0] == 403
        assert http(gateway, "GET", path, {"Origin": origin})[0] == 403
        assert nothing_arrives(ws)
        own = {"Content-Type": "text/plain", "Origin": gateway.url}
        assert http(gateway, "POST", path, own, b"from the inspector")[0] == 200
        assert ws.recv(timeout=5) == "from the inspector"
        assert http(gateway, "POST", path, {}, b"from a script")[0] == 200  # no Origin
        assert ws.recv(timeout=5) == "from a script"


def test_cross_site_fetch_metadata_is_refused_without_origin(gateway: Gateway) -> None:
    assert http(gateway, "GET", "/_lift/", {"Sec-Fetch-Site": "cross-site"})[0] == 403
    assert http(gateway, "GET", "/_lift/", {"Sec-Fetch-Site": "same-site"})[0] == 403
    assert http(gateway, "GET", "/_lift/", {"Sec-Fetch-Site": "none"})[0] == 200
    assert http(gateway, "GET", "/_lift/", {"Sec-Fetch-Site": "same-origin"})[0] == 200
    link = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}
    assert http(gateway, "GET", "/_lift/", link)[0] == 200  # a link followed to the page
    assert http(gateway, "POST", "/local/@connections/x", link)[0] == 403


def test_the_apps_websocket_accepts_any_origin_as_api_gateway_does(
    gateway: Gateway, recorder: Recorder
) -> None:
    with connect(gateway.ws_url, origin="http://other.example") as ws:  # type: ignore[arg-type]
        ws.send("hello")
        assert receive_json(ws)["body"] == "hello"
    headers = recorder.wait("$connect")[0]["headers"]
    assert headers["Origin"] == "http://other.example"  # the app may refuse it itself


def test_guard_rules() -> None:
    assert host_name("[::1]:8000") == "::1"
    assert host_name("LocalHost.:80") == "localhost"
    assert host_name("[::1]x") is None and host_name("a:b") is None and host_name("") is None
    allowed = {"localhost", "127.0.0.1", "::1"}
    assert is_allowed_host("127.0.0.2:1", allowed)  # the whole loopback network
    assert not is_allowed_host("localhost.evil.example", allowed)
    assert not is_allowed_host("127.0.0.1.nip.io", allowed)
    assert is_own_origin("http://localhost:8000", allowed, 8000)
    assert not is_own_origin("http://localhost:8001", allowed, 8000)
    assert not is_own_origin("http://localhost:8000/path", allowed, 8000)
    assert not is_own_origin("http://user@localhost:8000", allowed, 8000)
    assert not is_own_origin("http://localhost:99999", allowed, 8000)
    assert is_own_origin("http://127.0.0.1", allowed, 80)


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


def test_route_response_rules() -> None:
    assert route_response(None) is None
    assert route_response({"statusCode": 200}) is None
    assert route_response({"body": "hi"}) == b"hi"
    assert route_response({"body": "/w==", "isBase64Encoded": True}) == b"\xff"
    for bad in (
        {"body": "/w", "isBase64Encoded": True},
        {"body": "é" * (MAX // 2 + 1)},
        {"body": 5},
    ):
        with pytest.raises(RouteResponseError):
            route_response(bad)


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


# -- a real browser on a foreign page --------------------------------------------------------
FOREIGN_PAGE = """<!doctype html><title>elsewhere</title><script>
window.results = {feed: [], feedClosed: false, post: null};
const feed = new WebSocket("ws://127.0.0.1:%(port)d/_lift/events");
feed.onmessage = (event) => window.results.feed.push(event.data);
feed.onclose = () => { window.results.feedClosed = true; };
fetch("http://127.0.0.1:%(port)d/%(stage)s/@connections/%(id)s",
      {method: "POST", body: "injected", mode: "no-cors"})
  .then(() => { window.results.post = "sent"; }, () => { window.results.post = "failed"; });
</script>"""


@requires_chromium
def test_a_page_elsewhere_can_neither_watch_nor_post_nor_rebind(
    gateway: Gateway, recorder: Recorder
) -> None:
    with connect(gateway.ws_url) as ws:
        connection_id = connection_id_of(gateway, recorder)
        page_html = FOREIGN_PAGE % {
            "port": gateway.port,
            "stage": gateway.stage,
            "id": connection_id,
        }

        class Elsewhere(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = page_html.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        with ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere) as other:
            threading.Thread(target=other.serve_forever, daemon=True).start()
            try:
                with chromium_with(["--host-resolver-rules=MAP evil.test 127.0.0.1"]) as browser:
                    page = browser.new_page()
                    page.goto(f"http://evil.test:{other.server_address[1]}/")
                    page.wait_for_function(
                        "(window.results.feedClosed || window.results.feed.length > 0)"
                        " && window.results.post !== null",
                        timeout=10_000,
                    )
                    results = page.evaluate("window.results")
                    # DNS rebinding: the same page's name now points at the gateway.
                    rebound = page.goto(f"http://evil.test:{gateway.port}/_lift/")
                    assert rebound is not None and rebound.status == 403
                    assert "Lift local gateway" not in page.content()
            finally:
                other.shutdown()
        assert results["feed"] == []  # not one byte of the inspector's feed
        assert nothing_arrives(ws, 0.5)  # and nothing was injected
