# snippet: test_with_connections_server.py
from collections.abc import Iterator

import pytest

from lift import App, Context
from lift.local.connections import ConnectionsServer, MemoryConnectionRegistry
from lift.testing import events

app = App()


@app.websocket("$default")
def echo(ctx: Context) -> None:
    ctx.websocket.send(ctx.text)


@pytest.fixture
def registry() -> MemoryConnectionRegistry:
    return MemoryConnectionRegistry()


@pytest.fixture
def server(
    registry: MemoryConnectionRegistry, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ConnectionsServer]:
    with ConnectionsServer(registry, stage="prod") as server:
        # The app's own signed HTTP client now talks to this server.
        monkeypatch.setenv("LIFT_WS_MANAGEMENT_ENDPOINT", server.endpoint)
        monkeypatch.setenv("AWS_REGION", "us-east-1")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        yield server


def test_sends_go_over_http(server: ConnectionsServer, registry: MemoryConnectionRegistry) -> None:
    registry.open("conn-1")
    app(events.websocket_message("hello", connection_id="conn-1"))
    assert registry.messages("conn-1") == [b"hello"]
    assert server.calls == [("POST", "conn-1")]


def test_throttling_is_retried(
    server: ConnectionsServer, registry: MemoryConnectionRegistry
) -> None:
    registry.open("conn-2")
    server.throttle_first = 2  # two 429 LimitExceededException answers first
    app(events.websocket_message("hi", connection_id="conn-2"))
    assert registry.messages("conn-2") == [b"hi"]
    assert server.calls == [("POST", "conn-2")] * 3


def test_a_closed_connection_is_gone(server: ConnectionsServer) -> None:
    response = app(events.websocket_message("hi", connection_id="never-opened"))
    assert response["statusCode"] == 410  # ConnectionGoneError, unhandled
