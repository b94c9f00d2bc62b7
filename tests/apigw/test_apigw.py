"""The API Gateway model on its own: definition, decoding, the sans-I/O protocol."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from lift import App, Context, Handler
from lift.apigw import (
    MAX_FRAME_BYTES,
    Accept,
    ApiDefinition,
    Authorizer,
    Close,
    ConnectionTable,
    IntegrationResponse,
    Invoke,
    LambdaContext,
    MalformedResponseError,
    Refuse,
    Reply,
    WebSocketApi,
    close_reason,
)
from lift.middleware import JWTConfig, websocket_auth
from lift.websocket import ConnectionGoneError, DynamoDBConnectionStore, WebSocketOptions


def ok(ctx: Context) -> Any:
    return {"ok": True}


def passthrough(handler: Handler) -> Handler:
    return handler


def jwt() -> JWTConfig:
    return JWTConfig(secret="s" * 32, algorithms=["HS256"])


# -- ApiDefinition -------------------------------------------------------------------------
def test_an_app_that_cannot_refuse_deploys_only_its_routes() -> None:
    app = App()
    app.websocket("chat", ok)
    definition = ApiDefinition.from_app(app)
    assert definition.routes == ("chat",)
    assert not definition.invokes_connect and not definition.invokes_disconnect
    assert definition.route_responses == frozenset({"chat"})
    assert definition.select('{"action": "chat"}') == "chat"
    assert definition.select('{"action": "other"}') is None  # Forbidden: no $default


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda app: app.use(passthrough), ("$connect", "$disconnect", "chat")),
        (lambda app: app.websocket("$connect", ok), ("$connect", "chat")),
        (lambda app: app.websocket("$disconnect", ok), ("$disconnect", "chat")),
        (lambda app: app.use(websocket_auth(jwt())), ("$connect", "$disconnect", "chat")),
    ],
)
def test_connect_is_deployed_whenever_it_could_refuse(setup: Any, expected: Any) -> None:
    app = App()
    app.websocket("chat", ok)
    setup(app)
    assert ApiDefinition.from_app(app).routes == expected


def test_tracking_a_default_handler_and_the_selection_come_from_the_options() -> None:
    app = App(
        websocket=WebSocketOptions(
            auto_connections=True,
            default_handler=ok,
            route_selection="$request.body.type",
            route_responses=False,
        )
    )
    app.websocket("ping", ok)
    definition = ApiDefinition.from_app(app)
    assert definition.routes == ("$connect", "$disconnect", "$default", "ping")
    assert definition.route_selection == "$request.body.type"
    assert definition.route_responses == frozenset()
    assert definition.connections_table is not None
    assert definition.connections_table.name is None
    assert definition.select('{"type": "nope"}') == "$default"


def test_a_dynamodb_store_names_the_table() -> None:
    store = DynamoDBConnectionStore("orders-connections", region="eu-west-1")
    app = App(websocket=WebSocketOptions(store=store))
    app.websocket("$default", ok)
    table = ApiDefinition.from_app(app).connections_table
    assert table is not None and table.name == "orders-connections"
    assert ApiDefinition.from_app(App()).connections_table is None


def test_websocket_auth_brings_a_request_authorizer() -> None:
    app = App()
    app.use(websocket_auth(jwt(), token_sources="query:token"))
    app.websocket("chat", ok)
    assert ApiDefinition.from_app(app).authorizer == Authorizer(
        ("route.request.querystring.token",)
    )
    skipping = App()
    skipping.use(websocket_auth(jwt(), skip_routes=("$connect",)))
    assert ApiDefinition.from_app(skipping).authorizer is None
    several = App()
    several.use(websocket_auth(jwt()))
    assert ApiDefinition.from_app(several).authorizer == Authorizer(())


def test_other_triggers_are_listed() -> None:
    app = App()
    app.websocket("chat", ok)
    app.get("/health")(ok)
    app.sqs("orders-*")(ok)
    app.schedule("nightly")(ok)
    kinds = {(t.kind, t.method, t.pattern) for t in ApiDefinition.from_app(app).triggers}
    assert kinds == {
        ("http", "GET", "/health"),
        ("sqs", "-", "orders-*"),
        ("schedule", "-", "nightly"),
    }


def test_a_plain_handler_function_gets_every_predefined_route() -> None:
    definition = ApiDefinition.from_app(lambda event, context: {"statusCode": 200})
    assert definition.routes == ("$connect", "$disconnect", "$default")
    assert definition.select('{"action": "anything"}') == "$default"


# -- integration responses ------------------------------------------------------------------
def test_integration_responses_decode() -> None:
    assert IntegrationResponse.decode(None) == IntegrationResponse(200, {}, None)
    decoded = IntegrationResponse.decode({"statusCode": 201, "headers": {"X-A": "1"}, "body": "hé"})
    assert (decoded.status, decoded.header("x-a"), decoded.body) == (201, "1", "hé".encode())
    raw = base64.b64encode(b"\xff\x00").decode()
    assert IntegrationResponse.decode({"body": raw, "isBase64Encoded": True}).body == b"\xff\x00"
    assert IntegrationResponse.decode({"body": "x" * MAX_FRAME_BYTES}).ok


@pytest.mark.parametrize(
    "result",
    [
        "a string",
        {"statusCode": True},
        {"statusCode": 99},
        {"statusCode": "abc"},
        {"body": {"not": "text"}},
        {"body": "not base64!", "isBase64Encoded": True},
        {"body": "/w", "isBase64Encoded": True},
        {"body": "x" * (MAX_FRAME_BYTES + 1)},
        {"body": "é" * (MAX_FRAME_BYTES // 2 + 1)},
        {"body": base64.b64encode(b"x" * (MAX_FRAME_BYTES + 1)).decode(), "isBase64Encoded": True},
        {"body": "\ud800"},
        {"headers": ["no"]},
    ],
)
def test_malformed_integration_responses_are_refused(result: Any) -> None:
    with pytest.raises(MalformedResponseError):
        IntegrationResponse.decode(result)


# -- the protocol ------------------------------------------------------------------------------
def api_for(*routes: str, **options: Any) -> WebSocketApi:
    definition = ApiDefinition(routes=routes, route_responses=frozenset(routes) - {"$connect"})
    return WebSocketApi(definition, **options)


def test_connect_is_invoked_only_when_deployed() -> None:
    assert isinstance(api_for("chat").connect(), Accept)
    assert api_for("$connect", "chat").connect().route_key == "$connect"  # type: ignore[union-attr]


def test_connect_answers() -> None:
    api = api_for("$connect")
    accepted = api.connect_answered(
        {"statusCode": 200, "headers": {"sec-websocket-protocol": "chat.v1"}}
    )
    assert isinstance(accepted, Accept) and accepted.subprotocol == "chat.v1"
    refused = api.connect_answered(
        {"statusCode": 401, "headers": {"X-Why": "token", "Connection": "close"}, "body": "no"}
    )
    assert refused == Refuse(401, {"X-Why": "token"}, b"no")
    assert isinstance(api.connect_answered({"statusCode": "bad"}), Refuse)
    assert api.connect_answered({"statusCode": "bad"}).status == 502  # type: ignore[union-attr]
    assert api.connect_answered(None, failed=True).status == 500  # type: ignore[union-attr]


def test_messages_to_routes_and_refusals() -> None:
    api = api_for("$disconnect", "chat")
    assert api.receive_text("nobody", "{}") is None
    api.opened("c1", source_ip="127.0.0.1", user_agent="ua")
    step = api.receive_text("c1", '{"action": "chat"}')
    assert isinstance(step, Invoke) and (step.route_key, step.body) == (
        "chat",
        '{"action": "chat"}',
    )
    forbidden = api.receive_text("c1", "no route")
    assert isinstance(forbidden, Reply)
    assert json.loads(forbidden.data)["message"] == "Forbidden"
    assert api.receive_text("c1", "x" * (MAX_FRAME_BYTES + 1)) == Close(1009, "Message too big")
    assert api.receive_binary("c1", b"\x00") == Close(1003, "Binary frames are not supported")


def test_answers_become_replies() -> None:
    api = WebSocketApi(ApiDefinition(routes=("chat", "quiet"), route_responses=frozenset({"chat"})))
    api.opened("c1", source_ip="127.0.0.1", user_agent="ua")
    chat, quiet = Invoke("chat", "{}"), Invoke("quiet", "{}")
    assert api.answered("c1", chat, {"statusCode": 200, "body": "hi"}) == Reply(b"hi")
    assert api.answered("c1", chat, {"statusCode": 200}) is None
    assert api.answered("c1", quiet, {"statusCode": 200, "body": "hi"}) is None
    bad = api.answered("c1", chat, {"body": "%%%", "isBase64Encoded": True})
    assert bad is not None and json.loads(bad.data)["message"] == "Internal server error"
    assert json.loads(bad.data)["requestId"] == chat.request_id
    late = api.answered("c1", quiet, None, timed_out=True)
    assert late is not None and json.loads(late.data)["message"] == "Endpoint request timed out"
    failed = api.answered("c1", quiet, None, failed=True)
    assert failed is not None and json.loads(failed.data)["message"] == "Internal server error"


def test_disconnect_runs_once_with_the_first_close() -> None:
    api = api_for("$disconnect")
    api.opened("c1", source_ip="127.0.0.1", user_agent="ua")
    api.connections.delete_connection("c1")  # the app deleted it: 1000
    step = api.closed("c1", 1006)
    assert step == Invoke(
        "$disconnect",
        request_id=step.request_id if step else "",
        close_code=1000,
        close_reason="Connection Closed Normally",
    )
    assert api.closed("c1", 1000) is None
    with pytest.raises(ConnectionGoneError):
        api.connections.post_to_connection("c1", b"x")
    quiet = api_for("chat")
    quiet.opened("c2", source_ip="127.0.0.1", user_agent="ua")
    assert quiet.closed("c2", 1000) is None  # $disconnect is not deployed
    assert not quiet.is_live("c2")


def test_idle_and_old_connections_expire() -> None:
    now = [datetime(2026, 1, 1, tzinfo=timezone.utc)]
    table = ConnectionTable(clock=lambda: now[0])
    api = api_for("chat", connections=table, clock=lambda: now[0], idle_timeout=600)
    api.opened("idle", source_ip="127.0.0.1", user_agent="ua")
    api.opened("busy", source_ip="127.0.0.1", user_agent="ua")
    now[0] += timedelta(seconds=599)
    api.receive_text("busy", "{}")
    assert api.expired() == []
    now[0] += timedelta(seconds=2)
    assert api.expired() == [("idle", Close(1001, "Going away"))]
    now[0] += timedelta(hours=2)
    assert {cid for cid, _ in api.expired()} == {"idle", "busy"}


def test_close_reasons_and_the_lambda_context() -> None:
    assert close_reason(1000) == "Connection Closed Normally"
    assert close_reason(1011) == "Internal server error"
    assert close_reason(4000) == ""
    assert close_reason(1000, "mine") == "mine"
    context = LambdaContext("fn", memory_limit_in_mb=256, timeout=10, region="eu-west-1")
    assert context.invoked_function_arn == "arn:aws:lambda:eu-west-1:123456789012:function:fn"
    assert context.memory_limit_in_mb == "256"
    assert 9000 < context.get_remaining_time_in_millis() <= 10000
    assert LambdaContext().aws_request_id != LambdaContext().aws_request_id


def test_a_table_can_deliver_through_a_hook_and_keep_nothing() -> None:
    seen: list[tuple[str, bytes]] = []
    deleted: list[str] = []
    table = ConnectionTable(
        on_post=lambda cid, data: seen.append((cid, data)),
        on_delete=deleted.append,
        buffer=False,
        keep_history=False,
    )
    table.open("c1")
    table.post_to_connection("c1", b"one")
    assert table.post("c1", b"two") is True
    assert seen == [("c1", b"one"), ("c1", b"two")]
    assert len(table.inbox("c1")) == 0 and table.messages("c1") == []
    assert table.delete("c1") is True and deleted == ["c1"]
    assert table.post("c1", b"late") is False
    assert table.info("c1") is None


@pytest.mark.parametrize("setting", [None, 0, "", "no"])
def test_route_responses_is_a_bool_and_read_alike_by_template_and_runtime(setting: Any) -> None:
    """A value that is not a bool is refused; one set later is read the same way by the
    definition (the template) and the runtime (error frames), so a client never gets an
    error twice (both on) or never (both off)."""
    with pytest.raises(TypeError, match="route_responses"):
        WebSocketOptions(route_responses=setting)
    options = WebSocketOptions()
    options.route_responses = setting
    app = App(websocket=options)
    app.websocket("move", lambda ctx: None)
    definition = ApiDefinition.from_app(app)
    assert definition.returns_response("move") is options.has_route_response("move")
    assert definition.returns_response("move") is bool(setting)
