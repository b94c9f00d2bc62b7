"""The ``lift`` command run as a real subprocess: --help, --version, routes, invoke,
events, token and new (``lift dev`` is in test_cli_dev.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lift import __version__
from lift.testing import WebSocketTestClient, events
from tests.cli_support import lift

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


def create_app():
    factory_app = App()
    factory_app.get("/made")(lambda ctx: {"made": "by the factory"})
    return factory_app


@app.get("/noisy")
def noisy(ctx):
    print("printed by the handler")
    ctx.logger.info("logged by the handler", step=1)
    return {"quiet": "stdout"}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "myapp.py").write_text(APP_SOURCE, encoding="utf-8")
    return tmp_path


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
    typo = lift(project, "routes", "myapp:ap")
    assert typo.returncode != 0
    assert typo.stderr.strip() == ("error: module 'myapp' has no attribute 'ap' (apps in it: app)")
    factory = lift(project, "routes", "myapp:create_app")
    assert factory.returncode != 0 and "use myapp:create_app() or --factory" in factory.stderr
    for result in (missing, wrong, typo, factory):
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_version_prints_the_package_version(project: Path) -> None:
    result = lift(project, "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"lift {__version__}"


@pytest.mark.parametrize("args", [["myapp:create_app()"], ["myapp:create_app", "--factory"]])
def test_app_factories_are_called(project: Path, args: list[str]) -> None:
    result = lift(project, "routes", *args)
    assert result.returncode == 0, result.stderr
    assert "/made" in result.stdout and "/users/{id}" not in result.stdout
    event = json.dumps(events.http_v2("GET", "/made"))
    invoked = lift(project, "invoke", *args, "-", stdin=event)
    assert json.loads(json.loads(invoked.stdout)["body"]) == {"made": "by the factory"}


def test_invoke_prints_the_response(project: Path) -> None:
    event_file = project / "event.json"
    event_file.write_text(json.dumps(events.http_v1(method="GET", path="/users/7")))
    for args in ([str(event_file)], ["--event", str(event_file)]):  # --event: the old spelling
        result = lift(project, "invoke", "myapp:app", *args)
        assert result.returncode == 0, result.stderr
        response = json.loads(result.stdout)
        assert response["statusCode"] == 200
        assert json.loads(response["body"]) == {"id": "7"}


def test_invoke_keeps_stdout_for_the_result(project: Path) -> None:
    event = json.dumps(events.http_v1(method="GET", path="/noisy"))
    result = lift(project, "invoke", "myapp:app", "-", "--compact", stdin=event)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1  # nothing but the result, as one JSON line
    assert json.loads(json.loads(result.stdout)["body"]) == {"quiet": "stdout"}
    assert "printed by the handler" in result.stderr
    logged = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert any(line["message"] == "logged by the handler" for line in logged)


def test_invoke_without_an_event_says_how(project: Path) -> None:
    result = lift(project, "invoke", "myapp:app")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: give an event file, or - to read it from stdin"


def test_invoke_reads_stdin_and_websocket_events(project: Path) -> None:
    event = events.websocket_message({"action": "chat", "text": "hi"})
    result = lift(project, "invoke", "myapp:app", "-", stdin=json.dumps(event))
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


# -- lift events ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "check", "trigger"),
    [
        (["websocket-connect", "--query", "token=abc"], "$connect", "websocket"),
        (["websocket-message", "--body", '{"action": "chat", "text": "hi"}'], "chat", "websocket"),
        (["websocket-disconnect"], "$disconnect", "websocket"),
        (["http-v1", "--method", "get", "--path", "/users/9"], "/users/9", "http"),
        (["http-v2", "--path", "/users/9"], "/users/9", "http"),
        (["sqs", "--queue", "orders-new", "--body", "{}", "--body", "2"], "orders-new", "sqs"),
        (["s3", "--bucket", "photos", "--key", "a.png"], "photos", "s3"),
        (["eventbridge", "--source", "shop", "--body", '{"id": 3}'], "shop", "eventbridge"),
        (["scheduled", "--rule", "hourly"], "hourly", "scheduled"),
    ],
)
def test_events_prints_events_the_app_routes(
    project: Path, args: list[str], check: str, trigger: str
) -> None:
    result = lift(project, "events", *args)
    assert result.returncode == 0, result.stderr
    event = json.loads(result.stdout)
    assert check in result.stdout
    from lift.events import parse  # the detection the app routes with

    assert parse(event).trigger.value == trigger


def test_events_pipe_into_invoke(project: Path) -> None:
    body = '{"action":"chat","text":"yo"}'
    message = lift(project, "events", "websocket-message", "--body", body)
    result = lift(project, "invoke", "myapp:app", "-", stdin=message.stdout)
    assert json.loads(json.loads(result.stdout)["body"]) == {"echo": "yo"}
    batch = lift(project, "events", "sqs", "--queue", "orders-eu", "--body", "{}")
    result = lift(project, "invoke", "myapp:app", "-", stdin=batch.stdout)
    assert json.loads(result.stdout) == {"batchItemFailures": []}


def test_events_lists_kinds_and_refuses_bad_options(project: Path) -> None:
    listing = lift(project, "events", "--list")
    assert listing.returncode == 0 and "websocket-message" in listing.stdout
    unknown = lift(project, "events", "kafka")
    assert unknown.returncode == 2 and "invalid choice" in unknown.stderr
    bad = lift(project, "events", "http-v1", "--query", "novalue")
    assert bad.returncode == 2 and "NAME=VALUE" in bad.stderr and "Traceback" not in bad.stderr


# -- lift token ----------------------------------------------------------------------------
AUTH_APP = """
from lift import App
from lift.middleware import JWTConfig, websocket_auth
from lift.websocket import WebSocketOptions

