"""The local gateway (`lift dev`): real WebSocket clients and a real boto3 client over HTTP."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from lift import App, LiftError
from lift.local.gateway import Gateway
from lift.websocket import WebSocketOptions
from lift.websocket.route_selection import route_for
from tests.local_support import Recorder, management_client

CONNECTION_ID = re.compile(r"^[A-Za-z0-9]{15}=$")
MAX = 128 * 1024


def make_app(
    recorder: Recorder, *, route_selection: str = "$request.body.action", default: bool = True
) -> App:
    """A chat-like app: identity from the query, echo on $default, a slow route."""
    app = App(websocket=WebSocketOptions(auto_connections=True, route_selection=route_selection))

    @app.websocket("$connect")
    def on_connect(ctx: Any) -> None:
        recorder.add(ctx.request.event)
        if ctx.query("sleep"):
            time.sleep(float(ctx.query("sleep")))
        if ctx.query("deny"):
            raise LiftError(401, "UNAUTHORIZED", "A token is required")
        if ctx.query("user"):
            ctx.set_identity(user_id=ctx.query("user"), tenant_id=ctx.query("tenant"))
        if "chat.v1" in ctx.websocket.requested_subprotocols:
            ctx.websocket.accept_subprotocol("chat.v1")

    if default:

        @app.websocket("$default")
        def on_default(ctx: Any) -> None:
            recorder.add(ctx.request.event)
            ctx.websocket.send({"route": "$default", "body": ctx.text})

    @app.websocket("chat")
    def on_chat(ctx: Any) -> None:
        recorder.add(ctx.request.event)
        ctx.websocket.send({"route": "chat", "text": ctx.json().get("text")})

    @app.websocket("slow")
    def on_slow(ctx: Any) -> None:
        recorder.add(ctx.request.event)
        time.sleep(float(ctx.json()["seconds"]))
        ctx.websocket.send({"route": "slow"})

    @app.websocket("size")
    def on_size(ctx: Any) -> None:
        ctx.websocket.send({"size": len(ctx.body)})

    @app.websocket("info")
    def on_info(ctx: Any) -> None:
        info = ctx.websocket.connection_info()
        ctx.websocket.send({"sourceIp": info.source_ip, "userAgent": info.user_agent})

    @app.websocket("bye")
    def on_bye(ctx: Any) -> None:
        ctx.websocket.send({"route": "bye"})
        ctx.websocket.disconnect()

    @app.websocket("$disconnect")
    def on_disconnect(ctx: Any) -> None:
        recorder.add(ctx.request.event)

    return app


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def start(aws_env: None) -> Iterator[Callable[..., Gateway]]:
    """Start gateways (stopped after the test)."""
    started: list[Gateway] = []

    def _start(app: Any, **options: Any) -> Gateway:
        options.setdefault("quiet", True)
        gateway = Gateway(app, **options)
        gateway.start()
        started.append(gateway)
        return gateway

    yield _start
    for gateway in reversed(started):  # each restores what the one before it set
        gateway.stop()


@pytest.fixture
def gateway(start: Callable[..., Gateway], recorder: Recorder) -> Gateway:
    return start(make_app(recorder))


def management(gateway: Gateway) -> Any:
    """A boto3 Management API client, as another process would build it."""
    return management_client(gateway.endpoint)


def receive_json(ws: ClientConnection, timeout: float = 5.0) -> Any:
    return json.loads(ws.recv(timeout=timeout))


def closed_code(ws: ClientConnection, timeout: float = 5.0) -> int:
    """Read until the server closes; the close code it sent."""
    with pytest.raises(ConnectionClosed) as info:
        while True:
            ws.recv(timeout=timeout)
    assert info.value.rcvd is not None
    return info.value.rcvd.code


def connection_id_of(gateway: Gateway, recorder: Recorder, count: int = 1) -> str:
    event = recorder.wait("$connect", count)[count - 1]
    connection_id: str = event["requestContext"]["connectionId"]
    deadline = time.monotonic() + 5
    while connection_id not in gateway.connection_ids and time.monotonic() < deadline:
        time.sleep(0.01)
    return connection_id


# -- $connect ------------------------------------------------------------------------
def test_connect_event_carries_headers_query_and_request_context(
    gateway: Gateway, recorder: Recorder
) -> None:
    url = gateway.ws_url + "?room=lobby&tag=a&tag=b"
    with connect(url, additional_headers={"X-Client": "tests"}, user_agent_header="pytest-ws"):
        event = recorder.wait("$connect")[0]
    assert event["headers"]["X-Client"] == "tests"
    assert event["headers"]["User-Agent"] == "pytest-ws"
    assert event["headers"]["Sec-WebSocket-Version"] == "13"
    assert event["multiValueHeaders"]["X-Client"] == ["tests"]
    assert event["queryStringParameters"] == {"room": "lobby", "tag": "b"}
    assert event["multiValueQueryStringParameters"] == {"room": ["lobby"], "tag": ["a", "b"]}
    assert event["isBase64Encoded"] is False
    rc = event["requestContext"]
    assert rc["routeKey"] == "$connect"
    assert rc["eventType"] == "CONNECT"
    assert CONNECTION_ID.match(rc["connectionId"])
    assert rc["stage"] == "local"
    assert rc["apiId"] == "local"
    assert rc["messageDirection"] == "IN"
    assert rc["identity"] == {"sourceIp": "127.0.0.1", "userAgent": "pytest-ws"}
    assert abs(rc["connectedAt"] - time.time() * 1000) < 10_000
    assert rc["requestTimeEpoch"] == rc["connectedAt"]
    assert re.match(r"^\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000$", rc["requestTime"])
    assert rc["requestId"] and rc["extendedRequestId"] == rc["requestId"]


def test_connect_without_query_has_null_query_fields(gateway: Gateway, recorder: Recorder) -> None:
    with connect(gateway.ws_url):
        event = recorder.wait("$connect")[0]
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None


def test_refused_connect_answers_the_handshake_with_the_status(
    gateway: Gateway, recorder: Recorder
) -> None:
    with pytest.raises(InvalidStatus) as info:
        connect(gateway.ws_url + "?deny=1", open_timeout=5)
    response = info.value.response
    assert response.status_code == 401
    assert json.loads(response.body)["error"]["code"] == "UNAUTHORIZED"
    assert gateway.connection_ids == []
    assert not recorder.of("$disconnect")


def test_subprotocol_chosen_on_connect_is_answered(gateway: Gateway) -> None:
    with connect(gateway.ws_url, subprotocols=["chat.v1", "other"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "chat.v1"


def test_clients_may_connect_on_the_stage_path(gateway: Gateway, recorder: Recorder) -> None:
    with connect(gateway.ws_url + "local") as ws:
        ws.send("hi")
        assert receive_json(ws) == {"route": "$default", "body": "hi"}


def test_identity_from_connect_is_stored_and_shown(
    gateway: Gateway, recorder: Recorder, start: Callable[..., Gateway]
) -> None:
    with connect(gateway.ws_url + "?user=ada&tenant=acme"):
        connection_id = connection_id_of(gateway, recorder)
        options = gateway.app.websocket_options  # type: ignore[attr-defined]
        record = options.store.get(connection_id)
        assert (record.user_id, record.tenant_id) == ("ada", "acme")
        assert record.endpoint == gateway.endpoint


# -- messages ------------------------------------------------------------------------
def test_messages_are_routed_by_action(gateway: Gateway, recorder: Recorder) -> None:
    with connect(gateway.ws_url) as ws:
        ws.send(json.dumps({"action": "chat", "text": "hello"}))
        assert receive_json(ws) == {"route": "chat", "text": "hello"}
        ws.send(json.dumps({"action": "unknown", "text": "x"}))
        assert receive_json(ws)["route"] == "$default"
        ws.send("not json at all")
        assert receive_json(ws) == {"route": "$default", "body": "not json at all"}
        ws.send(json.dumps({"action": "$connect"}))
        assert receive_json(ws)["route"] == "$default"
    chat = recorder.wait("chat")[0]
    assert "headers" not in chat
    assert chat["body"] == '{"action": "chat", "text": "hello"}'
    rc = chat["requestContext"]
    assert rc["eventType"] == "MESSAGE"
    assert rc["routeKey"] == "chat"
    assert CONNECTION_ID.match(rc["messageId"])
    assert [e["requestContext"]["routeKey"] for e in recorder.of("$default")] == ["$default"] * 3


def test_custom_route_selection_expression(
    start: Callable[..., Gateway], recorder: Recorder
) -> None:
    gateway = start(make_app(recorder, route_selection="$request.body.meta.kind"))
    with connect(gateway.ws_url) as ws:
        ws.send(json.dumps({"meta": {"kind": "chat"}, "text": "nested"}))
        assert receive_json(ws) == {"route": "chat", "text": "nested"}
        ws.send(json.dumps({"action": "chat", "text": "ignored"}))
        assert receive_json(ws)["route"] == "$default"


def test_route_selection_rules() -> None:
    routes = {"chat", "7", "$default"}
    expression = "$request.body.action"
    assert route_for(expression, '{"action": "chat"}', routes) == "chat"
    assert route_for(expression, '{"action": 7}', routes) == "7"
    assert route_for(expression, '{"action": true}', routes) == "$default"
    assert route_for(expression, '{"action": {"x": 1}}', routes) == "$default"
    assert route_for(expression, "[1, 2]", routes) == "$default"
    assert route_for(expression, '{"action": "$disconnect"}', {"$disconnect"}) == "$default"
    assert route_for("${request.body.a.b}", '{"a": {"b": "chat"}}', routes) == "chat"
    assert route_for("$request.header.x", '{"action": "chat"}', routes) == "$default"


def test_without_a_default_route_unmatched_messages_get_forbidden(
    start: Callable[..., Gateway], recorder: Recorder
) -> None:
    gateway = start(make_app(recorder, default=False))
    with connect(gateway.ws_url) as ws:
        ws.send("no route for this")
        answer = receive_json(ws)
        connection_id = connection_id_of(gateway, recorder)
    assert answer["message"] == "Forbidden"
    assert answer["connectionId"] == connection_id
    assert answer["requestId"]


def test_a_plain_callable_app_that_raises_gets_internal_server_error(
    start: Callable[..., Gateway],
) -> None:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if event["requestContext"]["eventType"] == "MESSAGE":
            raise RuntimeError("boom")
        assert context.get_remaining_time_in_millis() > 0
        return {"statusCode": 200}

    gateway = start(handler)
    with connect(gateway.ws_url) as ws:
        ws.send("anything")
        answer = receive_json(ws)
    assert answer["message"] == "Internal server error"
    assert "boom" not in json.dumps(answer)


def test_messages_of_one_connection_are_handled_in_order(gateway: Gateway) -> None:
    with connect(gateway.ws_url) as ws:
        ws.send(json.dumps({"action": "slow", "seconds": 0.3}))
        ws.send(json.dumps({"action": "chat", "text": "after"}))
        assert receive_json(ws) == {"route": "slow"}
        assert receive_json(ws) == {"route": "chat", "text": "after"}


def test_a_slow_handler_does_not_block_other_connections(gateway: Gateway) -> None:
    with connect(gateway.ws_url) as slow, connect(gateway.ws_url) as fast:
        slow.send(json.dumps({"action": "slow", "seconds": 1.5}))
        time.sleep(0.1)
        started = time.perf_counter()
        for n in range(5):
            fast.send(f"ping {n}")
            assert receive_json(fast, timeout=1.0)["body"] == f"ping {n}"
        assert time.perf_counter() - started < 0.75
        assert receive_json(slow, timeout=5) == {"route": "slow"}


# -- @connections from the app and from outside ----------------------------------------
def test_app_sends_arrive_at_the_client(gateway: Gateway) -> None:
    with connect(gateway.ws_url) as ws:
        ws.send("echo me")
        assert receive_json(ws) == {"route": "$default", "body": "echo me"}


def test_app_reaches_the_gateway_through_boto3_over_http(
    start: Callable[..., Gateway], recorder: Recorder
) -> None:
    gateway = start(make_app(recorder), direct_management=False)
    assert gateway.app.management_api is None  # type: ignore[attr-defined]
    assert os.environ["LIFT_WS_MANAGEMENT_ENDPOINT"] == gateway.endpoint
    with connect(gateway.ws_url, user_agent_header="agent/1") as ws:
        ws.send(json.dumps({"action": "chat", "text": "via boto3"}))
        assert receive_json(ws) == {"route": "chat", "text": "via boto3"}
        ws.send(json.dumps({"action": "info"}))
        assert receive_json(ws) == {"sourceIp": "127.0.0.1", "userAgent": "agent/1"}
        ws.send(json.dumps({"action": "bye"}))
        assert receive_json(ws) == {"route": "bye"}
        assert closed_code(ws) == 1000


def test_environment_and_app_are_restored_after_stop(aws_env: None, recorder: Recorder) -> None:
    app = make_app(recorder)
    before = os.environ.get("LIFT_WS_MANAGEMENT_ENDPOINT")
    with Gateway(app, quiet=True) as gateway:
        assert os.environ["LIFT_WS_MANAGEMENT_ENDPOINT"] == gateway.endpoint
        assert app.management_api is not None
        assert app.websocket_options is not None and app.websocket_options.store is not None
    assert os.environ.get("LIFT_WS_MANAGEMENT_ENDPOINT") == before
    assert app.management_api is None


def test_outside_post_get_and_delete_through_boto3(gateway: Gateway, recorder: Recorder) -> None:
    client = management(gateway)
    with connect(gateway.ws_url, user_agent_header="outside-test") as ws:
        connection_id = connection_id_of(gateway, recorder)
        client.post_to_connection(ConnectionId=connection_id, Data=b'{"n": 1}')
        client.post_to_connection(ConnectionId=connection_id, Data="héllo".encode())
        assert receive_json(ws) == {"n": 1}
        assert ws.recv(timeout=5) == "héllo"
        info = client.get_connection(ConnectionId=connection_id)
        assert info["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "outside-test"}
        assert abs(info["ConnectedAt"].timestamp() - time.time()) < 10
        assert info["LastActiveAt"] >= info["ConnectedAt"]
        client.post_to_connection(ConnectionId=connection_id, Data=b"last words")
        client.delete_connection(ConnectionId=connection_id)
        assert ws.recv(timeout=5) == "last words"
        assert closed_code(ws) == 1000
    event = recorder.wait("$disconnect")[0]
    assert event["requestContext"]["disconnectStatusCode"] == 1000
    assert event["requestContext"]["disconnectReason"] == "Connection Closed Normally"
    for call in (
        lambda: client.post_to_connection(ConnectionId=connection_id, Data=b"late"),
        lambda: client.get_connection(ConnectionId=connection_id),
        lambda: client.delete_connection(ConnectionId=connection_id),
    ):
        with pytest.raises(client.exceptions.GoneException):
            call()


def test_binary_posts_arrive_as_binary_frames(gateway: Gateway, recorder: Recorder) -> None:
    client = management(gateway)
    with connect(gateway.ws_url) as ws:
        connection_id = connection_id_of(gateway, recorder)
        client.post_to_connection(ConnectionId=connection_id, Data=b"\xff\x00\xfe")
        assert ws.recv(timeout=5) == b"\xff\x00\xfe"


def test_gone_after_the_client_closes(gateway: Gateway, recorder: Recorder) -> None:
    client = management(gateway)
    with connect(gateway.ws_url) as ws:
        connection_id = connection_id_of(gateway, recorder)
        ws.close(code=4000, reason="leaving")
    event = recorder.wait("$disconnect")[0]
    assert event["requestContext"]["disconnectStatusCode"] == 4000
    assert event["requestContext"]["disconnectReason"] == "leaving"
    assert event["headers"]["Host"] == "localhost"
    assert set(event["headers"]) == {"Host", "x-api-key", "X-Forwarded-For", "x-restapi"}
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId=connection_id, Data=b"x")
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId="NeverExisted00=", Data=b"x")


def test_post_over_128_kib_is_refused(gateway: Gateway, recorder: Recorder) -> None:
    client = management(gateway)
    with connect(gateway.ws_url):
        connection_id = connection_id_of(gateway, recorder)
        with pytest.raises(client.exceptions.PayloadTooLargeException):
            client.post_to_connection(ConnectionId=connection_id, Data=b"x" * (MAX + 1))


def test_connections_endpoint_answers_like_api_gateway(gateway: Gateway) -> None:
    def status(method: str, path: str) -> int:
        request = urllib.request.Request(gateway.url + path, method=method, data=b"")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            error.close()
            return int(error.code)

    assert status("POST", "/local/@connections/NeverExisted00%3D") == 410
    assert status("POST", "/prod/@connections/abc") == 403
    assert status("PUT", "/local/@connections/abc") == 405
    assert status("GET", "/nothing/here/at/all") == 404


# -- limits and closes ---------------------------------------------------------------
def test_a_message_over_128_kib_closes_with_1009(gateway: Gateway, recorder: Recorder) -> None:
    with connect(gateway.ws_url) as ws:
        ws.send(json.dumps({"action": "size", "pad": "x" * (MAX - 100)}))
        assert receive_json(ws)["size"] <= MAX
        ws.send("y" * (MAX + 1))
        assert closed_code(ws) == 1009
    event = recorder.wait("$disconnect")[0]
    assert event["requestContext"]["disconnectStatusCode"] == 1009
    assert event["requestContext"]["disconnectReason"] == "Message too big"


def test_a_binary_frame_closes_with_1003(gateway: Gateway, recorder: Recorder) -> None:
    with connect(gateway.ws_url) as ws:
        ws.send(b"\x00\x01\x02")
        assert closed_code(ws) == 1003
    assert recorder.wait("$disconnect")[0]["requestContext"]["disconnectStatusCode"] == 1003


def _raw_upgrade(gateway: Gateway) -> socket.socket:
    """Complete a WebSocket handshake by hand on a plain socket."""
    sock = socket.create_connection(("127.0.0.1", gateway.port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{gateway.port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    sock.sendall(request.encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(4096)
        assert chunk, "the gateway closed during the handshake"
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 101")
    return sock


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
def test_an_abrupt_drop_runs_disconnect_with_1006(
    gateway: Gateway, recorder: Recorder, reset: bool
) -> None:
    sock = _raw_upgrade(gateway)
    connection_id = connection_id_of(gateway, recorder)
    if reset:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    event = recorder.wait("$disconnect")[0]
    assert event["requestContext"]["connectionId"] == connection_id
    assert event["requestContext"]["disconnectStatusCode"] == 1006
    assert gateway.connection_ids == []


def test_idle_connections_are_closed(start: Callable[..., Gateway], recorder: Recorder) -> None:
    gateway = start(make_app(recorder), idle_timeout=0.6)
    with connect(gateway.ws_url) as idle, connect(gateway.ws_url) as busy:
        started = time.monotonic()
        for _ in range(8):  # keeps `busy` active for ~0.8 s
            busy.send("still here")
            receive_json(busy)
            time.sleep(0.1)
        assert closed_code(idle) == 1001
        assert 0.5 < time.monotonic() - started < 3
        busy.send("and now?")
        assert receive_json(busy)["body"] == "and now?"
    codes = [e["requestContext"]["disconnectStatusCode"] for e in recorder.wait("$disconnect", 2)]
    assert 1001 in codes


def test_connections_are_closed_after_their_maximum_lifetime(
    start: Callable[..., Gateway], recorder: Recorder
) -> None:
    gateway = start(make_app(recorder), max_lifetime=0.5)
    with connect(gateway.ws_url) as ws:
        started = time.monotonic()
        while time.monotonic() - started < 0.3:
            ws.send("active")
            receive_json(ws)
        assert closed_code(ws) == 1001
    event = recorder.wait("$disconnect")[0]
    assert event["requestContext"]["disconnectReason"] == "Going away"


def test_stop_disconnects_every_client(aws_env: None, recorder: Recorder) -> None:
    gateway = Gateway(make_app(recorder), quiet=True)
    gateway.start()
    with contextlib.ExitStack() as stack:
        clients = [stack.enter_context(connect(gateway.ws_url)) for _ in range(3)]
        recorder.wait("$connect", 3)
        gateway.stop()
        for ws in clients:
            assert closed_code(ws) == 1001
    assert len(recorder.wait("$disconnect", 3)) == 3


def test_one_line_per_event_is_logged(start: Callable[..., Gateway], recorder: Recorder) -> None:
    stream = io.StringIO()
    gateway = start(make_app(recorder), quiet=False, stream=stream)
    with connect(gateway.ws_url) as ws:
        ws.send(json.dumps({"action": "chat", "text": "log me"}))
        receive_json(ws)
    recorder.wait("$disconnect")
    time.sleep(0.1)
    lines = stream.getvalue().splitlines()
    kinds = [line.split()[1] for line in lines]
    assert kinds == ["CONNECT", "OUT", "MESSAGE", "DISCONNECT"]
    assert " chat  200 " in lines[2]
    assert "log me" not in stream.getvalue()


# -- the inspector feed ----------------------------------------------------------------
def test_inspector_page_and_live_feed(gateway: Gateway, recorder: Recorder) -> None:
    with urllib.request.urlopen(gateway.inspector_url, timeout=5) as response:
        page = response.read().decode()
        assert response.headers["Content-Type"].startswith("text/html")
    assert "<title>Lift local gateway</title>" in page
    assert "http://" not in page.replace("http://www.w3.org", "")  # nothing is fetched
    with connect(gateway.url.replace("http", "ws") + "/_lift/events") as feed:
        snapshot = json.loads(feed.recv(timeout=5))
        assert snapshot["type"] == "snapshot"
        assert snapshot["gateway"]["endpoint"] == gateway.endpoint
        assert snapshot["connections"] == []
        with connect(gateway.ws_url + "?user=grace&tenant=navy") as ws:
            ws.send(json.dumps({"action": "chat", "text": "seen"}))
            receive_json(ws)
            updates = [json.loads(feed.recv(timeout=5)) for _ in range(4)]
        connected = updates[0]["connection"]
        assert (connected["user"], connected["tenant"]) == ("grace", "navy")
        entries = [u["entry"] for u in updates[1:]]
        assert [e["kind"] for e in entries] == ["connect", "in", "out"]
        assert entries[1]["route"] == "chat" and "seen" in entries[1]["data"]
        assert json.loads(entries[2]["data"]) == {"route": "chat", "text": "seen"}
        closing = [json.loads(feed.recv(timeout=5)) for _ in range(2)]
        assert {u["type"] for u in closing} == {"disconnect", "log"}
    assert recorder.of("$connect")  # the feed socket never reached the app
    assert len(recorder.of("$connect")) == 1


# -- the `lift dev` command --------------------------------------------------------------
APP_SOURCE = """
from lift import App
from lift.websocket import WebSocketOptions

