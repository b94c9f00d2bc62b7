"""The ``lift`` command: --help, routes and invoke, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lift.testing import events

APP_SOURCE = """
from lift import App
from lift.websocket import WebSocketOptions

app = App(websocket=WebSocketOptions(auto_connections=True))
app.handle("CONNECT", "/connect", lambda ctx: None)


@app.get("/users/{id}")
def get_user(ctx):
    return {"id": ctx.param("id")}


@app.websocket("chat")
def chat(ctx):
    return {"echo": ctx.json()["text"]}


@app.sqs("orders-*")
def orders(ctx):
    return {"batchItemFailures": []}


not_an_app = 42
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "myapp.py").write_text(APP_SOURCE, encoding="utf-8")
    return tmp_path


def lift(project: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lift.cli", *args],
        cwd=project,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_lists_every_subcommand(project: Path) -> None:
    result = lift(project, "--help")
    assert result.returncode == 0
    for command in ("routes", "invoke", "dev", "template"):
        assert command in result.stdout


def test_routes_lists_every_registered_route(project: Path) -> None:
    result = lift(project, "routes", "myapp:app")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["KIND", "METHOD", "PATH", "/", "KEY", "/", "PATTERN", "HANDLER"]
    assert any("GET" in line and "/users/{id}" in line and "get_user" in line for line in lines)
    assert any(line.startswith("websocket") and "$connect" in line for line in lines)
    assert any(line.startswith("websocket") and " chat " in line for line in lines)
    assert any(line.startswith("sqs") and "orders-*" in line for line in lines)


def test_routes_explains_a_bad_target(project: Path) -> None:
    missing = lift(project, "routes", "nowhere:app")
    assert missing.returncode != 0 and "cannot import" in missing.stderr
    wrong = lift(project, "routes", "myapp:not_an_app")
    assert wrong.returncode != 0 and "not a lift.App" in wrong.stderr


def test_invoke_prints_the_response(project: Path) -> None:
    event_file = project / "event.json"
    event_file.write_text(json.dumps(events.http_v1(method="GET", path="/users/7")))
    result = lift(project, "invoke", "myapp:app", "--event", str(event_file))
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"id": "7"}


def test_invoke_reads_stdin_and_websocket_events(project: Path) -> None:
    event = events.websocket_message({"action": "chat", "text": "hi"})
    result = lift(project, "invoke", "myapp:app", "--event", "-", stdin=json.dumps(event))
    assert result.returncode == 0, result.stderr
    assert json.loads(json.loads(result.stdout)["body"]) == {"echo": "hi"}


def test_invoke_reports_bad_input_clearly(project: Path) -> None:
    bad = project / "bad.json"
    bad.write_text("{not json")
    result = lift(project, "invoke", "myapp:app", "--event", str(bad))
    assert result.returncode == 2 and "cannot read the event" in result.stderr
    unknown = project / "unknown.json"
    unknown.write_text(json.dumps({"hello": "world"}))
    result = lift(project, "invoke", "myapp:app", "--event", str(unknown))
    assert result.returncode == 1
    assert json.loads(result.stderr)["error"]["code"] == "UNSUPPORTED_EVENT"
    assert "Traceback" not in result.stderr
