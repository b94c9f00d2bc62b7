"""``lift dev`` through the real command: a port in use, --reload and the dev log format."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect

from lift.local.devlog import DevOutput, render_line
from tests.cli_support import lift

APP_SOURCE = """
from pathlib import Path

from lift import App
from lift.middleware import request_logging, websocket_metrics
from lift.websocket import WebSocketOptions

app = App(websocket=WebSocketOptions(auto_connections=True))
app.use(request_logging())
app.use(websocket_metrics())


@app.websocket("$default")
def echo(ctx):
    ctx.logger.info("echoing", size=len(ctx.text))
    ctx.websocket.send("{version}:" + ctx.text)


@app.websocket("$disconnect")
def gone(ctx):
    with open(Path(__file__).with_name("disconnects.txt"), "a") as log:
        log.write("{version} " + str(ctx.websocket.disconnect_status_code) + "\\n")
"""


def source(version: str) -> str:
    return APP_SOURCE.replace("{version}", version)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Dev:
    """A running ``lift dev`` whose output is collected as it comes."""

    def __init__(self, project: Path, *args: str, target: str = "echoapp:app") -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("LIFT_LOG_LEVEL", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "lift.cli", "dev", target, *args],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            assert time.monotonic() < deadline, f"{text!r} never came:\n{self.output}"
            time.sleep(0.05)

    def finish(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.output


def echo(url: str, text: str = "ping", timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with connect(url, open_timeout=2) as ws:
                ws.send(text)
                return str(ws.recv(timeout=5))
        except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.fixture
def project(tmp_path: Path, aws_env: None) -> Iterator[Path]:
    (tmp_path / "echoapp.py").write_text(source("v1"), encoding="utf-8")
    yield tmp_path


@pytest.mark.parametrize("reload", [False, True])
def test_a_port_in_use_is_one_clear_line(project: Path, reload: bool) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        dev = Dev(project, "--port", str(port), *(["--reload"] if reload else []))
        dev.process.wait(timeout=60)
        output = dev.finish()
    assert dev.process.returncode == 2
    assert output.strip() == (
        f"error: port {port} on 127.0.0.1 is already in use (another lift dev?); "
        "choose another with --port"
    )


def test_reload_hands_over_with_a_close_frame_and_disconnect(project: Path) -> None:
    port = free_port()
    url = f"ws://127.0.0.1:{port}/"
    dev = Dev(project, "--port", str(port), "--reload")
    try:
        assert echo(url) == "v1:ping"
        with connect(url, open_timeout=5) as ws:
            ws.send("before")
            assert ws.recv(timeout=5) == "v1:before"
            (project / "echoapp.py").write_text(source("v2"), encoding="utf-8")
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=30)
        assert closed.value.rcvd is not None  # a close frame, not a dropped socket
        assert closed.value.rcvd.code == 1001
        assert echo(url) == "v2:ping"
        assert "v1 1001" in (project / "disconnects.txt").read_text()  # $disconnect ran

        dev.wait_for("Restarted in")
        (project / "echoapp.py").write_text("this is not python(", encoding="utf-8")
        dev.wait_for("still serving the previous version")
        assert echo(url) == "v2:ping"  # a broken change leaves the last good version serving
    finally:
        output = dev.finish()
    assert dev.process.returncode == 0, output
    assert "Restarted in" in output
    assert "SyntaxError" in output
    assert "still serving the previous version" in output
    assert "Traceback" not in output.split("SyntaxError")[-1]


def test_dev_output_is_readable_by_default(project: Path) -> None:
    port = free_port()
    dev = Dev(project, "--port", str(port))
    try:
        assert echo(f"ws://127.0.0.1:{port}/", "hello") == "v1:hello"
    finally:
        output = dev.finish()
    lines = output.splitlines()
    assert not [line for line in lines if line.startswith("{")]  # no JSON, no EMF
    assert "_aws" not in output
    assert [line for line in lines if "echoing" in line and "size=5" in line]
    assert [line for line in lines if "MESSAGE" in line and "$default" in line and "200" in line]
    assert "Request completed" not in output  # the gateway's MESSAGE line says it


def test_json_log_format_keeps_the_raw_lines(project: Path) -> None:
    port = free_port()
    dev = Dev(project, "--port", str(port), "--log-format", "json")
    try:
        assert echo(f"ws://127.0.0.1:{port}/", "hello") == "v1:hello"
    finally:
        output = dev.finish()
    records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert any(r.get("message") == "echoing" for r in records)
    assert any("_aws" in r for r in records)  # EMF documents, as CloudWatch gets them


def test_render_line_shapes() -> None:
    emf = json.dumps({"_aws": {"Timestamp": 1}, "websocket.requests": 1})
    assert render_line(emf) is None
    assert render_line(emf, metrics=True) == emf
    record = {
        "timestamp": "2026-12-01T10:11:12.345Z",
        "level": "ERROR",
        "message": "Payment failed",
        "order": 7,
        "note": "two words",
        "traceback": "Traceback (most recent call last):\n  boom\nValueError: x\n",
    }
    text = render_line(json.dumps(record))
    assert text is not None
    first, *rest = text.splitlines()
    assert first == '10:11:12.345  ERROR       Payment failed  order=7  note="two words"'
    assert rest == ["    Traceback (most recent call last):", "      boom", "    ValueError: x"]
    assert render_line("plain text {not json") == "plain text {not json"
    assert render_line("{not json") == "{not json"
    assert render_line("[1, 2]") == "[1, 2]"


def test_dev_output_joins_partial_writes() -> None:
    import io

    target = io.StringIO()
    out = DevOutput(target)
    out.write('{"_aws": {}, "x"')
    out.write(": 1}\nhello")
    assert target.getvalue() == ""
    out.write(" world\n")
    assert target.getvalue() == "hello world\n"


WORKER_APP = """
import json