app = App(websocket=WebSocketOptions(auto_connections=True))


@app.websocket("$default")
def echo(ctx):
    ctx.websocket.send("{version}:" + ctx.text)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _echo_when_ready(url: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with connect(url, open_timeout=2) as ws:
                ws.send("ping")
                return str(ws.recv(timeout=5))
        except (OSError, TimeoutError, InvalidStatus, ConnectionClosed):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _run_lift(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "LIFT_LOG_LEVEL": "ERROR"}
    return subprocess.Popen(
        [sys.executable, "-m", "lift.cli", "dev", "echoapp:app", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output


def test_lift_dev_serves_a_module_from_the_current_directory(tmp_path: Path, aws_env: None) -> None:
    (tmp_path / "echoapp.py").write_text(APP_SOURCE.replace("{version}", "v1"))
    port = _free_port()
    process = _run_lift(tmp_path, "--port", str(port), "--stage", "dev")
    try:
        assert _echo_when_ready(f"ws://127.0.0.1:{port}/") == "v1:ping"
    finally:
        output = _finish(process)
    assert process.returncode == 0, output
    assert f"ws://127.0.0.1:{port}/" in output
    assert f"http://127.0.0.1:{port}/dev/@connections/" in output
    assert re.search(r"CONNECT +\S+ +200", output)
    assert re.search(r"DISCONNECT +\S+ +1000", output)


def test_lift_dev_reload_restarts_on_code_changes(tmp_path: Path, aws_env: None) -> None:
    source = tmp_path / "echoapp.py"
    source.write_text(APP_SOURCE.replace("{version}", "v1"))
    port = _free_port()
    url = f"ws://127.0.0.1:{port}/"
    process = _run_lift(tmp_path, "--port", str(port), "--reload")
    try:
        assert _echo_when_ready(url) == "v1:ping"
        source.write_text(textwrap.dedent(APP_SOURCE.replace("{version}", "v2")))
        deadline = time.monotonic() + 30
        answer = ""
        while answer != "v2:ping" and time.monotonic() < deadline:
            answer = _echo_when_ready(url)
            time.sleep(0.2)
        assert answer == "v2:ping"
    finally:
        output = _finish(process)
    assert "restarting" in output


def test_start_reports_a_port_in_use(aws_env: None, gateway: Gateway, recorder: Recorder) -> None:
    second = Gateway(make_app(recorder), port=gateway.port, quiet=True)
    with pytest.raises(OSError):
        second.start()
    assert os.environ["LIFT_WS_MANAGEMENT_ENDPOINT"] == gateway.endpoint
    second.stop()  # harmless when it never started


def test_static_dir_is_served_beside_the_websocket(
    start: Callable[..., Gateway], recorder: Recorder, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<h1>chat</h1>")
    (site / "app.js").write_text("console.log('hi')")
    (tmp_path / "secret.txt").write_text("not for the web")
    gateway = start(make_app(recorder), static_dir=site)

    def get(path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(gateway.url + path, timeout=5) as response:
                return int(response.status), response.read().decode()
        except urllib.error.HTTPError as error:
            error.close()
            return int(error.code), ""

    assert get("/") == (200, "<h1>chat</h1>")
    assert get("/app.js") == (200, "console.log('hi')")
    assert get("/%2e%2e/secret.txt")[0] == 404
    assert get("/missing.css")[0] == 404
    with connect(gateway.ws_url) as ws:
        ws.send("still a websocket")
        assert receive_json(ws)["body"] == "still a websocket"


def test_returned_bodies_reach_the_client_as_route_responses(
    start: Callable[..., Gateway],
) -> None:
    app = App(websocket=WebSocketOptions())
    app.websocket("echo", lambda ctx: {"echo": ctx.json()["text"]})
    app.websocket("quiet", lambda ctx: None)
    app.websocket("binary", lambda ctx: b"\xff\x00")
    gateway = start(app)
    with connect(gateway.ws_url) as ws:
        ws.send(json.dumps({"action": "quiet"}))
        ws.send(json.dumps({"action": "echo", "text": "hi"}))
        assert receive_json(ws) == {"echo": "hi"}  # nothing came for "quiet"
        ws.send(json.dumps({"action": "binary"}))
        assert ws.recv(timeout=5) == b"\xff\x00"
    with pytest.raises(ValueError, match="disagrees"):
        start(app, route_responses=False)  # the app's error frames would disagree
    app.websocket_options.route_responses = False
    one_way = start(app)
    with connect(one_way.ws_url) as ws:
        ws.send(json.dumps({"action": "echo", "text": "hi"}))
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.3)
