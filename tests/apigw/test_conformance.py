"""Every API Gateway rule, once, holding in both emulators: the test client and the local
gateway (a real WebSocket client against ``lift dev``'s server). See conformance_drivers."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from lift import App, Context, Handler, LiftError
from lift.apigw import MAX_FRAME_BYTES
from lift.ratelimit import rate_limit
from lift.websocket import ConnectionGoneError, WebSocketOptions
from tests.conformance_drivers import DRIVERS, USER_AGENT, Driver, Refused
from tests.local_support import Recorder


def build_app(
    recorder: Recorder,
    *,
    default: bool = True,
    selection: str = "$request.body.action",
    connect_handler: bool = True,
) -> App:
    app = App(websocket=WebSocketOptions(route_selection=selection))

    if connect_handler:

        @app.websocket("$connect")
        def on_connect(ctx: Context) -> None:
            recorder.add(ctx.request.event)
            if ctx.query("slow"):
                time.sleep(float(ctx.query("slow") or 0))
            if ctx.query("deny"):
                raise LiftError(401, "UNAUTHORIZED", "A token is required")
            if "chat.v1" in ctx.websocket.requested_subprotocols:
                ctx.websocket.accept_subprotocol("chat.v1")

    @app.websocket("$disconnect")
    def on_disconnect(ctx: Context) -> None:
        recorder.add(ctx.request.event)

    if default:

        @app.websocket("$default")
        def on_default(ctx: Context) -> Any:
            return {"route": "$default", "body": ctx.text}

    @app.websocket("echo")
    def echo(ctx: Context) -> Any:
        return {"route": "echo", "text": ctx.json().get("text")}

    @app.websocket("whoami")
    def whoami(ctx: Context) -> Any:
        return {"id": ctx.websocket.connection_id}

    @app.websocket("silent")
    def silent(ctx: Context) -> None:
        return None

    @app.websocket("fail")
    def fail(ctx: Context) -> Any:
        raise LiftError(409, "CONFLICT", "Not now")

    @app.websocket("crash")
    def crash(ctx: Context) -> Any:
        raise RuntimeError("secret internal detail")

    @app.websocket("push")
    def push(ctx: Context) -> None:
        ctx.websocket.send({"pushed": ctx.json().get("n")})

    @app.websocket("info")
    def info(ctx: Context) -> Any:
        found = ctx.websocket.connection_info()
        return {"sourceIp": found.source_ip, "userAgent": found.user_agent}

    @app.websocket("post-to")
    def post_to(ctx: Context) -> Any:
        try:
            ctx.websocket.post_to(ctx.json()["to"], {"from": ctx.websocket.connection_id})
        except ConnectionGoneError:
            return {"gone": True}
        return {"delivered": True}

    @app.websocket("kick")
    def kick(ctx: Context) -> None:
        ctx.websocket.disconnect()

    @app.websocket("huge")
    def huge(ctx: Context) -> Any:
        return {"pad": "x" * MAX_FRAME_BYTES}

    @app.websocket("slow")
    def slow(ctx: Context) -> Any:
        time.sleep(float(ctx.json()["seconds"]))
        return {"late": True}

    @app.websocket("size")
    def size(ctx: Context) -> Any:
        return {"size": len(ctx.body)}

    return app


@pytest.fixture(params=sorted(DRIVERS))
def driver(request: pytest.FixtureRequest, aws_env: None) -> Iterator[Driver]:
    chosen: Driver = DRIVERS[request.param]()
    yield chosen
    chosen.stop()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def serve(driver: Driver, recorder: Recorder) -> Callable[..., Driver]:
    """Start the driver on ``build_app(recorder, **app_options)``."""

    def _serve(app: App | None = None, **app_options: Any) -> Driver:
        driver.start(app if app is not None else build_app(recorder, **app_options))
        return driver

    return _serve


def whoami(conn: Any) -> str:
    conn.send_text(json.dumps({"action": "whoami"}))
    connection_id: str = conn.receive_json()["id"]
    return connection_id


# -- route selection -----------------------------------------------------------------------
def test_messages_go_to_the_selected_route_else_default(serve: Callable[..., Driver]) -> None:
    conn = serve().connect()
    conn.send_text(json.dumps({"action": "echo", "text": "hi"}))
    assert conn.receive_json() == {"route": "echo", "text": "hi"}
    for body in (
        json.dumps({"action": "nope"}),
        "not json",
        json.dumps({"action": "$connect"}),
        json.dumps({"action": {"nested": "echo"}}),
        json.dumps([1, 2]),
        "[" * 5000 + "]" * 5000,  # deep nesting is just not an object with an action
    ):
        conn.send_text(body)
        assert conn.receive_json() == {"route": "$default", "body": body}


def test_a_custom_selection_expression(serve: Callable[..., Driver]) -> None:
    conn = serve(selection="$request.body.meta.kind").connect()
    conn.send_text(json.dumps({"meta": {"kind": "echo"}, "text": "nested"}))
    assert conn.receive_json() == {"route": "echo", "text": "nested"}
    conn.send_text(json.dumps({"action": "echo"}))
    assert conn.receive_json()["route"] == "$default"


@pytest.mark.parametrize(
    ("expression", "body", "route"),
    [
        ("${request.body.kind}", '{"kind": "echo", "text": "t"}', "echo"),
        ("${request.body.kind}${request.body.op}", '{"kind": "ec", "op": "ho"}', "echo"),
        ("${request.body.kind}${request.body.op}", '{"kind": "echo"}', "$default"),
        ("$request.body.action", '{"action": 7}', "$default"),
        ("$request.body.action", '{"action": ""}', "$default"),
    ],
)
def test_selection_templates_and_scalars(
    serve: Callable[..., Driver], expression: str, body: str, route: str
) -> None:
    conn = serve(selection=expression).connect()
    conn.send_text(body)
    assert conn.receive_json()["route"] == route


def test_no_route_and_no_default_is_answered_forbidden(serve: Callable[..., Driver]) -> None:
    conn = serve(default=False).connect()
    connection_id = whoami(conn)
    conn.send_text("no route for this")
    answer = conn.receive_json()
    assert answer["message"] == "Forbidden"
    assert answer["connectionId"] == connection_id
    assert isinstance(answer["requestId"], str) and answer["requestId"]


# -- $connect --------------------------------------------------------------------------------
def test_a_refused_connect_answers_its_status_and_never_connects(
    serve: Callable[..., Driver], recorder: Recorder
) -> None:
    driver = serve()
    with pytest.raises(Refused) as refused:
        driver.connect(query={"deny": "1"})
    assert refused.value.status == 401
    assert json.loads(refused.value.body)["error"]["code"] == "UNAUTHORIZED"
    assert len(recorder.of("$connect")) == 1
    whoami(driver.connect())  # the next client is fine
    assert recorder.of("$disconnect") == []


def test_a_middleware_alone_can_refuse_connections(
    serve: Callable[..., Driver], recorder: Recorder
) -> None:
    def members_only(handler: Handler) -> Handler:
        def wrapped(ctx: Context) -> Any:
            if ctx.websocket.is_connect and ctx.query("member") != "yes":
                raise LiftError(403, "FORBIDDEN", "Members only")
            return handler(ctx)

        return wrapped

    app = build_app(recorder, connect_handler=False)
    app.use(members_only)
    driver = serve(app)
    with pytest.raises(Refused) as refused:
        driver.connect()
    assert refused.value.status == 403
    whoami(driver.connect(query={"member": "yes"}))


def test_the_subprotocol_chosen_on_connect_is_answered(serve: Callable[..., Driver]) -> None:
    driver = serve()
    assert driver.connect(subprotocols=["other", "chat.v1"]).subprotocol == "chat.v1"
    assert driver.connect(subprotocols=["other"]).subprotocol is None


# -- limits and close codes -------------------------------------------------------------------
def test_a_frame_at_the_limit_passes_and_one_over_closes_with_1009(
    serve: Callable[..., Driver], recorder: Recorder
) -> None:
    driver = serve()
    conn = driver.connect()
    prefix = '{"action":"size","pad":"'
    exact = prefix + "x" * (MAX_FRAME_BYTES - len(prefix) - 2) + '"}'
    conn.send_text(exact)
    assert conn.receive_json() == {"size": MAX_FRAME_BYTES}
    connection_id = whoami(conn)
    conn.send_text("é" * (MAX_FRAME_BYTES // 2 + 1))  # 2 bytes a character
    assert conn.wait_closed() == (1009, "Message too big")
    assert recorder.disconnect_of(connection_id) == (1009, "Message too big")


def test_a_binary_frame_closes_with_1003(serve: Callable[..., Driver], recorder: Recorder) -> None:
    conn = serve().connect()
    connection_id = whoami(conn)
    conn.send_bytes(b"\x00\x01")
    assert conn.wait_closed() == (1003, "Binary frames are not supported")
    assert recorder.disconnect_of(connection_id) == (1003, "Binary frames are not supported")


@pytest.mark.parametrize(
    ("code", "reason", "reported"),
    [(4001, "bye", "bye"), (1000, "", "Connection Closed Normally"), (1001, "", "Going away")],
)
def test_disconnect_reports_the_clients_code_and_reason(
    serve: Callable[..., Driver], recorder: Recorder, code: int, reason: str, reported: str
) -> None:
    conn = serve().connect()
    connection_id = whoami(conn)
    conn.close(code, reason)
    assert recorder.disconnect_of(connection_id) == (code, reported)
    assert len(recorder.of("$disconnect")) == 1


def test_an_idle_connection_is_closed_with_1001(driver: Driver, recorder: Recorder) -> None:
    driver.start(build_app(recorder), idle_timeout=0.4)
    conn = driver.connect()
    connection_id = whoami(conn)
    time.sleep(0.6)
    driver.tick()
    assert conn.wait_closed() == (1001, "Going away")
    assert recorder.disconnect_of(connection_id) == (1001, "Going away")


def test_a_connection_is_closed_at_its_maximum_lifetime(driver: Driver, recorder: Recorder) -> None:
    driver.start(build_app(recorder), max_lifetime=0.6)
    conn = driver.connect()
    connection_id = whoami(conn)
    for _ in range(4):  # active all along: only the lifetime can close it
        time.sleep(0.2)
        conn.send_text(json.dumps({"action": "silent"}))
    driver.tick()
    assert conn.wait_closed() == (1001, "Going away")
    assert recorder.disconnect_of(connection_id) == (1001, "Going away")


# -- route responses -----------------------------------------------------------------------
def test_route_responses_carry_results_and_errors_but_not_nothing(
    serve: Callable[..., Driver],
) -> None:
    conn = serve().connect()
    conn.send_text(json.dumps({"action": "silent"}))
    conn.send_text(json.dumps({"action": "fail"}))
    assert conn.receive_json() == {"error": {"code": "CONFLICT", "message": "Not now"}}
    conn.send_text(json.dumps({"action": "crash"}))
    crashed = conn.receive_json()
    assert crashed["error"]["code"] == "INTERNAL_ERROR"
    assert "secret" not in json.dumps(crashed)


def test_an_oversize_route_response_is_an_internal_error(
    serve: Callable[..., Driver],
) -> None:
    conn = serve().connect()
    connection_id = whoami(conn)
    conn.send_text(json.dumps({"action": "huge"}))
    answer = conn.receive_json()
    assert answer["message"] == "Internal server error"
    assert answer["connectionId"] == connection_id
    whoami(conn)  # the connection goes on


# -- the integration timeout --------------------------------------------------------------------
def test_a_message_past_the_integration_timeout_is_answered_timed_out(
    driver: Driver, recorder: Recorder
) -> None:
    driver.start(build_app(recorder), integration_timeout=0.3)
    conn = driver.connect()
    connection_id = whoami(conn)
    conn.send_text(json.dumps({"action": "slow", "seconds": 0.6}))
    answer = conn.receive_json()
    assert answer["message"] == "Endpoint request timed out"
    assert answer["connectionId"] == connection_id
    assert isinstance(answer["requestId"], str) and answer["requestId"]
    assert whoami(conn) == connection_id  # the connection goes on, the late answer is dropped


def test_a_connect_past_the_integration_timeout_is_refused_504(
    driver: Driver, recorder: Recorder
) -> None:
    driver.start(build_app(recorder), integration_timeout=0.3)
    with pytest.raises(Refused) as refused:
        driver.connect(query={"slow": "0.6"})
    assert refused.value.status == 504
    assert json.loads(refused.value.body) == {"message": "Endpoint request timed out"}
    whoami(driver.connect(query={"slow": "0.01"}))


def test_without_route_responses_only_posts_arrive(driver: Driver, recorder: Recorder) -> None:
    app = build_app(recorder)
    assert app.websocket_options is not None
    app.websocket_options.route_responses = False
    with pytest.raises(ValueError, match="disagrees"):
        driver.start(app, route_responses=True)  # the app's error frames would disagree
    driver.start(app)
    conn = driver.connect()
    conn.send_text(json.dumps({"action": "echo", "text": "dropped"}))
    conn.send_text(json.dumps({"action": "push", "n": 1}))
    assert conn.receive_json() == {"pushed": 1}


@dataclass
class Move:
    x: int


def refusing_app(*, route_responses: bool) -> App:
    """A typed route and a rate limit: the errors an app sends as frames when needed."""
    app = App(websocket=WebSocketOptions(route_responses=route_responses))
    app.use(rate_limit(per_connection="3/hour"))

    @app.websocket("move", model=Move)
    def move(ctx: Context, message: Move) -> None:
        ctx.websocket.send({"moved": message.x})

    @app.websocket("mark")
    def mark(ctx: Context) -> None:
        ctx.websocket.send({"mark": ctx.json()["n"]})

    return app


@pytest.mark.parametrize("route_responses", [True, False], ids=["route-responses", "one-way"])
def test_an_error_reaches_the_client_once(driver: Driver, route_responses: bool) -> None:
    """Through the route response or as an error frame, never both, never neither."""
    driver.start(refusing_app(route_responses=route_responses))
    conn = driver.connect()
    conn.send_text(json.dumps({"action": "move", "x": "left"}))  # fails validation
    invalid = conn.receive_json()
    assert invalid["error"]["code"] == "VALIDATION_ERROR"
    assert [d["field"] for d in invalid["error"]["details"]] == ["x"]
    conn.send_text(json.dumps({"action": "mark", "n": 1}))
    assert conn.receive_json() == {"mark": 1}  # no second copy of the error came first
    conn.send_text(json.dumps({"action": "move", "x": 2}))
    assert conn.receive_json() == {"moved": 2}
    conn.send_text(json.dumps({"action": "mark", "n": 2}))  # the fourth in an hour
    limited = conn.receive_json()
    assert limited["error"]["code"] == "TOO_MANY_REQUESTS"
    assert limited["error"]["details"]["limit"] == "per_connection"
    with pytest.raises(TimeoutError):
        conn.receive_json(timeout=0.5)  # and nothing more


# -- @connections -------------------------------------------------------------------------------
def test_connections_post_get_and_gone(serve: Callable[..., Driver]) -> None:
    driver = serve()
    first, second = driver.connect(), driver.connect()
    first_id, second_id = whoami(first), whoami(second)
    first.send_text(json.dumps({"action": "push", "n": 7}))
    assert first.receive_json() == {"pushed": 7}
    first.send_text(json.dumps({"action": "info"}))
    assert first.receive_json() == {"sourceIp": "127.0.0.1", "userAgent": USER_AGENT}
    first.send_text(json.dumps({"action": "post-to", "to": second_id}))
    assert second.receive_json() == {"from": first_id}
    assert first.receive_json() == {"delivered": True}
    second.close()
    first.send_text(json.dumps({"action": "post-to", "to": second_id}))
    assert first.receive_json() == {"gone": True}  # 410 GoneException


def test_connections_delete_closes_with_1000_and_runs_disconnect(
    serve: Callable[..., Driver], recorder: Recorder
) -> None:
    conn = serve().connect()
    connection_id = whoami(conn)
    conn.send_text(json.dumps({"action": "kick"}))
    assert conn.wait_closed() == (1000, "Connection Closed Normally")
    assert recorder.disconnect_of(connection_id) == (1000, "Connection Closed Normally")
