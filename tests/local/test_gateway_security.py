"""The local gateway defends the developer's machine: foreign hosts and foreign pages are
refused (the limits it enforces are in test_gateway_limits.py).

Everything goes through real sockets: raw ones for what no well-behaved client sends,
`websockets` clients and headless Chromium for the rest.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from lift.local.gateway import Gateway
from lift.local.guards import host_name, is_allowed_host, is_own_origin
from tests.local import test_gateway as base
from tests.local.test_gateway import connection_id_of, make_app, receive_json
from tests.local_support import CHROMIUM, CHROMIUM_ARGS, Recorder, requires_chromium

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
