"""WebSocket routing and WebSocketContext through the app, against a real @connections server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from lift import App, Context, LiftError
from lift.local.connections import ConnectionsServer, MemoryConnectionRegistry
from lift.testing import events
from lift.websocket import (
    BroadcastResult,
    Connection,
    ConnectionGoneError,
    MemoryConnectionStore,
    PayloadTooLargeError,
    WebSocketOptions,
)
from lift.websocket.management import clear_clients


class FlakyRegistry(MemoryConnectionRegistry):
    """Fails (500) every post to ids starting with ``broken``."""

    def post(self, connection_id: str, data: bytes) -> bool:
        if connection_id.startswith("broken"):
            raise RuntimeError("registry failure")
        return super().post(connection_id, data)


@pytest.fixture
def registry() -> FlakyRegistry:
    return FlakyRegistry()


@pytest.fixture
def server(registry: FlakyRegistry, monkeypatch: pytest.MonkeyPatch) -> Iterator[ConnectionsServer]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    with ConnectionsServer(registry, stage="prod") as running:
        monkeypatch.setenv("LIFT_WS_MANAGEMENT_ENDPOINT", running.endpoint)
        clear_clients()
        yield running
    clear_clients()


@pytest.fixture
def store() -> MemoryConnectionStore:
    return MemoryConnectionStore()


def message(body: Any, connection_id: str, route_key: str | None = None) -> dict[str, Any]:
    return events.websocket_message(body, connection_id=connection_id, route_key=route_key)


def test_send_json_text_and_bytes_arrive(
    server: ConnectionsServer, registry: FlakyRegistry
) -> None:
    registry.open("c1")
    app = App()

    @app.websocket("$default")
    def default(ctx: Context) -> None:
        ctx.websocket.send({"echo": ctx.json()})
        ctx.websocket.send("plain text")
        ctx.websocket.send(b"\x00\x01raw")
        ctx.websocket.send_json([1, 2])

    result = app(message({"hello": "world"}, "c1"), None)
    assert result == {"statusCode": 200}
    assert registry.messages("c1") == [
        b'{"echo":{"hello":"world"}}',
        b"plain text",
        b"\x00\x01raw",
        b"[1,2]",
    ]
    assert [call[0] for call in server.calls] == ["POST"] * 4


def test_oversize_payload_is_refused_without_a_call(
    server: ConnectionsServer, registry: FlakyRegistry
) -> None:
    registry.open("c1")
    app = App()
    seen: list[Exception] = []

    @app.websocket("$default")
    def default(ctx: Context) -> None:
        try:
            ctx.websocket.send("x" * (128 * 1024 + 1))
        except PayloadTooLargeError as exc:
            seen.append(exc)
            raise

    result = app(message("hi", "c1"), None)
    assert result["statusCode"] == 413
    assert json.loads(result["body"])["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert len(seen) == 1
    assert server.calls == []
    # exactly at the limit is fine
    app2 = App()
    app2.websocket("$default", lambda ctx: ctx.websocket.send("y" * (128 * 1024)))
    assert app2(message("hi", "c1"), None)["statusCode"] == 200
    assert registry.messages("c1") == [b"y" * (128 * 1024)]


def test_gone_connection_raises_and_is_pruned(
    server: ConnectionsServer, registry: FlakyRegistry, store: MemoryConnectionStore
) -> None:
    registry.open("sender")
    store.save(Connection("gone-1", user_id="u1"))
    app = App(websocket=WebSocketOptions(store=store))
    outcomes: list[str] = []

    @app.websocket("notify")
    def notify(ctx: Context) -> None:
        try:
            ctx.websocket.post_to("gone-1", {"ping": True})
        except ConnectionGoneError as exc:
            outcomes.append(exc.connection_id)

    assert app(message({"action": "notify"}, "sender"), None)["statusCode"] == 200
    assert outcomes == ["gone-1"]
    assert store.get("gone-1") is None


def test_uncaught_gone_becomes_410_body_without_internal_text(
    server: ConnectionsServer,
) -> None:
    app = App()
    app.websocket("$default", lambda ctx: ctx.websocket.send("to nobody"))
    result = app(message("x", "closed-id"), None)
    assert result["statusCode"] == 410
    body = json.loads(result["body"])
    assert body == {"error": {"code": "CONNECTION_GONE", "message": "The connection is gone"}}


def test_throttling_is_retried(server: ConnectionsServer, registry: FlakyRegistry) -> None:
    registry.open("c1")
    server.throttle_first = 2
    app = App()
    app.websocket("$default", lambda ctx: ctx.websocket.send("after retries"))
    assert app(message("x", "c1"), None)["statusCode"] == 200
    assert registry.messages("c1") == [b"after retries"]
    assert [method for method, _ in server.calls] == ["POST", "POST", "POST"]


def test_broadcast_mixed_results(
    server: ConnectionsServer, registry: FlakyRegistry, store: MemoryConnectionStore
) -> None:
    for connection_id in ("a", "b", "c"):
        registry.open(connection_id)
        store.save(Connection(connection_id, tenant_id="t1"))
    for connection_id in ("gone-1", "gone-2"):
        store.save(Connection(connection_id, tenant_id="t1"))
    store.save(Connection("broken-1", tenant_id="t1"))
    app = App(websocket=WebSocketOptions(store=store))
    results: list[BroadcastResult] = []

    @app.websocket("shout")
    def shout(ctx: Context) -> dict[str, int]:
        result = ctx.websocket.broadcast_to_tenant("t1", {"msg": "hi"})
        results.append(result)
        return {"delivered": len(result.delivered)}

    from lift.websocket import management

    management.client_for(server.endpoint, "eu-west-1").base_delay = 0.001
    response = app(message({"action": "shout"}, "a"), None)
    assert response["statusCode"] == 200
    (result,) = results
    assert sorted(result.delivered) == ["a", "b", "c"]
    assert sorted(result.gone) == ["gone-1", "gone-2"]
    assert list(result.failed) == ["broken-1"]
    assert not result.ok
    assert result.total == 6
    for connection_id in ("a", "b", "c"):
        assert registry.messages(connection_id) == [b'{"msg":"hi"}']
    # gone connections pruned from the store, the failed one kept
    assert store.get("gone-1") is None and store.get("gone-2") is None
    assert store.get("broken-1") is not None
    assert store.count_active() == 4


def test_broadcast_encodes_once_and_refuses_oversize_before_any_call(
    server: ConnectionsServer, registry: FlakyRegistry
) -> None:
    registry.open("a")
    app = App()
    app.websocket("$default", lambda ctx: ctx.websocket.broadcast(["a", "b"], "z" * 200_000))
    assert app(message("x", "a"), None)["statusCode"] == 413
    assert server.calls == []


def test_disconnect_twice_and_connection_info(
    server: ConnectionsServer, registry: FlakyRegistry
) -> None:
    registry.open("c1", source_ip="203.0.113.9", user_agent="pytest-agent")
    registry.open("c2")
    app = App()
    infos: list[Any] = []

    @app.websocket("info")
    def info(ctx: Context) -> None:
        infos.append(ctx.websocket.connection_info())

    @app.websocket("kick")
    def kick(ctx: Context) -> None:
        ctx.websocket.disconnect("c2")
        ctx.websocket.disconnect("c2")  # already gone: still a success

    assert app(message({"action": "info"}, "c1"), None)["statusCode"] == 200
    (connection_info,) = infos
    assert connection_info.connection_id == "c1"
    assert connection_info.source_ip == "203.0.113.9"
    assert connection_info.user_agent == "pytest-agent"
    assert isinstance(connection_info.connected_at, datetime)
    assert connection_info.connected_at.tzinfo is not None
    assert app(message({"action": "kick"}, "c1"), None)["statusCode"] == 200
    assert not registry.is_open("c2")
    assert [m for m, _ in server.calls] == ["GET", "DELETE", "DELETE"]

    gone_info = App()
    gone_info.websocket("$default", lambda ctx: ctx.websocket.connection_info("c2"))
    assert gone_info(message("x", "c1"), None)["statusCode"] == 410


def test_route_resolution_order() -> None:
    calls: list[str] = []
    app = App(websocket=WebSocketOptions(default_handler=lambda ctx: calls.append("fallback")))
    app.websocket("chat", lambda ctx: calls.append("chat"))
    app.websocket("$default", lambda ctx: calls.append("$default"))
    app(message({"action": "chat"}, "c"), None)
    app(message({"action": "unknown"}, "c", route_key="unknown"), None)
    assert calls == ["chat", "fallback"]

    app2 = App()
    app2.websocket("$default", lambda ctx: calls.append("$default"))
    app2(message({"action": "other"}, "c", route_key="other"), None)
    assert calls[-1] == "$default"

    app3 = App()
    app3.websocket("chat", lambda ctx: None)
    response = app3(message({"action": "other"}, "c", route_key="other"), None)
    assert response["statusCode"] == 404
    assert json.loads(response["body"])["error"]["code"] == "ROUTE_NOT_FOUND"


def test_websocket_registration_forms() -> None:
    app = App()
    assert app.websocket("$connect", lambda ctx: None) is app
    assert app.websocket("$disconnect", lambda ctx: None).websocket("a", lambda ctx: None) is app

    @app.websocket("b")
    def b(ctx: Context) -> str:
        return "b"

    assert b(None) == "b"  # type: ignore[arg-type]
    assert set(app.websocket_routes) == {"$connect", "$disconnect", "a", "b"}
    with pytest.raises(ValueError, match="already registered"):
        app.websocket("a", lambda ctx: None)
    with pytest.raises(ValueError, match="already registered"):
        app.handle("CONNECT", "/connect", lambda ctx: None)
    with pytest.raises(ValueError, match="already registered"):
        app.handle("MESSAGE", "/a", lambda ctx: None)


def test_connect_refusal_and_subprotocols() -> None:
    app = App()

    @app.websocket("$connect")
    def connect(ctx: Context) -> Any:
        if ctx.query("deny"):
            return ctx.status(403).json({"error": "nope"})
        ctx.websocket.accept_subprotocol("chat.v2")
        return None

    ok = app(events.websocket_connect(subprotocols=["chat.v1", "chat.v2"]), None)
    assert ok == {"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": "chat.v2"}}
    refused = app(events.websocket_connect(query={"deny": "1"}), None)
    assert refused["statusCode"] == 403
    not_offered = app(events.websocket_connect(subprotocols=["chat.v1"]), None)
    assert not_offered["statusCode"] == 400
    assert json.loads(not_offered["body"])["error"]["code"] == "SUBPROTOCOL_NOT_OFFERED"


def test_context_facts() -> None:
    app = App()
    seen: dict[str, Any] = {}

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        ws = ctx.websocket
        seen.update(
            connection_id=ws.connection_id,
            route_key=ws.route_key,
            event_type=ws.event_type,
            is_connect=ws.is_connect,
            stage=ws.stage,
            api_id=ws.api_id,
            domain=ws.domain_name,
            connected_at=ws.connected_at,
            request_time=ws.request_time,
            source_ip=ws.source_ip,
            user_agent=ws.user_agent,
            subprotocols=ws.requested_subprotocols,
            authorizer=ws.authorizer,
            header=ctx.header("x-custom"),
        )

    @app.websocket("$disconnect")
    def disconnect(ctx: Context) -> None:
        ws = ctx.as_websocket()
        seen.update(code=ws.disconnect_status_code, reason=ws.disconnect_reason)

    event = events.websocket_connect(
        connection_id="abc=",
        headers={"X-Custom": "yes"},
        subprotocols=["a", "b"],
        authorizer={"user_id": "u1"},
        http_method="GET",
        path="/",
    )
    app(event, None)
    assert seen["connection_id"] == "abc="
    assert seen["route_key"] == "$connect"
    assert seen["event_type"] == "CONNECT" and seen["is_connect"]
    assert seen["stage"] == "prod"
    assert seen["api_id"] and seen["domain"].endswith(".amazonaws.com")
    assert seen["connected_at"].tzinfo is timezone.utc
    assert seen["request_time"].tzinfo is timezone.utc
    assert seen["source_ip"] and seen["user_agent"]
    assert seen["subprotocols"] == ["a", "b"]
    assert seen["authorizer"]["user_id"] == "u1"
    assert seen["header"] == "yes"
    app(events.websocket_disconnect(status_code=1001, reason="Going away"), None)
    assert seen["code"] == 1001 and seen["reason"] == "Going away"


def test_not_websocket_is_400() -> None:
    app = App()
    app.get("/x")(lambda ctx: ctx.websocket.connection_id)
    response = app(events.http_v1(method="GET", path="/x"), None)
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["code"] == "NOT_WEBSOCKET"


class TestEndpointResolution:
    @pytest.fixture(autouse=True)
    def _env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in ("LIFT_WS_MANAGEMENT_ENDPOINT", "AWS_REGION", "AWS_DEFAULT_REGION"):
            monkeypatch.delenv(name, raising=False)

    def resolve(self, app: App, event: dict[str, Any]) -> tuple[str, str]:
        seen: list[tuple[str, str]] = []

        def handler(ctx: Context) -> None:
            seen.append((ctx.websocket.management_endpoint, ctx.websocket.region))

        app.websocket("$default", handler)
        response = app(event, None)
        if response["statusCode"] != 200:
            raise LiftError(response["statusCode"], "X", response.get("body", ""))
        return seen[0]

    def test_execute_api_domain(self) -> None:
        event = events.websocket_message(
            "x", domain_name="abc123.execute-api.eu-central-1.amazonaws.com", stage="dev"
        )
        assert self.resolve(App(), event) == (
            "https://abc123.execute-api.eu-central-1.amazonaws.com/dev",
            "eu-central-1",
        )

    def test_custom_domain_uses_api_id(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
        event = events.websocket_message(
            "x", domain_name="ws.example.com", api_id="xyz789", stage="prod"
        )
        assert self.resolve(App(), event) == (
            "https://xyz789.execute-api.ap-southeast-2.amazonaws.com/prod",
            "ap-southeast-2",
        )

    def test_custom_domain_with_region_option(self) -> None:
        app = App(websocket=WebSocketOptions(region="us-west-2"))
        event = events.websocket_message("x", domain_name="ws.example.com", api_id="xyz789")
        assert self.resolve(app, event) == (
            "https://xyz789.execute-api.us-west-2.amazonaws.com/prod",
            "us-west-2",
        )

    def test_env_override(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LIFT_WS_MANAGEMENT_ENDPOINT", "http://127.0.0.1:9999/local")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-north-1")
        assert self.resolve(App(), events.websocket_message("x")) == (
            "http://127.0.0.1:9999/local",
            "eu-north-1",
        )

    def test_option_override(self) -> None:
        app = App(
            websocket=WebSocketOptions(
                management_endpoint="https://custom.example.com/v1", region="sa-east-1"
            )
        )
        assert self.resolve(app, events.websocket_message("x")) == (
            "https://custom.example.com/v1",
            "sa-east-1",
        )

    def test_missing_region_is_a_clear_error_not_us_east_1(self) -> None:
        event = events.websocket_message("x", domain_name="ws.example.com", api_id="xyz789")
        app = App()
        app.websocket("$default", lambda ctx: ctx.websocket.management_endpoint)
        response = app(event, None)
        assert response["statusCode"] == 500
        error = json.loads(response["body"])["error"]
        assert error["code"] == "WEBSOCKET_CONFIG_ERROR"
        assert "us-east-1" not in response["body"]


def test_connect_and_disconnect_without_handlers_are_accepted_and_tracked() -> None:
    store = MemoryConnectionStore()
    app = App(websocket=WebSocketOptions(auto_connections=True, store=store))
    seen: list[str] = []
    app.websocket("$default", lambda ctx: seen.append(ctx.websocket.route_key))
    assert app(events.websocket_connect(connection_id="c1"), None) == {"statusCode": 200}
    assert store.get("c1") is not None
    assert app(events.websocket_disconnect(connection_id="c1"), None) == {"statusCode": 200}
    assert store.get("c1") is None
    assert seen == []  # $default never receives $connect or $disconnect


def test_middleware_still_guards_an_implicit_connect() -> None:
    store = MemoryConnectionStore()
    app = App(websocket=WebSocketOptions(auto_connections=True, store=store))

    def deny(next_handler: Any) -> Any:
        def handler(ctx: Context) -> Any:
            if ctx.is_websocket and ctx.websocket.is_connect:
                raise LiftError(401, "UNAUTHORIZED", "Missing token")
            return next_handler(ctx)

        return handler

    app.use(deny)
    assert app(events.websocket_connect(connection_id="c1"), None)["statusCode"] == 401
    assert store.count_active() == 0


def test_app_connections_sends_from_an_sqs_worker(
    server: ConnectionsServer, registry: FlakyRegistry, store: MemoryConnectionStore
) -> None:
    registry.open("c1")
    store.save(Connection("c1", tenant_id="t1"))
    store.save(Connection("gone-1", tenant_id="t1"))
    app = App(websocket=WebSocketOptions(store=store))
    results: list[BroadcastResult] = []

    @app.sqs("jobs")
    def worker(ctx: Context) -> None:
        connections = ctx.app.connections(server.endpoint)  # type: ignore[union-attr]
        for record in ctx.request.records:
            job = json.loads(record["body"])
            connections.send_json("c1", {"done": job["id"]})
            results.append(connections.broadcast_to_tenant("t1", "fan-out"))

    app(events.sqs(json.dumps({"id": 7}), queue="jobs"), None)
    assert registry.messages("c1") == [b'{"done":7}', b"fan-out"]
    (result,) = results
    assert result.delivered == ["c1"] and result.gone == ["gone-1"]
    assert store.get("gone-1") is None


def test_app_connections_endpoint_from_env_and_missing(
    server: ConnectionsServer, registry: FlakyRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.open("c1")
    App().connections().send("c1", b"via env")
    assert registry.messages("c1") == [b"via env"]
    monkeypatch.delenv("LIFT_WS_MANAGEMENT_ENDPOINT")
    with pytest.raises(LiftError) as caught:
        App().connections()
    assert caught.value.code == "WEBSOCKET_CONFIG_ERROR"
