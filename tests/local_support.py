"""Helpers shared by the tests of the local gateway: headless Chromium, outside clients."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

requires_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (see scripts/install)"
)


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright; closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def management_client(endpoint: str) -> Any:
    """A boto3 Management API client, as another process would build it."""
    return boto3.session.Session().client(
        "apigatewaymanagementapi",
        endpoint_url=endpoint,
        region_name="eu-west-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"total_max_attempts": 1}),
    )


class Recorder:
    """Events the app received, in order (appended from worker threads)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def add(self, event: dict[str, Any]) -> None:
        with self._lock:
            self.events.append(event)

    def of(self, route_key: str) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self.events if e["requestContext"]["routeKey"] == route_key]

    def wait(self, route_key: str, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.of(route_key)
            if len(found) >= count:
                return found
            time.sleep(0.01)
        raise AssertionError(f"expected {count} {route_key} event(s), got {self.of(route_key)}")

    def disconnect_of(self, connection_id: str, timeout: float = 5.0) -> tuple[int, str]:
        """The close code and reason of ``connection_id``'s ``$disconnect`` event."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.of("$disconnect"):
                rc = event["requestContext"]
                if rc["connectionId"] == connection_id:
                    return rc["disconnectStatusCode"], rc["disconnectReason"]
            time.sleep(0.01)
        raise AssertionError(f"no $disconnect for {connection_id}")
