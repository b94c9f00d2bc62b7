"""The chat example in headless Chromium on the local gateway: two people chatting."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from examples.chat import app as chat_module
from examples.chat.__main__ import STATIC_DIR

from lift.local.gateway import Gateway
from tests.local_support import chromium, requires_chromium

SCREENSHOT = Path("/tmp/chat.png")

pytestmark = requires_chromium


@pytest.fixture
def gateway(aws_env: None) -> Iterator[Gateway]:
    with Gateway(chat_module.create_app(), quiet=True, static_dir=STATIC_DIR) as gateway:
        yield gateway


@dataclass
class Browser:
    """A launched Chromium; each :meth:`page` is a separate person (own context)."""

    browser: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def page(self) -> Any:
        page = self.browser.new_context(viewport={"width": 1000, "height": 720}).new_page()
        page.set_default_timeout(10_000)
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on(
            "console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None
        )
        return page


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield Browser(launched)


def sign_in(page: Any, gateway: Gateway, user: str, tenant: str, room: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{gateway.url}/")
    page.fill("#user", user)
    page.fill("#tenant", tenant)
    page.fill("#room", room)
    page.click("#connect")
    expect(page.locator("#status")).to_have_text("online")
    expect(page.locator("#room-name")).to_have_text(room)
    expect(page.locator("#presence")).to_contain_text(f"{user} (you)")


def test_two_people_chat_with_typing_indicators(gateway: Gateway, browser: Browser) -> None:
    from playwright.sync_api import expect

    alice, bob = browser.page(), browser.page()
    sign_in(alice, gateway, "alice", "acme", "general")
    sign_in(bob, gateway, "bob", "acme", "general")
    expect(alice.locator("#presence li")).to_have_text(["alice (you)", "bob"])
    expect(bob.locator("#presence li")).to_have_text(["alice", "bob (you)"])

    # Alice types: Bob sees the indicator; she sends: Bob sees the message, not the indicator.
    alice.locator("#text").press_sequentially("Hi Bob, lunch at noon?")
    expect(bob.locator("#typing")).to_have_text("alice is typing…")
    expect(alice.locator("#typing")).to_have_text("")
    alice.click("#send")
    expect(bob.locator("#messages .message .bubble")).to_have_text(["Hi Bob, lunch at noon?"])
    expect(bob.locator("#typing")).to_have_text("")
    expect(alice.locator("#messages .message.mine .bubble")).to_have_text(
        ["Hi Bob, lunch at noon?"]
    )
    expect(alice.locator("#text")).to_have_value("")

    # And the other way round, sending with Enter.
    bob.locator("#text").press_sequentially("Sounds good!")
    expect(alice.locator("#typing")).to_have_text("bob is typing…")
    bob.locator("#text").press("Enter")
    expect(alice.locator("#messages .message:not(.mine) .bubble")).to_have_text(["Sounds good!"])
    expect(alice.locator("#typing")).to_have_text("")
    expect(bob.locator("#messages .message .meta").first).to_contain_text("alice")

    # Someone in another tenant's "general" sees none of it, and is not seen.
    carol = browser.page()
    sign_in(carol, gateway, "carol", "globex", "general")
    expect(carol.locator("#presence li")).to_have_text(["carol (you)"])
    carol.locator("#text").fill("globex here")
    carol.click("#send")
    expect(carol.locator("#messages .message .bubble")).to_have_text(["globex here"])
    alice.locator("#text").fill("one more")
    alice.click("#send")
    expect(bob.locator("#messages .message .bubble")).to_have_count(3)
    expect(alice.locator("#messages")).not_to_contain_text("globex here")
    expect(alice.locator("#presence li")).to_have_text(["alice (you)", "bob"])

    # A latecomer gets the history of the room.
    dave = browser.page()
    sign_in(dave, gateway, "dave", "acme", "general")
    expect(dave.locator("#messages .message .bubble")).to_have_text(
        ["Hi Bob, lunch at noon?", "Sounds good!", "one more"]
    )
    expect(alice.locator("#presence li")).to_have_text(["alice (you)", "bob", "dave"])

    # Leaving updates everyone's presence list.
    dave.click("#disconnect")
    expect(alice.locator("#presence li")).to_have_text(["alice (you)", "bob"])

    alice.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000
    assert browser.errors == []
    local = (gateway.url, gateway.ws_url)
    assert all(url.startswith(local) for url in browser.requests), browser.requests


def test_a_bad_token_is_refused_and_explained(gateway: Gateway, browser: Browser) -> None:
    from playwright.sync_api import expect

    page = browser.page()
    page.goto(f"{gateway.url}/")
    page.fill("#user", "mallory")
    page.click("summary")
    page.fill("#token", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.c2lnbmF0dXJl")
    page.click("#connect")
    expect(page.locator("#login-error")).to_contain_text("refused")
    expect(page.locator("#status")).to_have_text("offline")
    expect(page.locator("#chat")).to_be_hidden()
    assert gateway.connection_ids == []
    # The only error is the browser's own report of the refused handshake.
    assert browser.errors, "the browser reports the failed handshake"
    assert all("WebSocket connection" in error for error in browser.errors), browser.errors


def test_a_dropped_page_reconnects_and_gets_what_it_missed(
    gateway: Gateway, browser: Browser
) -> None:
    from playwright.sync_api import expect

    alice, bob = browser.page(), browser.page()
    sign_in(alice, gateway, "alice", "acme", "general")
    before = set(gateway.connection_ids)
    sign_in(bob, gateway, "bob", "acme", "general")
    [bob_id] = set(gateway.connection_ids) - before
    alice.locator("#text").fill("before the drop")
    alice.click("#send")
    expect(bob.locator("#messages .message .bubble")).to_have_text(["before the drop"])

    # Bob's network goes away and the gateway drops his connection (@connections DELETE).
    bob.context.set_offline(True)
    assert gateway.delete(bob_id)
    expect(bob.locator("#status")).to_have_text("reconnecting…")
    expect(alice.locator("#presence li")).to_have_text(["alice (you)"])
    for text in ("missed one", "missed two"):
        alice.locator("#text").fill(text)
        alice.click("#send")
    expect(alice.locator("#messages .message .bubble")).to_have_count(3)
    expect(bob.locator("#messages .message .bubble")).to_have_text(["before the drop"])

    # The network comes back: the page reconnects by itself and resumes from its last seq.
    bob.context.set_offline(False)
    expect(bob.locator("#status")).to_have_text("online", timeout=20_000)
    expect(bob.locator("#messages .message .bubble")).to_have_text(
        ["before the drop", "missed one", "missed two"]
    )
    expect(bob.locator("#presence li")).to_have_text(["alice", "bob (you)"])
    expect(alice.locator("#presence li")).to_have_text(["alice (you)", "bob"])
    alice.locator("#text").fill("welcome back")
    alice.click("#send")
    expect(bob.locator("#messages .message .bubble")).to_have_text(
        ["before the drop", "missed one", "missed two", "welcome back"]
    )
    assert bob_id not in gateway.connection_ids
    # Only the browser's own reports of the refused reconnects while offline.
    assert all("WebSocket connection" in error for error in browser.errors), browser.errors


def test_the_inspector_shows_each_connections_channels(gateway: Gateway, browser: Browser) -> None:
    from playwright.sync_api import expect

    inspector = browser.page()
    inspector.goto(gateway.inspector_url)
    alice, bob = browser.page(), browser.page()
    sign_in(alice, gateway, "alice", "acme", "general")
    sign_in(bob, gateway, "bob", "acme", "random")
    rows = inspector.locator("#connections tr")
    expect(rows).to_have_count(2)
    expect(inspector.locator("#connections td.channels")).to_have_text(
        ["general", "random"], timeout=10_000
    )
    # Bob moves to alice's room: his row follows.
    bob.click("#disconnect")
    expect(rows).to_have_count(1)
    sign_in(bob, gateway, "bob", "acme", "general")
    expect(inspector.locator("#connections td.channels")).to_have_text(["general", "general"])
