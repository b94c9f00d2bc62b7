"""The documentation's code is real: every snippet is a file, and every file is run.

Each ```python block in docs/*.md starts with ``# snippet: NAME`` and equals the file
docs/snippets/NAME. Snippets that are scripts run (and assert) in a subprocess; snippets
that are pytest modules are run by pytest in a subprocess; snippets that define an app
are driven here with ``lift.testing`` and their outputs asserted. Shell blocks may only
use known commands, and every ``lift`` command they show exists (``lift routes`` and
``lift template`` are run for real).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import jwt
import pytest
import yaml

from lift.local.connections import ConnectionsServer, MemoryConnectionRegistry
from lift.testing import WebSocketRefused, WebSocketTestClient, events, lambda_context
from lift.websocket import Connection
from lift.websocket.stores.dynamodb_channels import record_key
from tests.auth_support import authorizer_event
from tests.paths import REPO

DOCS = REPO / "docs"
SNIPPETS = DOCS / "snippets"
GENERATED = {"performance.md"}  # written by benchmarks/report.py, not by hand
README_SNIPPET = "readme_app.py"  # README.md's example, checked by test_readme.py
MARKER = re.compile(r"^# snippet: (\S+)$")
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```$", re.M | re.S)
SHELL_PROGRAMS = {"lift", "sam", "cdk", "pytest", "./scripts/test"}

SCRIPTS = {
    "async_handlers.py",
    "authorizers.py",
    "batches.py",
    "context_facts.py",
    "eventbridge_routes.py",
    "http_sources.py",
    "deadlines.py",
    "endpoints.py",
    "jwt_configs.py",
    "legacy_routes.py",
    "lifecycle.py",
    "logging_pipeline.py",
    "memory_store.py",
    "pitfall_connect.py",
    "pitfall_disconnect.py",
    "pitfall_identity.py",
    "rate_limits.py",
    "tracing_app.py",
    "typed_routes.py",
    "redaction.py",
    "retries.py",
    "routing.py",
}
"""Complete scripts that assert their own results."""

DRIVEN = {
    "asyncapi_app.py": "tests/test_asyncapi.py",
    "auth_app.py": "test_auth_app_*",
    "channels_app.py": "test_channels_app.py",
    "cdk_app.py": "test_cdk_app_synthesizes_the_deploy_app",
    "deploy_app.py": "test_lift_commands_exist, test_cdk_app_synthesizes_the_deploy_app",
    "chat_app.py": "test_chat_app.py, test_with_gateway.py",
    "disconnecting.py": "test_disconnecting",
    "dynamodb_store.py": "test_dynamodb_store",
    "migration_boto3_after.py": "test_boto3_migration",
    "migration_boto3_before.py": "test_boto3_migration",
    "migration_legacy_after.py": "test_legacy_migration",
    "migration_legacy_before.py": "test_legacy_migration",
    "migration_rooms_after.py": "test_rooms_migration",
    "migration_rooms_before.py": "test_rooms_migration",
    "observability_app.py": "test_observability_app",
    "observability_powertools.py": "test_powertools_sink",
    "overview_app.py": "test_with_events.py",
    "sending.py": "test_sending",
    "subprotocols.py": "test_subprotocols",
    "worker_app.py": "test_worker_app_*",
}
"""App modules, and the tests that drive them."""


# -- reading the docs -----------------------------------------------------------------
def doc_pages() -> list[Path]:
    return sorted(p for p in DOCS.glob("*.md") if p.name not in GENERATED)


def fences() -> list[tuple[str, int, str, str]]:
    """``(page, index, language, content)`` of every fenced block."""
    found = []
    for page in doc_pages():
        text = page.read_text(encoding="utf-8")
        for index, match in enumerate(FENCE.finditer(text)):
            found.append((page.name, index, match.group(1).strip(), match.group(2)))
    return found


def blocks(language: str) -> list[tuple[str, int, str]]:
    return [(page, i, body) for page, i, lang, body in fences() if lang == language]


def snippet_files() -> set[str]:
    return {p.name for p in SNIPPETS.glob("*.py")}


def shown_snippets() -> set[str]:
    names = set()
    for _, _, body in blocks("python"):
        match = MARKER.match(body.splitlines()[0]) if body else None
        if match:
            names.add(match.group(1))
    return names


def block_id(block: tuple[Any, ...]) -> str:
    return f"{block[0]}#{block[1]}"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for subprocesses: no AWS or Lift settings leak in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LIFT_"))}
    env.update(
        AWS_CONFIG_FILE="/nonexistent/aws-config",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/aws-credentials",
        NO_PROXY="127.0.0.1,localhost",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra)
    return env


def load(name: str) -> ModuleType:
    """Import docs/snippets/NAME as a fresh module."""
    spec = importlib.util.spec_from_file_location(
        f"docs_snippet_{Path(name).stem}_{uuid.uuid4().hex}", SNIPPETS / name
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- the docs and the files agree -----------------------------------------------------
def test_docs_exist_and_use_known_fences() -> None:
    pages = {p.name for p in doc_pages()}
    assert {
        "index.md",
        "getting-started.md",
        "websockets.md",
        "connection-stores.md",
        "auth.md",
        "observability.md",
        "testing.md",
        "local-gateway.md",
        "deploying.md",
        "migration.md",
    } <= pages
    for page, index, language, _ in fences():
        assert language in {"python", "bash", "json"}, f"{page} block {index}: {language!r}"


@pytest.mark.parametrize("block", blocks("python"), ids=block_id)
def test_python_block_is_its_snippet_file(block: tuple[str, int, str]) -> None:
    page, index, body = block
    first = body.splitlines()[0] if body else ""
    match = MARKER.match(first)
    assert match, f"{page} block {index} must start with '# snippet: NAME', got {first!r}"
    path = SNIPPETS / match.group(1)
    assert path.is_file(), f"{page} shows {path.name}, which does not exist"
    assert body == path.read_text(encoding="utf-8"), f"{page} block {index} != {path.name}"


def test_every_snippet_file_is_shown_and_exercised() -> None:
    files = snippet_files() - {README_SNIPPET}
    assert files == shown_snippets(), "every snippet file appears in the docs, and only those"
    pytest_modules = {name for name in files if name.startswith("test_")}
    covered = SCRIPTS | set(DRIVEN) | pytest_modules
    assert files == covered, f"not exercised: {files - covered}; unknown: {covered - files}"
    assert not SCRIPTS & set(DRIVEN)
    for name in SCRIPTS:
        assert "assert " in (SNIPPETS / name).read_text(encoding="utf-8"), name


def test_json_blocks_parse() -> None:
    found = blocks("json")
    assert found
    for page, index, body in found:
        assert isinstance(json.loads(body), dict), f"{page} block {index}"


def _slug(heading: str) -> str:
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {_slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", text, re.M)}


def test_links_between_pages_resolve() -> None:
    checked = 0
    for page in doc_pages():
        text = FENCE.sub("", page.read_text(encoding="utf-8"))
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if target.startswith(("http://", "https://")):
                continue
            path, _, anchor = target.partition("#")
            linked = (DOCS / path) if path else page
            assert linked.is_file(), f"{page.name} links to missing {target}"
            if anchor and linked.suffix == ".md":
                assert anchor in _anchors(linked), f"{page.name} links to missing {target}"
            checked += 1
    assert checked > 20


# -- shell blocks -----------------------------------------------------------------------
def _lift(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("lift")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "lift.cli"]
    return subprocess.run(
        [*command, *args],
        cwd=SNIPPETS,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def shell_lines() -> list[tuple[str, str]]:
    lines = []
    for page, _, body in blocks("bash"):
        for raw in body.splitlines():
            line = raw.split(" #", 1)[0].strip()
            if line:
                lines.append((page, line))
    return lines


def test_shell_blocks_use_real_commands() -> None:
    lines = shell_lines()
    assert any(line.startswith("lift dev") for _, line in lines)
    assert any(line.startswith("lift template") for _, line in lines)
    for page, line in lines:
        assert shlex.split(line)[0] in SHELL_PROGRAMS, f"{page}: {line}"


@pytest.mark.parametrize(
    "line",
    sorted({line for _, line in shell_lines() if line.startswith("lift ")}),
)
def test_lift_commands_exist(line: str) -> None:
    words = shlex.split(line)
    if ">" in words:
        words = words[: words.index(">")]
    subcommand, args = words[1], words[2:]
    usage = _lift("--help")
    assert usage.returncode == 0
    assert re.search(rf"^\s+{re.escape(subcommand)}\s", usage.stdout, re.M), subcommand
    help_text = _lift(subcommand, "--help").stdout
    for arg in args:
        if arg.startswith("--"):
            assert arg.split("=", 1)[0] in help_text, f"lift {subcommand} has no {arg}"
    if subcommand in ("routes", "template"):
        result = _lift(*words[1:], env=clean_env(JWT_SECRET=secrets.token_urlsafe(48)))
        assert result.returncode == 0, result.stderr
        if subcommand == "template":
            yaml_output = "yaml" in words
            template = yaml.safe_load(result.stdout) if yaml_output else json.loads(result.stdout)
            assert template["Transform"] == "AWS::Serverless-2016-10-31"
            assert "WebSocketApi" in template["Resources"]
            assert result.stderr == ""  # every trigger wired
        else:
            assert "$connect" in result.stdout


# -- snippets that run by themselves ------------------------------------------------------
@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_script_snippet_runs(name: str) -> None:
    result = subprocess.run(
        [sys.executable, "-W", "error", name],
        cwd=SNIPPETS,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", sorted(n for n in snippet_files() if n.startswith("test_")))
def test_pytest_snippet_passes(name: str) -> None:
    tests = len(re.findall(r"^def test_", (SNIPPETS / name).read_text(encoding="utf-8"), re.M))
    assert tests > 0
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(SNIPPETS / name)],
        cwd=REPO,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{tests} passed" in result.stdout, result.stdout


# -- app snippets, driven here --------------------------------------------------------------
@pytest.fixture(autouse=True)
def no_lift_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Snippets loaded here see no endpoint, table or DynamoDB endpoint unless a test sets one."""
    for name in ("LIFT_WS_MANAGEMENT_ENDPOINT", "LIFT_CONNECTIONS_TABLE", "LIFT_DYNAMODB_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)


def test_sending() -> None:
    app = load("sending.py").app
    store = app.websocket_options.store
    with WebSocketTestClient(app) as client:
        ana = client.connect(query={"user": "ana"})
        ana_tablet = client.connect(query={"user": "ana"})
        ben = client.connect(query={"user": "ben"})
        lost = client.connect(query={"user": "lost"})

        ana.send_json({"action": "echo", "n": 1})
        assert ana.receive_text() == '{"action":"echo","n":1}'

        ana.send_json({"action": "direct", "to": ben.connection_id, "text": "hi"})
        assert ben.receive_json() == {"text": "hi"}

        client.management_api.close(lost.connection_id)  # gone without a $disconnect
        assert store.get(lost.connection_id) is not None
        ana.send_json({"action": "direct", "to": lost.connection_id, "text": "hi"})
        assert ana.receive_json() == {"error": "gone", "to": lost.connection_id}
        assert store.get(lost.connection_id) is None

        targets = [ben.connection_id, lost.connection_id, ana_tablet.connection_id]
        ana.send_json({"action": "announce", "to": targets, "text": "news"})
        assert ana.receive_json() == {
            "delivered": [ben.connection_id, ana_tablet.connection_id],
            "gone": [lost.connection_id],
            "failed": 0,
        }
        assert ben.receive_json() == ana_tablet.receive_json() == {"text": "news"}

        ben.send_json({"action": "notify", "user": "ana", "text": "ping"})
        assert ana.receive_json() == ana_tablet.receive_json() == {"text": "ping"}
        assert ben.receive_json() == {"delivered": 2}

        ana.send_json({"action": "big"})
        assert ana.receive_json() == {
            "error": "PAYLOAD_TOO_LARGE",
            "size": 128 * 1024 + 1,
            "limit": 128 * 1024,
        }
        assert ana.pending == ben.pending == 0


def test_disconnecting(capsys: pytest.CaptureFixture[str]) -> None:
    app = load("disconnecting.py").app
    with WebSocketTestClient(app) as client:
        ana = client.connect(headers={"User-Agent": "ana-phone"})
        ben = client.connect()

        ana.send_json({"action": "info"})
        info = ana.receive_json()
        assert info["source_ip"] == "127.0.0.1" and info["user_agent"] == "ana-phone"
        assert info["connected_at"].endswith("+00:00") and info["last_active_at"]

        ana.send_json({"action": "kick", "connection_id": ben.connection_id})
        assert ben.closed and ben.close_code == 1000
        ana.send_json({"action": "kick", "connection_id": ben.connection_id})  # gone: fine
        ana.send_json({"action": "info", "connection_id": ben.connection_id})
        assert ana.receive_json() == {"gone": True}

        ana.send_json({"action": "leave"})
        assert ana.receive_json() == {"bye": True}
        assert ana.closed
    closed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    closed = [line for line in closed if line["message"] == "Closed"]
    assert [(c["code"], c["reason"]) for c in closed] == [
        (1000, "Connection Closed Normally"),
        (1000, "Connection Closed Normally"),
    ]


def test_subprotocols() -> None:
    app = load("subprotocols.py").app
    with WebSocketTestClient(app) as client:
        assert client.connect(subprotocols=["chat.v1", "chat.v2"]).accepted_subprotocol == "chat.v2"
        assert client.connect(subprotocols=["chat.v1"]).accepted_subprotocol == "chat.v1"
        assert client.connect().accepted_subprotocol is None
        with pytest.raises(WebSocketRefused) as refused:
            client.connect(subprotocols=["mqtt"])
        assert refused.value.status_code == 400


def test_worker_app_under_the_test_client() -> None:
    app = load("worker_app.py").app
    with WebSocketTestClient(app) as client:
        phone, laptop = client.connect(query={"user": "ana"}), client.connect(query={"user": "ana"})
        job = {
            "id": "j-1",
            "user": "ana",
            "endpoint": "https://abc123.execute-api.us-east-1.amazonaws.com/test",
        }
        app(events.sqs(json.dumps(job), queue="finished-jobs"), lambda_context())
        assert phone.receive_json() == laptop.receive_json() == {"job": "j-1", "done": True}


def test_worker_app_over_http(
    aws_env: None, connections_server: tuple[ConnectionsServer, MemoryConnectionRegistry]
) -> None:
    server, registry = connections_server
    app = load("worker_app.py").app
    registry.open("c-1")
    app.websocket_options.store.save(Connection("c-1", user_id="ana"))
    app.websocket_options.store.save(Connection("c-gone", user_id="ana"))
    job = {"id": "j-2", "user": "ana", "endpoint": server.endpoint}
    app(events.sqs(json.dumps(job), queue="finished-jobs"), lambda_context())
    assert [json.loads(m) for m in registry.messages("c-1")] == [{"job": "j-2", "done": True}]
    assert app.websocket_options.store.get("c-gone") is None  # gone: pruned


def test_dynamodb_store(moto_url: str, ddb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    table = f"docs-connections-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("LIFT_CONNECTIONS_TABLE", table)
    monkeypatch.setenv("LIFT_DYNAMODB_ENDPOINT", moto_url)
    module = load("dynamodb_store.py")
    module.store.create_table()
    module.store.create_table()  # an existing table is left alone

    description = ddb.describe_table(TableName=table)["Table"]
    assert {i["IndexName"] for i in description["GlobalSecondaryIndexes"]} == {
        "by_user",
        "by_tenant",
    }
    ttl = ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at"

    with WebSocketTestClient(module.app) as client:
        ana = client.connect(query={"user": "ana", "org": "acme", "client": "ios"})
        anonymous = client.connect()
        item = ddb.get_item(TableName=table, Key=record_key(ana.connection_id))["Item"]
        assert {name: next(iter(value)) for name, value in item.items()} == {
            "pk": "S",
            "sk": "S",
            "connection_id": "S",
            "user_id": "S",
            "tenant_id": "S",
            "connected_at": "S",
            "endpoint": "S",
            "claims": "S",
            "metadata": "S",
            "expires_at": "N",
        }
        assert json.loads(item["metadata"]["S"]) == {"client": "ios"}
        assert item["endpoint"]["S"] == "https://abc123.execute-api.us-east-1.amazonaws.com/test"
        assert int(item["expires_at"]["N"]) - time.time() > 7100  # two hours from now

        sparse = ddb.get_item(TableName=table, Key=record_key(anonymous.connection_id))["Item"]
        assert "user_id" not in sparse and "tenant_id" not in sparse

        assert [c.connection_id for c in module.store.list_by_tenant("acme")] == [ana.connection_id]
        ana.send_json({"action": "online"})
        assert ana.receive_json() == {"connections": 2}
    assert ddb.scan(TableName=table)["Count"] == 0  # deleted on $disconnect


def _token(secret: str, **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "sub": "ana",
        "tenant_id": "acme",
        "roles": ["admin"],
        "iss": "https://auth.example.com/",
        "aud": "chat",
        "iat": now,
        "exp": now + 600,
        **claims,
    }
    return jwt.encode(payload, secret, algorithm="HS256")


@pytest.fixture
def auth_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    secret = secrets.token_urlsafe(48)
    monkeypatch.setenv("JWT_SECRET", secret)
    yield load("auth_app.py"), secret


def test_auth_app_token_sources(auth_app: tuple[Any, str]) -> None:
    module, secret = auth_app
    token = _token(secret)
    expected = {"user": "ana", "tenant": "acme", "roles": ["admin"]}
    with WebSocketTestClient(module.app) as client:
        for ws in (
            client.connect(query={"token": token}),
            client.connect(query={"Authorization": token}),
            client.connect(headers={"Authorization": f"Bearer {token}"}),
            client.connect(subprotocols=["chat", token]),
        ):
            ws.send_json({"action": "whoami"})
            assert ws.receive_json() == expected  # restored from the store
        assert client.connections[-1].accepted_subprotocol == "chat"

        ws = client.connect(query={"token": token})
        ws.send_json({"action": "health"})
        # skipped: not checked, yet the connection's identity is still restored
        assert ws.receive_json() == {"ok": True, "authenticated": True}


def test_auth_app_refusals(auth_app: tuple[Any, str]) -> None:
    module, secret = auth_app
    cases = {
        "Missing token": {},
        "Invalid token": {"token": _token("another-secret-" + "x" * 40)},
        "Token expired": {"token": _token(secret, exp=int(time.time()) - 60)},
    }
    with WebSocketTestClient(module.app) as client:
        for message, query in cases.items():
            with pytest.raises(WebSocketRefused) as refused:
                client.connect(query=query)
            assert refused.value.status_code == 401
            assert refused.value.json() == {"error": {"code": "UNAUTHORIZED", "message": message}}
        assert module.app.websocket_options.store.count_active() == 0
    stranger = module.app(events.websocket_message({"action": "whoami"}, connection_id="nobody"))
    assert stranger["statusCode"] == 401
    assert json.loads(stranger["body"])["error"]["message"] == "Not authenticated"


def test_auth_app_authorizer(auth_app: tuple[Any, str]) -> None:
    module, secret = auth_app
    event = authorizer_event(query={"token": _token(secret, roles=["admin", "dev"])})
    policy = module.authorizer(event, lambda_context())
    assert policy["principalId"] == "ana"
    statement = policy["policyDocument"]["Statement"][0]
    assert (statement["Effect"], statement["Resource"]) == ("Allow", event["methodArn"])
    assert policy["context"] == {"user_id": "ana", "tenant_id": "acme", "roles": "admin,dev"}
    with pytest.raises(Exception, match="Unauthorized"):
        module.authorizer(authorizer_event(query={"token": "nope"}), lambda_context())

    with WebSocketTestClient(module.app) as client:
        ws = client.connect(query={"token": _token(secret)}, authorizer=policy["context"])
        ws.send_json({"action": "whoami"})
        assert ws.receive_json() == {"user": "ana", "tenant": "acme", "roles": ["admin", "dev"]}


def test_observability_app(capsys: pytest.CaptureFixture[str]) -> None:
    app = load("observability_app.py").app
    event = events.websocket_message({"action": "chat", "text": "hi", "room": "books"})
    app(event, lambda_context(aws_request_id="req-42"))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    logs = {line["message"]: line for line in lines if "message" in line}
    assert logs["Chat message"]["request_id"] == "req-42"
    assert logs["Chat message"]["service"] == "chat"
    completed = logs["Request completed"]
    assert (completed["route_key"], completed["event_type"], completed["status"]) == (
        "chat",
        "MESSAGE",
        200,
    )
    documents = {
        tuple(d["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]): d for d in lines if "_aws" in d
    }
    assert documents[("room",)]["chat.messages"] == 1
    emitted = documents[("event_type", "route_key")]
    (shown,) = [json.loads(body) for page, _, body in blocks("json") if page == "observability.md"]
    assert emitted["_aws"]["CloudWatchMetrics"] == shown["_aws"]["CloudWatchMetrics"]
    assert set(emitted) == set(shown)
    assert emitted["websocket.message.size"] == len(event["body"])


def test_powertools_sink(capsys: pytest.CaptureFixture[str]) -> None:
    app = load("observability_powertools.py").app
    with WebSocketTestClient(app) as client, client.connect() as ws:
        ws.send_text("hello")
        assert ws.receive_text() == "hello"
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    messages = [d for d in documents if d.get("event_type") == "MESSAGE"]
    assert len(messages) == 1
    metrics = messages[0]["_aws"]["CloudWatchMetrics"][0]
    assert metrics["Namespace"] == "Chat"
    assert set(metrics["Dimensions"][0]) == {"event_type", "route_key", "service"}
    assert messages[0]["service"] == "chat" and messages[0]["websocket.message.size"] == [5.0]


@pytest.mark.parametrize("name", ["migration_legacy_before.py", "migration_legacy_after.py"])
def test_legacy_migration(name: str) -> None:
    module = load(name)
    app = module.app
    store = getattr(module, "store", None) or app.websocket_options.store
    with WebSocketTestClient(app) as client:
        with pytest.raises(WebSocketRefused) as refused:
            client.connect()
        assert refused.value.status_code == 401
        ws = client.connect(query={"user": "ana"})
        assert store.count_active() == 1
        ws.send_json({"action": "whoami"})
        assert ws.receive_json() == {"user": "ana"}
        ws.send_json({"action": "ping"})
        assert ws.receive_text() == "pong"
        ws.send_json({"action": "dance"})
        assert ws.receive_json() == {"error": "unknown action"}
        ws.close()
        assert store.count_active() == 0


@pytest.fixture
def connections_server() -> Iterator[tuple[ConnectionsServer, MemoryConnectionRegistry]]:
    registry = MemoryConnectionRegistry()
    with ConnectionsServer(registry, stage="prod") as server:
        yield server, registry


@pytest.mark.parametrize("name", ["migration_boto3_before.py", "migration_boto3_after.py"])
def test_boto3_migration(
    name: str,
    moto_url: str,
    ddb: Any,
    monkeypatch: pytest.MonkeyPatch,
    connections_server: tuple[ConnectionsServer, MemoryConnectionRegistry],
) -> None:
    server, registry = connections_server
    table = f"docs-migration-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("CONNECTIONS_TABLE", table)
    monkeypatch.setenv("LIFT_CONNECTIONS_TABLE", table)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto_url)
    monkeypatch.setenv("LIFT_DYNAMODB_ENDPOINT", moto_url)
    monkeypatch.setenv("WEBSOCKET_ENDPOINT", server.endpoint)
    monkeypatch.setenv("LIFT_WS_MANAGEMENT_ENDPOINT", server.endpoint)
    module = load(name)
    if hasattr(module, "store"):
        module.store.create_table()

        def stored(connection_id: str) -> bool:
            return module.store.get(connection_id) is not None
    else:
        ddb.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "connectionId", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "connectionId", "KeyType": "HASH"}],
        )

        def stored(connection_id: str) -> bool:
            key = {"connectionId": {"S": connection_id}}
            return "Item" in ddb.get_item(TableName=table, Key=key)

    handler = module.lambda_handler

    def call(event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = handler(event, lambda_context())
        return result

    people = {"c-ana": ("ana", "books"), "c-ben": ("ben", "books"), "c-cy": ("cy", "films")}
    for cid, (user, room) in people.items():
        response = call(
            events.websocket_connect(connection_id=cid, query={"user": user, "room": room})
        )
        assert response["statusCode"] == 200
        registry.open(cid)
    assert call(events.websocket_connect(connection_id="c-anon"))["statusCode"] == 401
    assert not stored("c-anon")

    assert (
        call(events.websocket_message({"text": "hi"}, connection_id="c-ana"))["statusCode"] == 200
    )
    said = {"from": "ana", "text": "hi"}
    assert [json.loads(m) for m in registry.messages("c-ana")] == [said]
    assert [json.loads(m) for m in registry.messages("c-ben")] == [said]
    assert registry.messages("c-cy") == []

    registry.close("c-ben")  # ben vanished without a $disconnect
    call(events.websocket_message({"text": "still there?"}, connection_id="c-ana"))
    assert not stored("c-ben") and stored("c-ana")

    assert call(events.websocket_message("not JSON", connection_id="c-ana"))["statusCode"] == 400

    assert call(events.websocket_disconnect(connection_id="c-ana"))["statusCode"] == 200
    assert not stored("c-ana") and stored("c-cy")


def test_rooms_migration() -> None:
    """Hand-rolled rooms and channels deliver the same messages to the same people."""
    received = {}
    for name in ("migration_rooms_before.py", "migration_rooms_after.py"):
        module = load(name)
        with WebSocketTestClient(module.app) as client:
            ana = client.connect(query={"user": "ana", "org": "acme", "room": "books"})
            ben = client.connect(query={"user": "ben", "org": "acme", "room": "books"})
            cy = client.connect(query={"user": "cy", "org": "acme", "room": "films"})
            gus = client.connect(query={"user": "gus", "org": "globex", "room": "books"})
            ana.send_json({"action": "say", "text": "hello"})
            frames = [ws.receive_json() for ws in (ana, ben) for _ in range(ws.pending)]
            assert cy.pending == gus.pending == 0
            # Channels also announce joins (presence events); the messages are the same.
            received[name] = [f.get("data", f) for f in frames if f.get("event") != "presence"]
    assert received["migration_rooms_before.py"] == [{"from": "ana", "text": "hello"}] * 2
    assert received["migration_rooms_after.py"] == received["migration_rooms_before.py"]


# -- deploying ------------------------------------------------------------------------------
def test_cdk_app_synthesizes_the_deploy_app(tmp_path: Path) -> None:
    """``python cdk_app.py`` (what ``cdk deploy --app`` runs) synthesizes the stack."""
    for name in ("cdk_app.py", "deploy_app.py"):
        (tmp_path / name).write_text((SNIPPETS / name).read_text(encoding="utf-8"), "utf-8")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "deploy_app.py").write_text("# the app's code\n", encoding="utf-8")
    out = tmp_path / "cdk.out"
    env = clean_env(
        CDK_OUTDIR=str(out),
        PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO / "src")]),
        JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION="1",
    )
    result = subprocess.run(
        [sys.executable, "cdk_app.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    template = json.loads((out / "Reports.template.json").read_text(encoding="utf-8"))
    resources = template["Resources"]
    routes = {
        r["Properties"]["RouteKey"]
        for r in resources.values()
        if r["Type"] == "AWS::ApiGatewayV2::Route"
    }
    assert routes == {"$connect", "$disconnect", "report", "GET /health"}
    function = resources["AppFunction"]["Properties"]
    assert set(function["Environment"]["Variables"]) == {
        "LIFT_WS_MANAGEMENT_ENDPOINT",
        "LIFT_CONNECTIONS_TABLE",
        "REPORTS_QUEUE_URL",
    }
    rules = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
    assert rules[0]["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert resources["QueueReports"]["Properties"]["QueueName"] == "reports"
