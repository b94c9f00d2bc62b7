"""The inspector in headless Chromium: refusal reasons, long text that stays in its card,
row clicks, route suggestions and the worker form. States are checked through element
boxes and computed styles, and screenshots are taken of each."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lift import App, LiftError
from lift.local.gateway import Gateway
from lift.websocket import WebSocketOptions
from tests.local_support import chromium, requires_chromium

pytestmark = requires_chromium

LONG_WORDS = " ".join(["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"] * 40)


def make_app() -> App:
    app = App(websocket=WebSocketOptions(auto_connections=True))

    @app.websocket("$connect")
    def on_connect(ctx: Any) -> None:
        if ctx.query("token") != "letmein":
            raise LiftError(401, "UNAUTHORIZED", "a token is required")

    @app.websocket("echo")
    def echo(ctx: Any) -> dict[str, str]:
        return {"echo": ctx.json().get("text", "")}

    @app.websocket("shout")
    def shout(ctx: Any) -> None:
        ctx.websocket.send(LONG_WORDS)

    @app.schedule("nightly")
    def nightly(ctx: Any) -> dict[str, str]:
        return {"ran": "nightly"}

    return app


@pytest.fixture
def gateway(aws_env: None) -> Iterator[Gateway]:
    with Gateway(make_app(), quiet=True) as gateway:
        yield gateway


@pytest.fixture
def page(gateway: Gateway) -> Iterator[Any]:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.set_default_timeout(10_000)
        yield page


def inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
    )


def test_a_refused_connection_shows_its_reason(gateway: Gateway, page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page.goto(gateway.inspector_url)
    expect(page.locator("#feed-state")).to_have_text("live")
    page.fill("#query", "token=wrong")
    page.click("#connect")
    state = page.locator("#socket-state")
    expect(state).to_have_text("Refused 401: UNAUTHORIZED: a token is required")
    color = state.evaluate("e => getComputedStyle(e).color")
    assert color == "rgb(192, 57, 43)"  # the warning colour
    refused = page.locator('#log tr[data-kind="refused"]')
    expect(refused).to_contain_text("a token is required")
    page.screenshot(path=str(tmp_path / "refused.png"))
    assert (tmp_path / "refused.png").stat().st_size > 0


def test_long_text_stays_in_its_card_and_wraps_between_words(
    gateway: Gateway, page: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page.goto(gateway.inspector_url)
    expect(page.locator("#feed-state")).to_have_text("live")
    page.fill("#query", "token=letmein&" + "padding=" + "x" * 600)
    page.click("#connect")
    state = page.locator("#socket-state")
    expect(state).to_contain_text("Connected")
    card = state.locator("xpath=ancestor::section[1]").bounding_box()
    assert inside(state.bounding_box(), card)

    page.fill("#message", json.dumps({"action": "shout"}))
    page.click("#send")
    out = page.locator('#log tr[data-kind="out"] td.data').first
    expect(out).to_contain_text("foxtrot")
    styles = out.evaluate("e => [getComputedStyle(e).wordBreak, getComputedStyle(e).overflowWrap]")
    assert styles == ["normal", "anywhere"]  # long tokens may break; words never do
    lines = out.evaluate(
        """e => {
          const range = document.createRange();
          const text = e.firstChild;
          const tops = new Map();
          for (let i = 0; i < text.length; i++) {
            range.setStart(text, i); range.setEnd(text, i + 1);
            const top = Math.round(range.getBoundingClientRect().top);
            if (!tops.has(top)) tops.set(top, i);
          }
          return [...tops.values()].map(i => text.data.slice(Math.max(0, i - 1), i + 1));
        }"""
    )
    assert len(lines) > 2  # it wraps...
    for start in lines[1:]:  # ...and every line starts after a space, never mid-word
        assert start[0] == " ", lines
    log_card = page.locator("#log-scroll").bounding_box()
    assert inside(out.bounding_box(), log_card)
    page.screenshot(path=str(tmp_path / "long.png"), full_page=True)


def test_rows_fill_the_post_box_and_routes_are_suggested(gateway: Gateway, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(gateway.inspector_url)
    expect(page.locator("#feed-state")).to_have_text("live")
    chips = page.locator("#routes button")
    expect(chips).to_have_text(["echo", "shout"])  # the app's own route keys
    assert page.locator("#message").get_attribute("placeholder") == '{"action":"echo"}'
    page.fill("#query", "token=letmein")
    page.click("#connect")
    expect(page.locator("#socket-state")).to_contain_text("Connected")
    chips.first.click()
    expect(page.locator("#message")).to_have_value('{"action":"echo"}')
    page.click("#send")
    expect(page.locator("#received li").first).to_have_text('{"echo":""}')

    row = page.locator("#connections tr[data-id]").first
    connection_id = row.get_attribute("data-id")
    row.locator("td").nth(2).click()  # the tenant cell, not the id
    expect(page.locator("#post-id")).to_have_value(connection_id or "")
    expect(row).to_have_class("picked")


def test_the_worker_form_runs_a_scheduled_handler(gateway: Gateway, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(gateway.inspector_url)
    expect(page.locator("#feed-state")).to_have_text("live")
    page.select_option("#fire-source", "schedule")
    page.fill("#fire-name", "nightly")
    page.click("#fire-send")
    expect(page.locator("#fire-result")).to_contain_text("ok in")
    expect(page.locator("#fire-result")).to_contain_text('{"ran":"nightly"}')
    expect(page.locator('#log tr[data-kind="fire"]')).to_contain_text("schedule:nightly")
