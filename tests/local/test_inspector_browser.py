"""The inspector page in headless Chromium: connect, send, and watch messages both ways."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from lift import App
from lift.local.gateway import Gateway
from lift.websocket import WebSocketOptions
from tests.local_support import chromium, management_client, requires_chromium

pytestmark = requires_chromium


def chat_app() -> App:
    app = App(websocket=WebSocketOptions(auto_connections=True))

    @app.websocket("$connect")
    def on_connect(ctx: Any) -> None:
        ctx.set_identity(user_id=ctx.query("user"), tenant_id=ctx.query("tenant"))

    @app.websocket("chat")
    def on_chat(ctx: Any) -> None:
        ctx.websocket.send({"echo": ctx.json()["text"]})

    return app


@pytest.fixture
def gateway(aws_env: None) -> Iterator[Gateway]:
    with Gateway(chat_app(), quiet=True) as gateway:
        yield gateway


@pytest.fixture
def page(gateway: Gateway) -> Iterator[Any]:
    with chromium() as browser:
        page = browser.new_page()
        page.set_default_timeout(10_000)
        yield page


def test_inspector_connects_sends_and_shows_traffic_both_ways(gateway: Gateway, page: Any) -> None:
    from playwright.sync_api import expect

    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(gateway.inspector_url)
    expect(page.locator("#feed-state")).to_have_text("live")
    expect(page.locator("#no-connections")).to_be_visible()

    # Connect from the page itself, with a query string.
    page.fill("#query", "user=ada&tenant=acme")
    page.click("#connect")
    rows = page.locator("#connections tr[data-id]")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td").nth(1)).to_have_text("ada")
    expect(rows.first.locator("td").nth(2)).to_have_text("acme")
    expect(page.locator("#socket-state")).to_contain_text("Connected")
    connection_id = rows.first.get_attribute("data-id")
    assert connection_id in gateway.connection_ids

    # Send: the message appears in the log as IN, the app's answer as OUT.
    page.fill("#message", json.dumps({"action": "chat", "text": "from the browser"}))
    page.click("#send")
    incoming = page.locator('#log tr[data-kind="in"]')
    expect(incoming).to_have_count(1)
    expect(incoming.first).to_contain_text("from the browser")
    expect(incoming.first).to_contain_text("chat")
    expect(page.locator('#log tr[data-kind="out"]').first).to_contain_text(
        '{"echo":"from the browser"}'
    )
    expect(page.locator("#received li").first).to_have_text('{"echo":"from the browser"}')

    # A message posted from outside through @connections shows up live.
    client = management_client(gateway.endpoint)
    client.post_to_connection(ConnectionId=connection_id, Data=b'{"notice": "from outside"}')
    expect(page.locator('#log tr[data-kind="out"]').last).to_contain_text("from outside")
    expect(page.locator("#received li").last).to_have_text('{"notice": "from outside"}')

    # The page's own @connections form posts too.
    page.locator("#connections td.mono").first.click()
    expect(page.locator("#post-id")).to_have_value(connection_id)
    page.fill("#post-body", "from the form")
    page.click("#post-send")
    expect(page.locator("#post-result")).to_have_text("Posted (200).")
    expect(page.locator("#received li").last).to_have_text("from the form")

    # Disconnecting removes the connection and logs the close.
    page.click("#disconnect")
    expect(rows).to_have_count(0)
    expect(page.locator('#log tr[data-kind="disconnect"]')).to_contain_text("1000")
    expect(page.locator("#socket-state")).to_contain_text("Closed: 1000")

    assert errors == []
    assert all(url.startswith((gateway.url, gateway.url.replace("http", "ws"))) for url in requests)
