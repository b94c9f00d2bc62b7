"""The chat when the server goes away: the page says so, keeps what is typed, and sends
it once back; and a failed message gets one error frame, with or without route responses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from examples.chat import app as chat_module
from examples.chat.__main__ import STATIC_DIR
from examples.chat.tokens import mint
from websockets.sync.client import connect

from lift.local.gateway import Gateway
from lift.testing import WebSocketTestClient
from tests.local_support import chromium, requires_chromium

SECRET = "an-offline-test-secret-of-32-bytes!!"


@pytest.mark.parametrize("route_responses", [True, False])
def test_a_failed_message_gets_one_error_frame(aws_env: None, route_responses: bool) -> None:
    app = chat_module.create_app(jwt_secret=SECRET)
    app.websocket_options.route_responses = route_responses
    token = mint("ana", "acme", key=SECRET)
    with WebSocketTestClient(app) as client:
        ws = client.connect(query={"token": token})
        response = ws.send_json({"action": "dance"})
        assert response is not None and response["statusCode"] == 400
        frames = [ws.receive_json() for _ in range(ws.pending)]
        assert frames == [
            {
                "type": "error",
                "code": "UNKNOWN_ACTION",
                "message": "Unknown action: use join, leave, message or typing",
            }
        ]
    with (
        Gateway(chat_module.create_app(jwt_secret=SECRET), quiet=True) as gateway,
        connect(f"{gateway.ws_url}?token={token}") as real,
    ):
        real.send(json.dumps({"action": "message", "text": "hi"}))
        assert json.loads(real.recv(timeout=5))["code"] == "NOT_IN_ROOM"
        with pytest.raises(TimeoutError):
            real.recv(timeout=0.5)  # nothing more: no second frame from the route response


@pytest.fixture
def page() -> Iterator[Any]:
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1000, "height": 720}).new_page()
        page.set_default_timeout(10_000)
        yield page


@requires_chromium
def test_the_page_shows_reconnecting_and_keeps_what_is_typed(
    aws_env: None, page: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    first = Gateway(chat_module.create_app(), quiet=True, static_dir=STATIC_DIR)
    first.start()
    port = first.port
    try:
        page.goto(f"{first.url}/")
        page.fill("#user", "alice")
        page.fill("#tenant", "acme")
        page.fill("#room", "general")
        page.click("#connect")
        status = page.locator("#status")
        expect(status).to_have_text("online")
    finally:
        first.stop()  # the server goes away

    expect(status).to_have_text("reconnecting…")
    assert status.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(217, 119, 6)"
    page.fill("#text", "written while offline")
    page.click("#send")
    expect(page.locator("#text")).to_have_value("written while offline")
    expect(page.locator("#send-note")).to_contain_text("Your text is kept")
    note = page.locator("#send-note").bounding_box()
    composer = page.locator("#composer").bounding_box()
    assert note is not None and composer is not None and note["y"] >= composer["y"]
    page.screenshot(path=str(tmp_path / "reconnecting.png"))

    second = Gateway(chat_module.create_app(), quiet=True, static_dir=STATIC_DIR, port=port)
    second.start()  # the server is back on the same port: the page reconnects by itself
    try:
        expect(status).to_have_text("online", timeout=20_000)
        expect(page.locator("#send-note")).to_have_text("")
        page.click("#send")
        expect(page.locator("#messages .message .bubble")).to_have_text(["written while offline"])
        expect(page.locator("#text")).to_have_value("")
    finally:
        second.stop()