config = JWTConfig(
    secret="a-development-secret-of-32-bytes!!",
    algorithms=["HS256"],
    issuer="https://auth.example.com",
    audience=["chat", "admin"],
    tenant_claim="org",
)
app = App(websocket=WebSocketOptions(auto_connections=True))
app.use(websocket_auth(config))


@app.websocket("whoami")
def whoami(ctx):
    return {"user": ctx.user_id, "tenant": ctx.tenant_id, "roles": ctx.claims.get("roles")}


jwks_app = App()
jwks = JWTConfig(jwks_url="https://idp.example.com/jwks", algorithms=["RS256"])
jwks_app.use(websocket_auth(jwks))
plain_app = App()
"""


def test_token_is_accepted_by_the_app(project: Path) -> None:
    (project / "authapp.py").write_text(AUTH_APP, encoding="utf-8")
    result = lift(
        project, "token", "authapp:app", "--sub", "ada", "--tenant", "acme", "--role", "admin"
    )
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert len(result.stdout.splitlines()) == 1 and token.count(".") == 2
    import jwt

    claims = jwt.decode(
        token,
        "a-development-secret-of-32-bytes!!",
        algorithms=["HS256"],
        audience="chat",
        issuer="https://auth.example.com",
    )
    assert claims["exp"] - claims["iat"] == 3600 and claims["org"] == "acme"
    import sys as _sys

    _sys.path.insert(0, str(project))
    try:
        from authapp import app  # type: ignore[import-not-found]
    finally:
        _sys.path.remove(str(project))
    with WebSocketTestClient(app) as client:
        ws = client.connect(query={"token": token})
        ws.send_json({"action": "whoami"})
        assert ws.receive_json() == {"user": "ada", "tenant": "acme", "roles": ["admin"]}


def test_token_honours_ttl_and_refuses_what_it_cannot_sign(project: Path) -> None:
    (project / "authapp.py").write_text(AUTH_APP, encoding="utf-8")
    short = lift(project, "token", "authapp:app", "--ttl", "60")
    import jwt

    claims = jwt.decode(short.stdout.strip(), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 60 and claims["sub"] == "dev-user"
    jwks = lift(project, "token", "authapp:jwks_app")
    assert jwks.returncode == 2 and "JWKS" in jwks.stderr and jwks.stdout == ""
    plain = lift(project, "token", "authapp:plain_app")
    assert plain.returncode == 2 and "websocket_auth" in plain.stderr
    negative = lift(project, "token", "authapp:app", "--ttl", "0")
    assert negative.returncode == 2 and "--ttl" in negative.stderr
    for result in (jwks, plain, negative):
        assert "Traceback" not in result.stderr


# -- lift new ------------------------------------------------------------------------------
def _readme_command(readme: str, section: str) -> str:
    """The first command in the code block under ``## {section}``."""
    text = readme.split(f"## {section}\n", 1)[1]
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    return block.strip().splitlines()[0]


def test_new_makes_a_project_whose_readme_test_command_passes(tmp_path: Path) -> None:
    result = lift(tmp_path, "new", "demo")
    assert result.returncode == 0, result.stderr
    demo = tmp_path / "demo"
    for name in ("app.py", "tests/test_app.py", "README.md", "pyproject.toml", "template.json"):
        assert (demo / name).is_file(), name
    command = _readme_command((demo / "README.md").read_text(encoding="utf-8"), "Test")
    assert command.startswith("python ")
    argv = [sys.executable, *command.split()[1:]]  # this venv's python: offline and fast
    tested = subprocess.run(
        argv, cwd=demo, capture_output=True, text=True, timeout=120, check=False
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "3 passed" in tested.stdout
    template = json.loads((demo / "template.json").read_text(encoding="utf-8"))
    rendered = lift(demo, "template", "app:app")
    assert rendered.returncode == 0, rendered.stderr
    assert template == json.loads(rendered.stdout)  # what `lift template` prints for the app
    assert "whoami" in json.dumps(template)
    routes_listed = lift(demo, "routes", "app:app")
    assert "echo" in routes_listed.stdout and "/health" in routes_listed.stdout


def test_new_refuses_bad_names_and_existing_directories(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    taken = lift(tmp_path, "new", "taken")
    assert taken.returncode == 2 and "already exists" in taken.stderr
    bad = lift(tmp_path, "new", "../escape")
    assert bad.returncode == 2 and "not a project name" in bad.stderr
    assert not (tmp_path.parent / "escape").exists()