from lift import App
from lift.websocket import WebSocketOptions

app = App(websocket=WebSocketOptions(auto_connections=True))


@app.websocket("$connect")
def connect(ctx):
    ctx.set_identity(user_id=ctx.query("user"))


@app.sqs("orders")
def orders(ctx):
    for record in ctx.request.records:
        message = json.loads(record["body"])
        app.connections().broadcast_to_user(message["user"], {"order": message["id"]})
    return {"batchItemFailures": []}


@app.schedule("nightly")
def nightly(ctx):
    app.connections().broadcast_to_user("ada", {"job": "nightly"})
    return {"ran": "nightly"}


@app.schedule("broken")
def broken(ctx):
    raise RuntimeError("the job failed")
"""


def test_fire_runs_workers_against_the_running_gateway(project: Path) -> None:
    (project / "workers.py").write_text(WORKER_APP, encoding="utf-8")
    port = free_port()
    dev = Dev(project, "--port", str(port), target="workers:app")
    try:
        url = f"ws://127.0.0.1:{port}/?user=ada"
        echo_deadline = time.monotonic() + 30
        while True:
            try:
                ws = connect(url, open_timeout=2)
                break
            except (OSError, InvalidHandshake):
                assert time.monotonic() < echo_deadline
                time.sleep(0.05)
        with ws:
            fired = lift(
                project,
                "dev",
                "workers:app",
                "--port",
                str(port),
                "--fire",
                "sqs:orders",
                '{"id": 7, "user": "ada"}',
            )
            assert fired.returncode == 0, fired.stderr
            assert json.loads(fired.stdout) == {"batchItemFailures": []}
            assert json.loads(ws.recv(timeout=10)) == {"order": 7}

            scheduled = lift(
                project, "dev", "workers:app", "--port", str(port), "--schedule", "nightly"
            )
            assert scheduled.returncode == 0, scheduled.stderr
            assert json.loads(scheduled.stdout) == {"ran": "nightly"}
            assert json.loads(ws.recv(timeout=10)) == {"job": "nightly"}

            failing = lift(
                project, "dev", "workers:app", "--port", str(port), "--schedule", "broken"
            )
            assert failing.returncode == 1
            assert (
                "raised" in failing.stderr
                and "the job failed" not in failing.stdout + failing.stderr
            )
    finally:
        output = dev.finish()
    assert "FIRE" in output and "sqs:orders" in output
    assert "RuntimeError: the job failed" in output  # the traceback is in the dev terminal


def test_fire_without_a_gateway_is_one_clear_line(project: Path) -> None:
    port = free_port()
    result = lift(project, "dev", "echoapp:app", "--port", str(port), "--schedule", "nightly")
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: no lift dev gateway at http://127.0.0.1:{port}/")
    assert len(result.stderr.strip().splitlines()) == 1
    bad = lift(project, "dev", "echoapp:app", "--fire", "kafka:topic")
    assert bad.returncode == 2 and "sqs:QUEUE" in bad.stderr


def test_fire_requests_are_checked(aws_env: None) -> None:
    import urllib.error
    import urllib.request

    from lift import App
    from lift.local.fire import FireError, parse_request, parse_spec
    from lift.local.gateway import Gateway

    with pytest.raises(FireError):
        parse_spec("sqs")
    assert parse_spec("schedule:nightly-report") == ("schedule", "nightly-report")
    for raw in (
        b"not json",
        b"[]",
        b'{"source": "kinesis", "name": "x"}',
        b'{"source": "sqs", "name": ""}',
        b'{"source": "sqs", "name": "q"}',
        b'{"source": "sqs", "name": "q", "bodies": ' + json.dumps(list(range(11))).encode() + b"}",
    ):
        with pytest.raises(FireError):
            parse_request(raw)

    app = App()
    ran: list[str] = []
    app.schedule("nightly")(lambda ctx: ran.append("nightly"))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with Gateway(app, quiet=True) as gateway:
        body = json.dumps({"source": "schedule", "name": "nightly"}).encode()

        def post(headers: dict[str, str]) -> int:
            request = urllib.request.Request(
                gateway.url + "/_lift/fire", data=body, method="POST", headers=headers
            )
            try:
                with opener.open(request, timeout=10) as response:
                    return int(response.status)
            except urllib.error.HTTPError as error:
                error.close()
                return int(error.code)

        assert post({"Origin": "http://evil.example"}) == 403  # no foreign page runs workers
        assert ran == []
        assert post({"Origin": gateway.url}) == 200  # the inspector's own page may
        assert post({}) == 200  # and so may a process (lift dev --fire)
        assert ran == ["nightly", "nightly"]
