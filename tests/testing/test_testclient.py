"""WebSocketTestClient and FakeManagementAPI: an app driven in process, as API Gateway would."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

import pytest

from lift import App, Context, LiftError, Response
from lift.testing import WebSocketRefused, WebSocketTestClient
from lift.testing.client import (
    FakeLambdaContext,
    TestWebSocket,
    WebSocketClosed,
    lambda_context,
)
from lift.testing.fake_management import FakeManagementAPI
from lift.websocket import (
    ConnectionGoneError,
    MemoryConnectionStore,
    PayloadTooLargeError,
    WebSocketOptions,
)
from lift.websocket.payload import MAX_PAYLOAD_BYTES
from lift.websocket.route_selection import select_route


def echo_app(**options: Any) -> App:
    app = App(websocket=WebSocketOptions(**options)) if options else App()

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        return None

    @app.websocket("echo")
    def echo(ctx: Context) -> None:
        ctx.websocket.send({"echo": ctx.json()["data"]})

    @app.websocket("$default")
    def default(ctx: Context) -> dict[str, Any]:
        return {"route": ctx.websocket.route_key, "text": ctx.text}

    return app


# --- connect, send, receive ------------------------------------------------------------


def test_send_json_and_receive_what_the_app_posted() -> None:
    app = echo_app()
    with WebSocketTestClient(app) as client, client.connect() as ws:
        result = ws.send_json({"action": "echo", "data": [1, "two"]})
        assert result == {"statusCode": 200}
        assert ws.receive_json() == {"echo": [1, "two"]}
        assert ws.pending == 0


def test_text_goes_to_default_and_the_route_response_is_delivered() -> None:
    app = echo_app()
    with WebSocketTestClient(app) as client, client.connect() as ws:
        result = ws.send_text("hello there")
        assert result is not None
        assert result["statusCode"] == 200
        assert json.loads(result["body"]) == {"route": "$default", "text": "hello there"}
        assert ws.receive_text() == '{"route":"$default","text":"hello there"}'


def test_send_text_posted_as_text_and_bytes_arrive_unchanged() -> None:
    app = App()

    @app.websocket("$default")
    def default(ctx: Context) -> None:
        if ctx.websocket.is_message:  # $default also answers $connect/$disconnect here
            ctx.websocket.send("plain")
            ctx.websocket.send(b"\x00\xffraw")

    with WebSocketTestClient(app) as client, client.connect() as ws:
        assert ws.send_text("x") == {"statusCode": 200}
        assert ws.receive_text() == "plain"
        assert ws.receive_bytes() == b"\x00\xffraw"


def test_route_responses_off_delivers_nothing() -> None:
    app = echo_app(route_responses=False)
    with WebSocketTestClient(app) as client, client.connect() as ws:
        result = ws.send_text("hi")
        assert result is not None and "body" in result
        with pytest.raises(TimeoutError, match=r"within 0\.05s"):
            ws.receive_text(timeout=0.05)


def test_receive_times_out_with_a_clear_error() -> None:
    app = echo_app()
    with WebSocketTestClient(app) as client, client.connect() as ws:
        with pytest.raises(TimeoutError) as info:
            ws.receive_json(timeout=0.05)
        assert ws.connection_id in str(info.value)


def test_message_events_have_the_aws_shape() -> None:
    app = App()
    seen: list[dict[str, Any]] = []

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        seen.append(ctx.request.event)

    @app.websocket("$default")
    def default(ctx: Context) -> None:
        seen.append(ctx.request.event)

    @app.websocket("$disconnect")
    def disconnect(ctx: Context) -> None:
        seen.append(ctx.request.event)

    with (
        WebSocketTestClient(app, stage="dev") as client,
        client.connect(headers={"User-Agent": "pytest-ua"}) as ws,
    ):
        ws.send_text("one")
        ws.send_text("two")
    connect_event, first, second, disconnect_event = seen
    assert disconnect_event["requestContext"]["disconnectStatusCode"] == 1000
    assert disconnect_event["requestContext"]["connectionId"] == ws.connection_id
    assert connect_event["requestContext"]["eventType"] == "CONNECT"
    assert connect_event["headers"]["User-Agent"] == "pytest-ua"
    for event in (first, second):
        rc = event["requestContext"]
        assert "headers" not in event
        assert event["isBase64Encoded"] is False
        assert rc["eventType"] == "MESSAGE"
        assert rc["routeKey"] == "$default"
        assert rc["connectionId"] == ws.connection_id
        assert rc["stage"] == "dev"
        assert rc["domainName"] == "abc123.execute-api.us-east-1.amazonaws.com"
        assert rc["apiId"] == "abc123"
        assert rc["identity"] == {"sourceIp": "127.0.0.1", "userAgent": "pytest-ua"}
        assert rc["connectedAt"] == connect_event["requestContext"]["connectedAt"]
    assert [first["body"], second["body"]] == ["one", "two"]
    assert first["requestContext"]["messageId"] != second["requestContext"]["messageId"]
    assert first["requestContext"]["requestId"] != second["requestContext"]["requestId"]


# --- route selection -------------------------------------------------------------------


def test_route_selection_by_action_and_fallback_to_default() -> None:
    app = echo_app()
    with WebSocketTestClient(app) as client, client.connect() as ws:
        ws.send_json({"action": "echo", "data": 1})
        assert ws.receive_json() == {"echo": 1}
        ws.send_json({"action": "unknown"})
        assert ws.receive_json()["route"] == "$default"
        ws.send_json(["not", "an", "object"])
        assert ws.receive_json()["route"] == "$default"
        ws.send_text("{not json")
        assert ws.receive_json() == {"route": "$default", "text": "{not json"}
        # Lifecycle keys are never selected by a message.
        ws.send_json({"action": "$connect"})
        assert ws.receive_json()["route"] == "$default"


def test_route_selection_expression_from_options() -> None:
    app = App(websocket=WebSocketOptions(route_selection="$request.body.meta.type"))
    hits: list[str] = []

    @app.websocket("ping")
    def ping(ctx: Context) -> dict[str, str]:
        hits.append(ctx.websocket.route_key)
        return {"pong": ctx.json()["meta"]["type"]}

    @app.websocket("$default")
    def default(ctx: Context) -> dict[str, str]:
        hits.append(ctx.method)
        return {"fallback": ctx.text}

    with WebSocketTestClient(app) as client, client.connect() as ws:
        ws.send_json({"meta": {"type": "ping"}})
        assert ws.receive_json() == {"pong": "ping"}
        ws.send_json({"action": "ping"})
        assert ws.receive_json() == {"fallback": '{"action":"ping"}'}
    assert hits == ["ping", "MESSAGE"]  # $connect/$disconnect never reach $default


def test_route_selection_template_expression() -> None:
    app = App(websocket=WebSocketOptions(route_selection="${request.body.type}"))

    @app.websocket("chat")
    def chat(ctx: Context) -> str:
        return "chat"

    with WebSocketTestClient(app) as client, client.connect() as ws:
        ws.send_json({"type": "chat"})
        assert ws.receive_text() == "chat"


def test_no_matching_route_and_no_default_is_forbidden_without_invoking() -> None:
    app = App()
    calls: list[str] = []

    @app.websocket("chat")
    def chat(ctx: Context) -> None:
        calls.append("chat")

    with WebSocketTestClient(app) as client, client.connect() as ws:
        assert ws.send_json({"action": "other"}) is None
        answer = ws.receive_json()
        assert answer["message"] == "Forbidden"
        assert answer["connectionId"] == ws.connection_id
        assert ws.send_json({"action": "chat"}) == {"statusCode": 200}
    assert calls == ["chat"]


def test_default_handler_option_answers_unmatched_messages() -> None:
    def fallback(ctx: Context) -> dict[str, str]:
        return {"fallback": ctx.websocket.route_key}

    app = App(websocket=WebSocketOptions(default_handler=fallback))
    with WebSocketTestClient(app) as client, client.connect() as ws:
        ws.send_json({"action": "nothing-registered"})
        assert ws.receive_json() == {"fallback": "$default"}


@pytest.mark.parametrize(
    ("expression", "body", "expected"),
    [
        ("$request.body.action", '{"action": "chat"}', "chat"),
        ("$request.body.action", '{"action": ""}', None),
        ("$request.body.action", '{"other": "chat"}', None),
        ("$request.body.action", '{"action": {"nested": 1}}', None),
        ("$request.body.action", '{"action": 7}', "7"),
        ("$request.body.action", '{"action": true}', "true"),
        ("$request.body.action", "plain text", None),
        ("$request.body.action", "[1, 2]", None),
        ("$request.body.a.b.c", '{"a": {"b": {"c": "deep"}}}', "deep"),
        ("$request.body.a.b.c", '{"a": {"b": "flat"}}', None),
        ("${request.body.type}", '{"type": "join"}', "join"),
        ("${request.body.kind}.${request.body.op}", '{"kind": "room", "op": "join"}', "room.join"),
        ("${request.body.kind}.${request.body.op}", '{"kind": "room"}', None),
        ("static", "anything", "static"),
        ("$request.header.x", '{"x": "y"}', None),
    ],
)
def test_select_route(expression: str, body: str, expected: str | None) -> None:
    assert select_route(expression, body) == expected


# --- $connect ----------------------------------------------------------------------------


def test_query_and_headers_reach_the_connect_handler() -> None:
    app = App()
    seen: dict[str, Any] = {}

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        seen["room"] = ctx.query("room")
        seen["tags"] = ctx.request.multi_query.get("tag")
        seen["client"] = ctx.header("x-client-version")
        seen["ua"] = ctx.websocket.user_agent
        seen["ip"] = ctx.websocket.source_ip
        seen["stage"] = ctx.websocket.stage
        seen["path"] = (ctx.request.event.get("path"), ctx.path)

    with (
        WebSocketTestClient(app, stage="prod", source_ip="198.51.100.4") as client,
        client.connect(
            query={"room": "lobby", "tag": ["a", "b"]},
            headers={"X-Client-Version": "2.1"},
            path="/chat",
        ),
    ):
        pass
    assert seen == {
        "room": "lobby",
        "tags": ["a", "b"],
        "client": "2.1",
        "ua": "testclient",
        "ip": "198.51.100.4",
        "stage": "prod",
        "path": ("/chat", "/connect"),
    }


def test_refused_connect_raises_with_status_and_body() -> None:
    store = MemoryConnectionStore()
    app = App(websocket=WebSocketOptions(auto_connections=True, store=store))
    events_seen: list[str] = []

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        events_seen.append("connect")
        if ctx.query("token") != "good":
            raise LiftError(401, "UNAUTHORIZED", "A valid token is required")

    @app.websocket("$disconnect")
    def disconnect(ctx: Context) -> None:
        events_seen.append("disconnect")

    with WebSocketTestClient(app) as client:
        with pytest.raises(WebSocketRefused) as info:
            client.connect(query={"token": "bad"})
        refused = info.value
        assert refused.status_code == 401
        assert "401" in str(refused)
        assert refused.json() == {
            "error": {"code": "UNAUTHORIZED", "message": "A valid token is required"}
        }
        assert client.connections == []
        assert client.management_api.open_connections() == []
        assert store.count_active() == 0
        with client.connect(query={"token": "good"}):
            assert store.count_active() == 1
    assert events_seen == ["connect", "connect", "disconnect"]


def test_subprotocol_accepted() -> None:
    app = App()
    offered: list[list[str]] = []

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        offered.append(ctx.websocket.requested_subprotocols)
        ctx.websocket.accept_subprotocol("chat.v2")

    with WebSocketTestClient(app) as client:
        with client.connect(subprotocols=["chat.v1", "chat.v2"]) as ws:
            assert ws.accepted_subprotocol == "chat.v2"
            assert ws.connect_response["headers"]["Sec-WebSocket-Protocol"] == "chat.v2"
        with pytest.raises(WebSocketRefused) as info:
            client.connect(subprotocols=["other"])
        assert info.value.status_code == 400
    assert offered == [["chat.v1", "chat.v2"], ["other"]]


def test_no_subprotocol_when_the_app_chooses_none() -> None:
    app = echo_app()
    with WebSocketTestClient(app) as client, client.connect(subprotocols=["x"]) as ws:
        assert ws.accepted_subprotocol is None


def test_posting_during_connect_is_gone_as_on_aws() -> None:
    app = App()
    outcome: list[str] = []

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        try:
            ctx.websocket.send("welcome")
        except ConnectionGoneError:
            outcome.append("gone")

    with WebSocketTestClient(app) as client, client.connect() as ws:
        assert ws.pending == 0
    assert outcome == ["gone"]


def test_authorizer_context_rides_on_every_event() -> None:
    app = App()
    principals: list[Any] = []

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        principals.append(ctx.websocket.authorizer.get("user_id"))

    @app.websocket("$default")
    def default(ctx: Context) -> None:
        principals.append(ctx.websocket.authorizer.get("user_id"))

    @app.websocket("$disconnect")
    def disconnect(ctx: Context) -> None:
        principals.append(ctx.websocket.authorizer.get("user_id"))

    with (
        WebSocketTestClient(app) as client,
        client.connect(authorizer={"user_id": "u-9", "tenant_id": "t"}) as ws,
    ):
        ws.send_text("hi")
    assert principals == ["u-9", "u-9", "u-9"]


# --- closing -----------------------------------------------------------------------------


def disconnect_recording_app() -> tuple[App, list[tuple[str, int | None, str | None]]]:
    app = echo_app()
    closes: list[tuple[str, int | None, str | None]] = []

    @app.websocket("$disconnect")
    def disconnect(ctx: Context) -> None:
        ws = ctx.websocket
        closes.append((ws.connection_id, ws.disconnect_status_code, ws.disconnect_reason))

    return app, closes


def test_close_sends_disconnect_with_code_and_reason() -> None:
    app, closes = disconnect_recording_app()
    with WebSocketTestClient(app) as client:
        ws = client.connect()
        ws.close(4001, "bye")
        assert ws.closed
        assert (ws.close_code, ws.close_reason) == (4001, "bye")
        ws.close()  # closing twice does nothing
        with client.connect() as other:
            pass
    assert closes == [
        (ws.connection_id, 4001, "bye"),
        (other.connection_id, 1000, "Connection Closed Normally"),  # a close without reason
    ]


def test_closed_connection_answers_later_sends_with_gone() -> None:
    app = echo_app()
    with WebSocketTestClient(app) as client:
        ws = client.connect()
        ws.close()
        with pytest.raises(ConnectionGoneError) as info:
            ws.send_json({"action": "echo", "data": 1})
        assert info.value.status_code == 410
        assert info.value.connection_id == ws.connection_id
        with pytest.raises(WebSocketClosed) as closed:
            ws.receive_json()
        assert closed.value.code == 1000


def test_app_posting_to_a_closed_connection_gets_gone() -> None:
    app = App()

    @app.websocket("tell")
    def tell(ctx: Context) -> dict[str, Any]:
        target = ctx.json()["to"]
        try:
            ctx.websocket.post_to(target, {"from": ctx.websocket.connection_id})
        except ConnectionGoneError as exc:
            return {"gone": exc.connection_id}
        return {"delivered": target}

    with WebSocketTestClient(app) as client, client.connect() as alice:
        bob = client.connect()
        alice.send_json({"action": "tell", "to": bob.connection_id})
        assert alice.receive_json() == {"delivered": bob.connection_id}
        assert bob.receive_json() == {"from": alice.connection_id}
        bob.close()
        alice.send_json({"action": "tell", "to": bob.connection_id})
        assert alice.receive_json() == {"gone": bob.connection_id}
        alice.send_json({"action": "tell", "to": "never-existed="})
        assert alice.receive_json() == {"gone": "never-existed="}


def test_server_disconnect_closes_the_client_then_fires_disconnect() -> None:
    app, closes = disconnect_recording_app()
    order: list[str] = []

    @app.websocket("kick")
    def kick(ctx: Context) -> dict[str, bool]:
        target = ctx.json().get("target")
        ctx.websocket.send("before")
        ctx.websocket.disconnect(target)
        order.append("kick returned")
        return {"kicked": True}

    with WebSocketTestClient(app) as client:
        ws = client.connect()
        result = ws.send_json({"action": "kick"})
        assert result is not None and result["statusCode"] == 200
        assert ws.closed
        assert (ws.close_code, ws.close_reason) == (1000, "Connection Closed Normally")
        assert closes == [(ws.connection_id, 1000, "Connection Closed Normally")]
        # What arrived before the close is still readable; then the close is reported.
        assert ws.receive_text() == "before"
        with pytest.raises(WebSocketClosed) as info:
            ws.receive_text()
        assert info.value.code == 1000
        with pytest.raises(ConnectionGoneError):
            ws.send_text("again")

        # Kicking another connection closes that one, not the sender.
        sender, victim = client.connect(), client.connect()
        sender.send_json({"action": "kick", "target": victim.connection_id})
        assert victim.closed and not sender.closed
        assert closes[-1] == (victim.connection_id, 1000, "Connection Closed Normally")
        assert sender.receive_text() == "before"
        assert sender.receive_json() == {"kicked": True}
    assert order == ["kick returned", "kick returned"]


def test_server_disconnect_of_a_gone_connection_is_success() -> None:
    app = App()

    @app.websocket("kick")
    def kick(ctx: Context) -> str:
        ctx.websocket.disconnect(ctx.json()["target"])
        return "ok"

    with WebSocketTestClient(app) as client, client.connect() as ws:
        gone = client.connect()
        gone.close()
        ws.send_json({"action": "kick", "target": gone.connection_id})
        assert ws.receive_text() == "ok"


def test_oversized_message_closes_with_1009() -> None:
    app, closes = disconnect_recording_app()
    with WebSocketTestClient(app) as client:
        ws = client.connect()
        assert ws.send_text("x" * MAX_PAYLOAD_BYTES) is not None
        ws.receive_json()
        with pytest.raises(WebSocketClosed) as info:
            ws.send_text("x" * (MAX_PAYLOAD_BYTES + 1))
        assert info.value.code == 1009
        assert ws.closed
    assert closes == [(ws.connection_id, 1009, "Message too big")]


def test_client_close_closes_open_connections_and_restores_the_api() -> None:
    app, closes = disconnect_recording_app()
    sentinel = FakeManagementAPI()
    app.management_api = sentinel
    client = WebSocketTestClient(app)
    assert app.management_api is client.management_api
    first, second = client.connect(), client.connect()
    first.close()
    assert client.connections == [second]
    client.close()
    assert app.management_api is sentinel
    assert second.closed and second.close_code == 1001
    assert closes == [
        (first.connection_id, 1000, "Connection Closed Normally"),
        (second.connection_id, 1001, "Going away"),
    ]
    client.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        client.connect()


# --- broadcasts and the store ------------------------------------------------------------


def broadcast_app() -> tuple[App, MemoryConnectionStore]:
    store = MemoryConnectionStore()
    app = App(websocket=WebSocketOptions(auto_connections=True, store=store))

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        ctx.set_identity(user_id=ctx.query("user"), tenant_id=ctx.query("tenant"))

    @app.websocket("$disconnect")
    def disconnect(ctx: Context) -> None:
        return None

    @app.websocket("shout")
    def shout(ctx: Context) -> dict[str, Any]:
        record = ctx.websocket.connection
        assert record is not None and record.tenant_id is not None
        result = ctx.websocket.broadcast_to_tenant(record.tenant_id, {"shout": ctx.json()["text"]})
        return {"delivered": sorted(result.delivered), "gone": result.gone}

    return app, store


def test_broadcast_reaches_every_client_of_the_tenant() -> None:
    app, store = broadcast_app()
    with WebSocketTestClient(app) as client:
        a = client.connect(query={"user": "ann", "tenant": "acme"})
        b = client.connect(query={"user": "bob", "tenant": "acme"})
        c = client.connect(query={"user": "cat", "tenant": "acme"})
        outsider = client.connect(query={"user": "dan", "tenant": "other"})
        assert store.count_active() == 4

        result = b.send_json({"action": "shout", "text": "hello"})
        assert result is not None and result["statusCode"] == 200
        for ws in (a, b, c):
            assert ws.receive_json() == {"shout": "hello"}
        assert b.receive_json() == {
            "delivered": sorted([a.connection_id, b.connection_id, c.connection_id]),
            "gone": [],
        }
        assert outsider.pending == 0
        posts = [cid for op, cid in client.management_api.calls if op == "post_to_connection"]
        assert sorted(posts) == sorted([a.connection_id, b.connection_id, c.connection_id])


def test_broadcast_reports_a_closed_connection_as_gone_and_prunes_it() -> None:
    app, store = broadcast_app()
    with WebSocketTestClient(app) as client:
        a = client.connect(query={"user": "ann", "tenant": "acme"})
        b = client.connect(query={"user": "bob", "tenant": "acme"})
        c = client.connect(query={"user": "cat", "tenant": "acme"})
        record = store.get(c.connection_id)
        assert record is not None
        c.close()
        assert store.get(c.connection_id) is None
        store.save(record)  # as if API Gateway's best-effort $disconnect was lost

        a.send_json({"action": "shout", "text": "still here?"})
        assert a.receive_json() == {"shout": "still here?"}
        assert b.receive_json() == {"shout": "still here?"}
        assert a.receive_json() == {
            "delivered": sorted([a.connection_id, b.connection_id]),
            "gone": [c.connection_id],
        }
        assert store.get(c.connection_id) is None
        assert store.count_active() == 2


def test_broadcast_from_the_pool_to_many_connections() -> None:
    app, _ = broadcast_app()
    with WebSocketTestClient(app) as client:
        sockets = [client.connect(query={"user": f"u{i}", "tenant": "big"}) for i in range(60)]
        sockets[0].send_json({"action": "shout", "text": "all"})
        for ws in sockets:
            assert ws.receive_json() == {"shout": "all"}
        summary = sockets[0].receive_json()
        assert len(summary["delivered"]) == 60
        assert all(ws.pending == 0 for ws in sockets)


def test_auto_connections_saves_and_deletes_records() -> None:
    app, store = broadcast_app()
    with WebSocketTestClient(app) as client:
        with client.connect(query={"user": "ann", "tenant": "acme"}) as ws:
            record = store.get(ws.connection_id)
            assert record is not None
            assert (record.user_id, record.tenant_id) == ("ann", "acme")
            assert record.endpoint == "https://abc123.execute-api.us-east-1.amazonaws.com/test"
        assert store.get(ws.connection_id) is None


# --- connection info and Lambda context ---------------------------------------------------


def test_connection_info_through_the_fake() -> None:
    app = App()

    @app.websocket("whoami")
    def whoami(ctx: Context) -> dict[str, Any]:
        info = ctx.websocket.connection_info()
        assert info.connected_at is not None and info.last_active_at is not None
        assert info.connected_at.tzinfo is not None
        assert info.connected_at == ctx.websocket.connected_at
        return {
            "source_ip": info.source_ip,
            "user_agent": info.user_agent,
            "active_after_connect": info.last_active_at >= info.connected_at,
        }

    @app.websocket("ask")
    def ask(ctx: Context) -> dict[str, Any]:
        try:
            ctx.websocket.connection_info(ctx.json()["id"])
        except ConnectionGoneError:
            return {"gone": True}
        return {"gone": False}

    with (
        WebSocketTestClient(app, source_ip="192.0.2.8") as client,
        client.connect(headers={"user-agent": "agent/1"}) as ws,
    ):
        ws.send_json({"action": "whoami"})
        assert ws.receive_json() == {
            "source_ip": "192.0.2.8",
            "user_agent": "agent/1",
            "active_after_connect": True,
        }
        ws.send_json({"action": "ask", "id": "missing="})
        assert ws.receive_json() == {"gone": True}


def test_lambda_context_reaches_the_handler() -> None:
    app = App()
    seen: list[tuple[str, str, str, int]] = []

    @app.websocket("note")
    def note(ctx: Context) -> None:
        lc = ctx.lambda_context
        seen.append(
            (
                ctx.request_id,
                lc.function_name,
                lc.memory_limit_in_mb,
                lc.get_remaining_time_in_millis(),
            )
        )

    with WebSocketTestClient(app) as client, client.connect() as ws:
        ws.send_json({"action": "note"})
        ws.send_json({"action": "note"})
    (rid1, name, memory, remaining), (rid2, *_) = seen
    assert rid1 != rid2
    assert (name, memory) == ("lift-app", "128")
    assert 0 < remaining <= 3000


def test_custom_lambda_context_factory() -> None:
    app = App()
    seen: list[Any] = []

    @app.websocket("note")
    def note(ctx: Context) -> None:
        seen.append(ctx.lambda_context)

    def factory() -> FakeLambdaContext:
        return lambda_context("chat-fn", memory_limit_in_mb=1024, timeout=30, region="eu-west-1")

    with WebSocketTestClient(app, lambda_context=factory) as client, client.connect() as ws:
        ws.send_json({"action": "note"})
    (lc,) = seen
    assert lc.invoked_function_arn == "arn:aws:lambda:eu-west-1:123456789012:function:chat-fn"
    assert lc.memory_limit_in_mb == "1024"
    assert 25_000 < lc.get_remaining_time_in_millis() <= 30_000
    assert lc.log_group_name == "/aws/lambda/chat-fn"


def test_remaining_time_counts_down_to_zero() -> None:
    lc = lambda_context(timeout=0.0)
    assert lc.get_remaining_time_in_millis() == 0


# --- the legacy pattern --------------------------------------------------------------------


def test_legacy_pattern_app_through_the_client() -> None:
    app = App()
    log: list[str] = []

    def on_connect(ctx: Context) -> None:
        log.append(f"{ctx.method} {ctx.path}")

    def on_message(ctx: Context) -> None:
        log.append(f"{ctx.method} {ctx.path}")
        ctx.as_websocket().send({"echo": ctx.text})

    def on_disconnect(ctx: Context) -> None:
        log.append(f"{ctx.method} {ctx.path}")

    app.handle("CONNECT", "/connect", on_connect)
    app.handle("MESSAGE", "/message", on_message)
    app.handle("DISCONNECT", "/disconnect", on_disconnect)

    with WebSocketTestClient(app) as client, client.connect() as ws:
        ws.send_text("hi")
        assert ws.receive_json() == {"echo": "hi"}
        ws.send_json({"action": "anything"})
        assert ws.receive_json() == {"echo": '{"action":"anything"}'}
    assert log == [
        "CONNECT /connect",
        "MESSAGE /message",
        "MESSAGE /message",
        "DISCONNECT /disconnect",
    ]


def test_legacy_message_key_route() -> None:
    app = App()
    app.handle("MESSAGE", "/chat", lambda ctx: {"chat": ctx.json()["text"]})
    with WebSocketTestClient(app) as client, client.connect() as ws:
        assert ws.connect_response == {}  # no $connect route: API Gateway accepts alone
        ws.send_json({"action": "chat", "text": "yo"})
        assert ws.receive_json() == {"chat": "yo"}


def test_error_responses_are_delivered_like_route_responses() -> None:
    app = App()

    @app.websocket("boom")
    def boom(ctx: Context) -> Response:
        raise RuntimeError("internal detail that must not leak")

    with WebSocketTestClient(app) as client, client.connect() as ws:
        result = ws.send_json({"action": "boom"})
        assert result is not None and result["statusCode"] == 500
        answer = ws.receive_json()
        assert answer["error"]["code"] == "INTERNAL_ERROR"
        assert "internal detail" not in json.dumps(answer)


def test_test_connection_is_not_collected_by_pytest() -> None:
    assert TestWebSocket.__test__ is False


# --- FakeManagementAPI on its own ----------------------------------------------------------


def test_fake_answers_gone_for_unknown_and_closed_connections() -> None:
    fake = FakeManagementAPI()
    for call in (
        lambda: fake.post_to_connection("nope", b"x"),
        lambda: fake.get_connection("nope"),
        lambda: fake.delete_connection("nope"),
    ):
        with pytest.raises(ConnectionGoneError):
            call()
    fake.open("c1")
    fake.close("c1", 1001, "Going away")
    with pytest.raises(ConnectionGoneError):
        fake.post_to_connection("c1", b"x")
    with pytest.raises(ConnectionGoneError):
        fake.delete_connection("c1")
    assert [op for op, _ in fake.calls] == [
        "post_to_connection",
        "get_connection",
        "delete_connection",
        "post_to_connection",
        "delete_connection",
    ]


def test_fake_get_connection_shape_and_delete_hook() -> None:
    deleted: list[str] = []
    fake = FakeManagementAPI(on_delete=deleted.append)
    opened = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    inbox = fake.open("c1", source_ip="10.0.0.1", user_agent="ua", connected_at=opened)
    info = fake.get_connection("c1")
    assert info == {
        "ConnectedAt": opened,
        "LastActiveAt": opened,
        "Identity": {"SourceIp": "10.0.0.1", "UserAgent": "ua"},
    }
    fake.post_to_connection("c1", b"one")
    assert fake.get_connection("c1")["LastActiveAt"] > opened
    fake.delete_connection("c1")
    assert deleted == ["c1"]
    assert inbox.get(0) == b"one"
    assert inbox.get(0) is None
    assert (inbox.close_code, inbox.close_reason) == (1000, "Connection Closed Normally")
    assert not fake.is_open("c1")


def test_fake_rejects_oversized_posts() -> None:
    fake = FakeManagementAPI()
    fake.open("c1")
    with pytest.raises(PayloadTooLargeError):
        fake.post_to_connection("c1", b"x" * (MAX_PAYLOAD_BYTES + 1))
    assert len(fake.inbox("c1")) == 0


def test_fake_is_thread_safe_under_concurrent_posts() -> None:
    fake = FakeManagementAPI()
    ids = [f"c{i}" for i in range(20)]
    for cid in ids:
        fake.open(cid)
    start = threading.Barrier(8)

    def hammer(worker: int) -> None:
        start.wait()
        for n in range(250):
            cid = ids[(worker + n) % len(ids)]
            fake.post_to_connection(cid, f"{worker}:{n}".encode())

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(hammer, range(8)))
    received = []
    for cid in ids:
        inbox = fake.inbox(cid)
        while len(inbox):
            received.append(inbox.get(0))
    assert len(received) == 8 * 250
    assert len(set(received)) == 8 * 250
    assert len(fake.calls) == 8 * 250


def test_waiting_receive_wakes_on_a_post_from_another_thread() -> None:
    app = echo_app()
    with WebSocketTestClient(app) as client, client.connect() as ws:
        timer = threading.Timer(
            0.05, client.management_api.post_to_connection, (ws.connection_id, b"late")
        )
        timer.start()
        try:
            assert ws.receive_bytes(timeout=2.0) == b"late"
        finally:
            timer.join()


def test_server_delete_from_outside_an_invocation_fires_disconnect_at_once() -> None:
    app, closes = disconnect_recording_app()
    with WebSocketTestClient(app) as client:
        ws = client.connect()
        client.management_api.delete_connection(ws.connection_id)
        assert ws.closed
        assert closes == [(ws.connection_id, 1000, "Connection Closed Normally")]


def test_an_api_id_alone_names_the_execute_api_domain() -> None:
    app = App()
    endpoints: list[str] = []

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        endpoints.append(ctx.websocket.management_endpoint)

    with WebSocketTestClient(app, api_id="xyz789") as client, client.connect() as ws:
        assert client.domain_name == "xyz789.execute-api.us-east-1.amazonaws.com"
        options = ws.event_options
        assert (options["api_id"], options["domain_name"]) == ("xyz789", client.domain_name)
    assert endpoints == ["https://xyz789.execute-api.us-east-1.amazonaws.com/test"]
    named = WebSocketTestClient(App(), domain_name="q1w2e3.execute-api.eu-west-1.amazonaws.com")
    assert named.api_id == "q1w2e3"
    named.close()
